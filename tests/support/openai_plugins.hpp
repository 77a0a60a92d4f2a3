#pragma once
// For tests of the azure_openai and openai plugins against loopback servers:
// the two plugins loaded once per test binary, and an environment cleared of
// the variables they and the transport read.
#include <chainpp/registry.hpp>

#include <cstdlib>

namespace chainpp::test {

/// A registry holding the azure_openai and openai plugins.
inline PluginRegistry& openai_plugins() {
  static PluginRegistry r;
  static bool loaded = (r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so"),
                        r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_openai.so"), true);
  (void)loaded;
  return r;
}

/// Clears the variables the plugins and the transport read, for one test.
struct CleanEnv {
  static void clear() {
    for (const char* v : {"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "OPENAI_API_VERSION",
                          "OPENAI_API_KEY", "OPENAI_BASE_URL", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY",
                          "https_proxy", "NO_PROXY", "no_proxy"})
      unsetenv(v);
  }
  CleanEnv() { clear(); }
  ~CleanEnv() { clear(); }
};

}  // namespace chainpp::test
