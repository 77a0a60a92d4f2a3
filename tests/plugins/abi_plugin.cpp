// Deliberately broken: built "for" a core ABI version that does not exist. It
// exports what CHAINPP_PLUGIN would, with 999 in place of CHAINPP_ABI_VERSION.
#include <chainpp/plugin.hpp>

namespace {
chainpp::PluginDescriptor describe() { return {"test_abi", "0.0.1", 999, {}}; }
}  // namespace

BOOST_DLL_ALIAS(describe, chainpp_plugin_v1)
extern "C" BOOST_SYMBOL_EXPORT const int chainpp_plugin_abi_version = 999;
