#pragma once
// App: a YAML application configuration loaded into ready objects: plugins
// loaded, models created by their providers, prompts compiled, pipelines
// composed with the core runnables (prompt | model | parser), callbacks made.
// Everything is validated when loading; nothing calls a model.
//
//   auto app = chainpp::App::load("app.yaml");
//   auto chain = app.pipeline("translate");
//   auto out = chain->invoke(chainpp::ValueMap{{"input", "I love programming."}});
//
// The sections (public contract):
//   plugins:   { paths: [dir...], load: [name or path...] }
//   models:    { <name>: { provider: <provider>, <provider keys>... } }
//   prompts:   { <name>: { messages: [[role, template], ...] } }
//   pipelines: { <name>: { steps: [ {prompt: <name>}, {model: <name>}, {parser: str|json} ] } }
//   callbacks: [ {type: usage_cost, pricing: pricing.yaml}, {type: trace, path: traces.jsonl} ]
#include <chainpp/callbacks.hpp>
#include <chainpp/chat_model.hpp>
#include <chainpp/config.hpp>
#include <chainpp/export.hpp>
#include <chainpp/runnable.hpp>
#include <chainpp/usage_cost.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace chainpp {

class PluginRegistry;
class TokenCredential;

/// What a host adds to a configuration file.
struct CHAINPP_API AppOptions {
  /// Plugin directories searched after the config's `plugins.paths` and before
  /// CHAINPP_PLUGIN_PATH.
  std::vector<std::string> plugin_dirs;
  /// Search CHAINPP_PLUGIN_PATH and the default plugin directory (default: yes).
  bool use_default_plugin_dirs = true;
  /// Passed to every provider factory (see ProviderContext).
  std::function<std::string()> azure_ad_token_provider;
  /// Passed to every provider factory (see ProviderContext::token_credential).
  std::shared_ptr<TokenCredential> token_credential;
  /// The registry to load plugins into; default: one owned by the App.
  std::shared_ptr<PluginRegistry> registry;
};

namespace detail {
struct AppState;  // what a loaded App holds (src/app.cpp)
}  // namespace detail

class CHAINPP_API App {
public:
  /// Loads and validates a configuration file. Throws ConfigError
  /// ("file:line:col: ...") or PluginError.
  static App load(const std::string& path, AppOptions options = {});
  /// Same, from a node (relative paths resolve against `base_dir`).
  static App from_config(const ConfigNode& root, const std::string& base_dir, AppOptions options = {});

  /// The model `name`; throws ConfigError listing the models when absent.
  ChatModelPtr model(const std::string& name) const;
  /// The pipeline `name` (with the configured callbacks attached); throws
  /// ConfigError listing the pipelines when absent.
  RunnablePtr pipeline(const std::string& name) const;
  /// The steps of pipeline `name` in order (prompt, model, parser, ... as
  /// configured, without the configured callbacks), e.g. to split it at its
  /// model for a remote batch; throws ConfigError listing the pipelines when absent.
  std::vector<RunnablePtr> pipeline_steps(const std::string& name) const;
  /// The prompt `name` as a runnable; throws ConfigError when absent.
  RunnablePtr prompt(const std::string& name) const;

  /// Names in document order.
  std::vector<std::string> model_names() const;
  std::vector<std::string> pipeline_names() const;
  std::vector<std::string> prompt_names() const;
  /// The variables a pipeline's first prompt needs (empty when it starts with a model).
  std::vector<std::string> pipeline_inputs(const std::string& name) const;

  /// The handlers made from `callbacks:`.
  const Callbacks& callbacks() const;
  /// The usage_cost handler from `callbacks:`, or nullptr.
  std::shared_ptr<UsageCostHandler> usage_cost() const;
  /// A run config carrying the configured callbacks (for calling models directly).
  RunConfig run_config() const;

  /// The registry holding the loaded plugins.
  const PluginRegistry& registry() const;
  /// The parsed configuration.
  const ConfigNode& config() const;
  /// Directory of the configuration file (absolute).
  const std::string& base_dir() const;

private:
  explicit App(std::shared_ptr<const detail::AppState> state);
  std::shared_ptr<const detail::AppState> state_;
};

/// The same as App::load(path, options), which the examples use.
CHAINPP_API App load_app(const std::string& path, AppOptions options = {});

/// A model made in one call from its settings, as they would be written under
/// `models.<name>` in YAML; its provider's plugin is found as an App without
/// `plugins.load` finds it (libchainpp_<provider>.so in the plugin directories).
/// The model keeps its plugin loaded. Throws ConfigError or PluginError as
/// App::load does.
///
///   auto llm = chainpp::make_model({{"provider", "azure_openai"}, {"azure_deployment", "gpt-4o"},
///                                   {"api_version", "2024-10-21"}});
///   std::cout << llm->invoke("hello").text();
CHAINPP_API ChatModelPtr make_model(const Json& settings, AppOptions options = {});

/// The plugin directories an App would search: config `plugins.paths`
/// (relative to `base_dir`), `extra`, CHAINPP_PLUGIN_PATH, the default directory.
CHAINPP_API std::vector<std::string> plugin_search_dirs(const ConfigNode& root, const std::string& base_dir,
                                                        const std::vector<std::string>& extra = {},
                                                        bool use_defaults = true);

/// The plugin files `plugins.load` names by path (an entry with a '/' or ending
/// in ".so"), absolute (relative to `base_dir`); names are searched for instead.
CHAINPP_API std::vector<std::string> plugin_load_paths(const ConfigNode& root, const std::string& base_dir);

}  // namespace chainpp
