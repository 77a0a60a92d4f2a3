// Deliberately broken: calls a function no library defines (linked without
// --no-undefined), so loading with rtld_now fails naming the symbol.
#include <chainpp/plugin.hpp>

extern "C" int chainpp_test_missing_symbol();

namespace {
chainpp::PluginDescriptor describe() {
  return {"test_undefined", std::to_string(chainpp_test_missing_symbol()), CHAINPP_ABI_VERSION, {}};
}
}  // namespace

CHAINPP_PLUGIN(describe)
