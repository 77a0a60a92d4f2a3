// load_model_app (see commands.hpp): the App and the model of `chainpp chat`,
// from a configuration or from the environment alone, with the per-call
// settings of the command line laid on the model's.
#include "commands.hpp"

#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace cli {
namespace {

namespace fs = std::filesystem;
using chainpp::ConfigNode;
using chainpp::Json;

std::string env_or(const char* name, const std::string& fallback = "") {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : fallback;
}

/// The setting that names the deployment or model of a provider's model
/// ("" for a provider that has none).
std::string model_key(const std::string& provider) {
  if (provider == "azure_openai") return "azure_deployment";
  if (provider == "openai") return "model";
  return {};
}

/// {models: {name: settings}} located at `origin`.
ConfigNode model_node(const std::string& name, Json settings, const std::string& origin) {
  return ConfigNode::from_json(Json{{"models", Json{{name.c_str(), std::move(settings)}}}}, origin);
}

/// The configuration made from the environment alone: an azure_openai model
/// when AZURE_OPENAI_ENDPOINT is set (the model named the deployment), an
/// openai one when OPENAI_API_KEY is.
ConfigNode environment_config(const std::string& wanted) {
  std::string provider, name = wanted;
  Json settings;
  if (!env_or("AZURE_OPENAI_ENDPOINT").empty()) {
    provider = "azure_openai";
    if (name.empty()) name = env_or("AZURE_OPENAI_DEPLOYMENT");
    settings = Json{{"provider", provider}, {"azure_deployment", name}};
    // The plugin reads OPENAI_API_VERSION; without it, the version configs/azure.yaml uses.
    if (env_or("OPENAI_API_VERSION").empty()) settings.set("api_version", "2024-10-21");
  } else if (!env_or("OPENAI_API_KEY").empty()) {
    provider = "openai";
    if (name.empty()) name = env_or("OPENAI_MODEL", "gpt-4o-mini");
    settings = Json{{"provider", provider}, {"model", name}};
  } else {
    throw UsageError(std::string("chainpp chat: no configuration and no provider in the environment: ") +
                     config_search_help + ", or set AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY, or OPENAI_API_KEY");
  }
  if (name.empty())
    throw UsageError("chainpp chat: name the deployment with -m NAME (or set AZURE_OPENAI_DEPLOYMENT)");
  return chainpp::overlay(ConfigNode::from_json(Json{{"plugins", Json{{"load", Json::array({provider})}}}},
                                                "<environment>"),
                          model_node(name, std::move(settings), "<environment>"));
}

/// The model of `root` that `wanted` names: itself when configured, otherwise
/// the first model of a provider with deployments or models (azure_openai,
/// openai) with `wanted` as its deployment or model; `root` gets that setting.
std::string configured_model(ConfigNode& root, const std::string& wanted, const std::string& config_path) {
  const ConfigNode* models = root.find("models");
  std::vector<std::string> names = models ? models->keys() : std::vector<std::string>{};
  if (wanted.empty()) return choose("", names, "model", "--model", config_path);
  if (std::find(names.begin(), names.end(), wanted) != names.end()) return wanted;
  for (const auto& [name, node] : models->entries()) {
    const std::string key = model_key(node.get_string("provider", ""));
    if (key.empty()) continue;
    root = chainpp::overlay(root, model_node(name, Json{{key.c_str(), wanted}}, "-m " + wanted));
    return name;
  }
  return wanted;  // App::model reports the unknown name with the models there are
}

/// The settings --temperature, --max-tokens and each -o KEY=VALUE give model
/// `name`, each value read as YAML and located at the flag that gave it.
ConfigNode model_overrides(const Options& opts, const std::string& name) {
  ConfigNode out = ConfigNode::from_json(Json::object());
  const auto add = [&](const std::string& key, const std::string& text, const std::string& origin) {
    const Json value = ConfigNode::parse_yaml(text, origin).to_json();
    out = chainpp::overlay(out, model_node(name, Json{{key.c_str(), value}}, origin));
  };
  if (has(opts, "temperature")) add("temperature", value_of(opts, "temperature"), "--temperature");
  if (has(opts, "max-tokens")) add("max_tokens", value_of(opts, "max-tokens"), "--max-tokens");
  if (auto it = opts.find("option"); it != opts.end()) {
    for (const auto& kv : it->second) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) throw UsageError("-o expects KEY=VALUE, got '" + kv + "'");
      add(kv.substr(0, eq), kv.substr(eq + 1), "-o " + kv);
    }
  }
  return out;
}

}  // namespace

ModelApp load_model_app(const Options& opts, const std::string& config_arg) {
  const std::string config_path = find_config(opts, config_arg);
  const std::string wanted = value_of(opts, "model");
  ConfigNode root;
  std::string base_dir = fs::current_path().string(), name = wanted;
  if (config_path.empty()) {
    root = environment_config(wanted);
    name = root.at("models").keys().front();
  } else {
    root = ConfigNode::load_file(config_path);
    base_dir = fs::absolute(config_path).parent_path().string();
    name = configured_model(root, wanted, config_path);
  }
  root = chainpp::overlay(root, model_overrides(opts, name));
  chainpp::App app = chainpp::App::from_config(root, base_dir);
  return ModelApp{std::move(app), name};
}

}  // namespace cli
