# chainpp_add_plugin(<name> SOURCES <files>... [LIBRARIES <libs>...])
# Declares a provider plugin: a MODULE library linked against the core,
# with no undefined symbols, written to the plugin output directory.
function(chainpp_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE chainpp::core ${ARG_LIBRARIES})
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  set_target_properties(${name} PROPERTIES
    PREFIX "libchainpp_"
    LIBRARY_OUTPUT_DIRECTORY ${CHAINPP_PLUGIN_OUTPUT_DIR})
endfunction()
