#pragma once
// A registry with the provider plugins of this build (azure_openai, openai)
// loaded once per test process, for tests that make models from YAML.
#include <chainpp/registry.hpp>

namespace chainpp::test {

inline PluginRegistry& provider_registry() {
  static PluginRegistry registry;
  static const bool loaded = (registry.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so"),
                              registry.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_openai.so"), true);
  (void)loaded;
  return registry;
}

}  // namespace chainpp::test
