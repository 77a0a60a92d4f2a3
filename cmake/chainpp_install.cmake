# Install rules, the CMake package (find_package(chainpp)), chainpp.pc and
# the Debian package (cpack -G DEB). The core's and the plugins' own rules
# are in core/CMakeLists.txt and chainpp_add_plugin (cmake/chainpp_plugin.cmake).
include(CMakePackageConfigHelpers)

# Executables find libchainpp_core.so relative to themselves: a relocated
# install keeps working.
file(RELATIVE_PATH chainpp_bin_to_lib /prefix/${CMAKE_INSTALL_BINDIR} /prefix/${CMAKE_INSTALL_LIBDIR})
foreach(tool chainpp azure-openai-emulator)
  if(TARGET ${tool})
    set_target_properties(${tool} PROPERTIES INSTALL_RPATH "$ORIGIN/${chainpp_bin_to_lib}")
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# The bundled data files, found with no setting by bundled_data_file()
# (core/src/data_files.cpp): installed in <datadir>/chainpp, and copied into
# the build tree's <build>/share/chainpp for an uninstalled build.
set(CHAINPP_DATA_FILES pricing.yaml model_profiles.yaml)
foreach(data ${CHAINPP_DATA_FILES})
  configure_file(${PROJECT_SOURCE_DIR}/configs/${data} ${PROJECT_BINARY_DIR}/share/chainpp/${data} COPYONLY)
  install(FILES ${PROJECT_SOURCE_DIR}/configs/${data} DESTINATION ${CHAINPP_INSTALL_DATADIR})
endforeach()

# Example configurations. They price with the pricing.yaml beside them (the
# usage_cost callback's default), so configs/pricing.yaml is a link to the one
# table, share/chainpp/pricing.yaml.
file(GLOB chainpp_example_configs ${PROJECT_SOURCE_DIR}/configs/*.yaml)
list(FILTER chainpp_example_configs EXCLUDE REGEX "/(pricing|model_profiles)\\.yaml$")
install(FILES ${chainpp_example_configs} DESTINATION ${CHAINPP_INSTALL_DATADIR}/configs)
install(CODE "
  set(link \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CHAINPP_INSTALL_DATADIR}/configs/pricing.yaml\")
  message(STATUS \"Installing: \${link} -> ../pricing.yaml\")
  file(CREATE_LINK ../pricing.yaml \"\${link}\" SYMBOLIC)
")

# find_package(chainpp CONFIG): chainpp::core, chainpp_add_plugin(), CHAINPP_PLUGIN_DIR.
install(EXPORT chainppTargets NAMESPACE chainpp:: DESTINATION ${CHAINPP_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/chainppConfig.cmake.in
  ${PROJECT_BINARY_DIR}/chainppConfig.cmake
  INSTALL_DESTINATION ${CHAINPP_INSTALL_CMAKEDIR}
  PATH_VARS CHAINPP_INSTALL_PLUGINDIR CHAINPP_INSTALL_DATADIR CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/chainppConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/chainppConfig.cmake
  ${PROJECT_BINARY_DIR}/chainppConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/chainpp_plugin.cmake
  DESTINATION ${CHAINPP_INSTALL_CMAKEDIR})

# pkg-config: paths relative to the .pc file's own directory (relocatable).
file(RELATIVE_PATH chainpp_pc_to_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" chainpp_pc_to_prefix "${chainpp_pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/chainpp.pc.in ${PROJECT_BINARY_DIR}/chainpp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/chainpp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# cpack -G DEB: one package with the runtime, the tools and the development
# files (only when chainpp is the top-level project, not a subproject).
if(NOT CMAKE_SOURCE_DIR STREQUAL PROJECT_SOURCE_DIR)
  return()
endif()
set(CPACK_PACKAGE_NAME chainpp)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "C++20 framework for large language models with provider plugins")
set(CPACK_PACKAGE_CONTACT "chainpp maintainers <maintainers@chainpp.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
# Runtime dependencies (libpoco*, libyaml-cpp, libstdc++, libgcc, libc) from
# dpkg-shlibdeps; libchainpp_core.so itself is in the package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The shlibs entry of libchainpp_core.so.0 and the ldconfig trigger, written
# here rather than with CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS, which also looks
# at the plugins and warns that they (MODULE libraries) have no SONAME.
file(WRITE ${PROJECT_BINARY_DIR}/debian/shlibs
  "libchainpp_core ${PROJECT_VERSION_MAJOR} chainpp (>= ${PROJECT_VERSION})\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_BINARY_DIR}/debian/shlibs ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_STRIP_FILES ON)
# Plugin authors need Boost's headers (<chainpp/plugin.hpp> includes Boost.DLL).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libboost-dev (>= 1.74), cmake (>= 3.20), g++")
include(CPack)
