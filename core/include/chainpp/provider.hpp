#pragma once
// What a provider plugin gives the registry: its descriptor (name, version,
// the core ABI version it was built against, and its providers: provider
// name -> factory building a model from its config node), and what a factory
// is given. Free of Boost: a host that includes registry.hpp needs no Boost
// headers; only a plugin's own source includes plugin.hpp, which exports it.
#include <chainpp/chat_model.hpp>
#include <chainpp/config.hpp>
#include <chainpp/export.hpp>
#include <chainpp/version.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace chainpp {

class TokenCredential;

/// What the host passes to a provider factory besides the model's config node:
/// things YAML cannot express, and where the model comes from.
struct CHAINPP_API ProviderContext {
  std::string model_name;  ///< the model's key under `models:` ("" when built in code)
  std::string config_dir;  ///< directory of the configuration file, for relative paths
  /// Returns a Microsoft Entra ID bearer token (azure_openai); empty when unset.
  std::function<std::string()> azure_ad_token_provider;
  /// A Microsoft Entra ID credential (chainpp/credentials.hpp) whose tokens
  /// are sent as `Authorization: Bearer` (azure_openai, openai); nullptr when unset.
  std::shared_ptr<TokenCredential> token_credential;
};

/// Builds a model from its configuration (the map under `models.<name>`, with
/// `provider`). Validates every key there (ConfigNode::check_keys) and throws
/// a located ConfigError for bad settings.
using ProviderFactory =
    std::function<std::shared_ptr<ChatModel>(const ConfigNode& model_config, const ProviderContext& ctx)>;

/// What a plugin's entry function returns.
struct CHAINPP_API PluginDescriptor {
  std::string name;      ///< the plugin's name, e.g. "fake"
  std::string version;   ///< the plugin's own version, e.g. "0.1.0"
  int abi_version = 0;   ///< always CHAINPP_ABI_VERSION
  std::map<std::string, ProviderFactory> providers;
};

/// The type of a plugin's entry function.
using PluginEntry = PluginDescriptor();

/// The name of the exported entry symbol.
inline constexpr const char* plugin_entry_symbol = "chainpp_plugin_v1";
/// The name of the exported `const int` holding the ABI version, checked
/// before the entry function is called.
inline constexpr const char* plugin_abi_symbol = "chainpp_plugin_abi_version";

}  // namespace chainpp
