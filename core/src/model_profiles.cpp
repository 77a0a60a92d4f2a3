#include <chainpp/data_files.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/model_profiles.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string_view>

namespace chainpp {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kEntryKeys = {"names",        "json_schema",        "tools",
                                             "parallel_tool_calls", "temperature", "max_completion_tokens",
                                             "reasoning_effort",    "responses_api_only", "context_tokens",
                                             "output_tokens"};
const std::vector<std::string> kEfforts = {"none", "minimal", "low", "medium", "high"};

std::optional<bool> flag(const ConfigNode& entry, const char* key) { return entry.find_bool(key); }

std::optional<std::int64_t> token_count(const ConfigNode& entry, const char* key) {
  std::optional<std::int64_t> n = entry.find_int(key);
  if (n && *n < 1) entry.at(key).fail(std::string("'") + key + "' must be a number of tokens, at least 1");
  return n;
}

ModelProfile read_entry(const ConfigNode& entry) {
  if (!entry.is_map()) entry.fail(entry.path() + " must be a map with 'names' and what the models accept");
  entry.check_keys(kEntryKeys);
  ModelProfile p;
  p.location = entry.location();
  p.json_schema = flag(entry, "json_schema");
  p.tools = flag(entry, "tools");
  p.parallel_tool_calls = flag(entry, "parallel_tool_calls");
  p.temperature = flag(entry, "temperature");
  p.max_completion_tokens = flag(entry, "max_completion_tokens");
  p.responses_api_only = flag(entry, "responses_api_only");
  if (const ConfigNode* efforts = entry.find("reasoning_effort")) {
    p.reasoning_effort = efforts->as_string_list();
    for (std::size_t i = 0; i < p.reasoning_effort->size(); ++i)
      if (std::find(kEfforts.begin(), kEfforts.end(), (*p.reasoning_effort)[i]) == kEfforts.end())
        efforts->items()[i].fail("unknown reasoning_effort '" + (*p.reasoning_effort)[i] + "' (expected " +
                                 join(kEfforts) + ")");
  }
  p.context_tokens = token_count(entry, "context_tokens");
  p.output_tokens = token_count(entry, "output_tokens");
  return p;
}

// Whether entry name `name` covers `model`: the same name, or the name, a variant separator and more.
bool covers(const std::string& name, const std::string& model, const std::vector<std::string>& variants) {
  if (model.size() < name.size() || model.compare(0, name.size(), name) != 0) return false;
  if (model.size() == name.size()) return true;
  const std::string_view rest = std::string_view(model).substr(name.size());
  return std::any_of(variants.begin(), variants.end(),
                     [&](const std::string& v) { return rest.size() > v.size() && rest.substr(0, v.size()) == v; });
}

// "(profile 'o1' at model_profiles.yaml:12:5)"
std::string source(const ModelProfile& p) { return "(profile '" + p.name + "' at " + p.location.to_string() + ")"; }

void refuse(const ConfigNode& node, const std::string& key, const std::string& model, const ModelProfile& p,
            const std::string& what) {
  node.at(key).fail("'" + key + "' is not accepted by model '" + model + "' " + source(p) + ": " + what);
}

void check_output_limit(const ConfigNode& node, const char* key, const std::string& model, const ModelProfile& p) {
  const ConfigNode* v = node.find(key);
  if (!v || !p.output_tokens) return;
  const std::int64_t n = v->as_int();
  if (n > *p.output_tokens)
    v->fail("'" + std::string(key) + "' " + std::to_string(n) + " is more than model '" + model + "' can write: " +
            std::to_string(*p.output_tokens) + " output tokens " + source(p));
}

void check_settings(const ConfigNode& node, const std::string& model, const ModelProfile& p) {
  if (node.contains("temperature") && p.temperature == false)
    refuse(node, "temperature", model, p, "remove it (the model uses its own sampling)");
  if (node.contains("max_tokens") && p.max_completion_tokens == true)
    refuse(node, "max_tokens", model, p, "use 'max_completion_tokens'");
  if (const ConfigNode* effort = node.find("reasoning_effort"); effort && p.reasoning_effort) {
    const std::vector<std::string>& accepted = *p.reasoning_effort;
    if (accepted.empty()) refuse(node, "reasoning_effort", model, p, "remove it (not a reasoning model)");
    const std::string& value = effort->as_string();
    if (std::find(accepted.begin(), accepted.end(), value) == accepted.end())
      effort->fail("'reasoning_effort' '" + value + "' is not accepted by model '" + model + "' " + source(p) +
                   ": use " + (accepted.size() == 1 ? "" : "one of ") + join(accepted));
  }
  check_output_limit(node, "max_tokens", model, p);
  check_output_limit(node, "max_completion_tokens", model, p);
}

}  // namespace

ModelProfiles ModelProfiles::load(const std::string& path) {
  const ConfigNode root = ConfigNode::load_file(path);
  if (!root.is_map()) root.fail("a model profile table needs 'profiles': a list of entries with 'names'");
  root.check_keys({"variants", "profiles"});
  const ConfigNode& list = root.at("profiles");
  if (!list.is_list()) list.fail("'profiles' must be a list of entries with 'names'");
  ModelProfiles table;
  if (const ConfigNode* variants = root.find("variants")) {
    table.variants_ = variants->as_string_list();
    for (std::size_t i = 0; i < table.variants_.size(); ++i)
      if (table.variants_[i].empty()) variants->items()[i].fail("a variant separator cannot be empty");
  }
  std::map<std::string, SourceLocation> seen;
  for (const ConfigNode& entry : list.items()) {
    const ModelProfile profile = read_entry(entry);
    const ConfigNode& names = entry.at("names");
    const std::vector<std::string> list_of_names = names.as_string_list();
    if (list_of_names.empty()) names.fail("'names' must list at least one model name");
    for (std::size_t i = 0; i < list_of_names.size(); ++i) {
      const std::string& name = list_of_names[i];
      const ConfigNode& at = names.items()[i];
      if (name.empty()) at.fail("a model name cannot be empty");
      auto [it, fresh] = seen.emplace(name, at.location());
      if (!fresh) at.fail("model '" + name + "' is listed twice (first at " + it->second.to_string() + ")");
      ModelProfile named = profile;
      named.name = name;
      table.entries_.push_back(std::move(named));
    }
  }
  std::sort(table.entries_.begin(), table.entries_.end(),
            [](const ModelProfile& a, const ModelProfile& b) { return a.name < b.name; });
  return table;
}

ModelProfiles ModelProfiles::load_bundled() {
  const std::string path = bundled_data_file("model_profiles.yaml");
  return path.empty() ? ModelProfiles{} : load(path);
}

std::optional<ModelProfile> ModelProfiles::find(const std::string& model) const {
  const ModelProfile* best = nullptr;
  for (const ModelProfile& p : entries_)
    if (covers(p.name, model, variants_) && (!best || p.name.size() > best->name.size())) best = &p;
  if (!best) return std::nullopt;
  return *best;
}

std::optional<ModelProfile> configured_model_profile(const ConfigNode& model_config, const std::string& model) {
  ModelProfiles table;
  if (const ConfigNode* file = model_config.find("model_profiles")) {
    fs::path path = file->as_string();
    if (path.is_relative()) path = fs::path(model_config.location().file).parent_path() / path;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) file->fail("model profiles file not found: " + path.string());
    table = ModelProfiles::load(path.string());
  } else {
    if (model.empty()) return std::nullopt;
    table = ModelProfiles::load_bundled();
  }
  if (model.empty()) return std::nullopt;
  std::optional<ModelProfile> profile = table.find(model);
  if (profile) check_settings(model_config, model, *profile);
  return profile;
}

}  // namespace chainpp
