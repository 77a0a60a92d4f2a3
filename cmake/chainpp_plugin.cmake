# chainpp_add_plugin(<name> SOURCES <files>... [LIBRARIES <libs>...] [OUTPUT_DIRECTORY <dir>])
# Declares a provider plugin: a MODULE library linked against the core,
# with no undefined symbols, written to the plugin output directory (or
# OUTPUT_DIRECTORY) as libchainpp_<name>.so. The plugin exports its entry
# with CHAINPP_PLUGIN (<chainpp/plugin.hpp>, which needs Boost's headers only).
function(chainpp_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_OUTPUT_DIRECTORY)
    set(ARG_OUTPUT_DIRECTORY ${CHAINPP_PLUGIN_OUTPUT_DIR})
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE chainpp::core Boost::headers ${ARG_LIBRARIES})
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  set_target_properties(${name} PROPERTIES
    PREFIX "libchainpp_"
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
endfunction()
