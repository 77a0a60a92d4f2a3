// Deliberately broken: a shared library with no CHAINPP_PLUGIN entry.
#include <chainpp/export.hpp>

extern "C" CHAINPP_API int chainpp_test_not_a_plugin() { return 42; }
