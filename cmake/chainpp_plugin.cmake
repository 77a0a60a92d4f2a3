# chainpp_add_plugin(<name> SOURCES <files>... [LIBRARIES <libs>...]
#                    [OUTPUT_DIRECTORY <dir>] [INSTALL_DESTINATION <dir>])
# Declares a provider plugin: a MODULE library linked against the core,
# with no undefined symbols, written as libchainpp_<name>.so to OUTPUT_DIRECTORY,
# by default the plugin output directory of chainpp's own build
# (CHAINPP_PLUGIN_OUTPUT_DIR) or, out of tree, the current binary directory.
# The plugin exports its entry with CHAINPP_PLUGIN (<chainpp/plugin.hpp>,
# which needs Boost's headers only).
#
# INSTALL_DESTINATION installs the plugin there. In chainpp's own build, the
# plugins written to the default directory (the bundled ones) install to
# CHAINPP_INSTALL_PLUGINDIR; plugins given an OUTPUT_DIRECTORY (test plugins)
# are not installed.
#
# The same file serves chainpp's build (cmake/) and installed packages
# (find_package(chainpp) includes it from <libdir>/cmake/chainpp/).
function(chainpp_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES;LIBRARIES" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "chainpp_add_plugin(${name}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "chainpp_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT TARGET Boost::headers)
    message(FATAL_ERROR "chainpp_add_plugin(${name}): plugins need Boost's headers (Boost.DLL, "
                        "Debian package libboost-dev): find_package(Boost 1.74) found none")
  endif()
  if(NOT ARG_OUTPUT_DIRECTORY)
    if(CHAINPP_PLUGIN_OUTPUT_DIR)
      set(ARG_OUTPUT_DIRECTORY ${CHAINPP_PLUGIN_OUTPUT_DIR})
      if(NOT ARG_INSTALL_DESTINATION AND CHAINPP_INSTALL_PLUGINDIR)
        set(ARG_INSTALL_DESTINATION ${CHAINPP_INSTALL_PLUGINDIR})
      endif()
    else()
      set(ARG_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    endif()
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE chainpp::core Boost::headers ${ARG_LIBRARIES})
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  set_target_properties(${name} PROPERTIES
    PREFIX "libchainpp_"
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  if(ARG_INSTALL_DESTINATION)
    if(CHAINPP_INSTALL_PLUGINDIR AND ARG_INSTALL_DESTINATION STREQUAL CHAINPP_INSTALL_PLUGINDIR)
      # <libdir>/chainpp/plugins -> <libdir>, where libchainpp_core.so is
      file(RELATIVE_PATH to_lib /prefix/${ARG_INSTALL_DESTINATION} /prefix/${CMAKE_INSTALL_LIBDIR})
      string(REGEX REPLACE "/$" "" to_lib "${to_lib}")
      set_target_properties(${name} PROPERTIES INSTALL_RPATH "$ORIGIN/${to_lib}")
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION ${ARG_INSTALL_DESTINATION})
  endif()
endfunction()
