#pragma once
// The plugin contract's export half. A provider plugin is a shared library
// that exports one entry function, declared with CHAINPP_PLUGIN, returning
// its descriptor (chainpp/provider.hpp):
//
//   chainpp::PluginDescriptor describe() {
//     return {"fake", "0.1.0", CHAINPP_ABI_VERSION, {{"fake", &make_fake_model}}};
//   }
//   CHAINPP_PLUGIN(describe)
#include <chainpp/provider.hpp>

#include <boost/dll/alias.hpp>

/// Exports `fn` (a `chainpp::PluginDescriptor fn()`) as the plugin's entry point,
/// and the ABI version the plugin is built against. Use once per plugin, at
/// global namespace scope.
#define CHAINPP_PLUGIN(fn)              \
  BOOST_DLL_ALIAS(fn, chainpp_plugin_v1) \
  extern "C" BOOST_SYMBOL_EXPORT const int chainpp_plugin_abi_version = CHAINPP_ABI_VERSION;
