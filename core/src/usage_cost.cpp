#include <chainpp/data_files.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/usage_cost.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

namespace chainpp {

namespace {

std::string where(const std::string& path, const YAML::Mark& mark) {
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

double price_field(const std::string& path, const std::string& model, const YAML::Node& entry, const char* key,
                   bool required, double fallback) {
  YAML::Node v = entry[key];
  if (!v) {
    if (required)
      throw ConfigError(where(path, entry.Mark()) + "pricing for '" + model + "' has no '" + key + "' price");
    return fallback;
  }
  try {
    double d = v.as<double>();
    if (d < 0 || !std::isfinite(d)) throw YAML::Exception(v.Mark(), "");
    return d;
  } catch (const YAML::Exception&) {
    throw ConfigError(where(path, v.Mark()) + "pricing for '" + model + "': '" + key +
                      "' must be a non-negative number of USD per 1k tokens");
  }
}

// Names longer than this are not rewritten (a server could report anything).
constexpr std::size_t kMaxRewrittenName = 256;

// The rules of list `key`, and where each one's `match` is written ("file:line:col: ").
std::vector<NameRule> read_rules(const std::string& path, const YAML::Node& root, const char* key,
                                 std::vector<std::string>& at) {
  std::vector<NameRule> rules;
  YAML::Node list = root[key];
  if (!list) return rules;
  if (!list.IsSequence())
    throw ConfigError(where(path, list.Mark()) + "pricing: '" + key + "' must be a list of {match, replace} rules");
  for (const auto& rule : list) {
    if (!rule.IsMap() || !rule["match"] || !rule["replace"] || !rule["match"].IsScalar() ||
        !rule["replace"].IsScalar())
      throw ConfigError(where(path, rule.Mark()) + "pricing: each '" + key +
                        "' rule must be a map with a 'match' and a 'replace' string");
    for (const auto& field : rule) {
      std::string k = field.first.as<std::string>();
      if (k != "match" && k != "replace")
        throw ConfigError(where(path, field.first.Mark()) + "pricing: unknown key '" + k + "' in a '" + key +
                          "' rule (expected match, replace)");
    }
    rules.push_back(NameRule{rule["match"].as<std::string>(), rule["replace"].as<std::string>()});
    at.push_back(where(path, rule["match"].Mark()));
  }
  return rules;
}

}  // namespace

namespace detail {

struct NameRules {
  struct Rule {
    std::regex match;
    std::string replace;
  };
  bool lowercase = false;
  std::vector<Rule> standardise;
  std::vector<Rule> fallbacks;

  // The rewrite of `name` by `rule`, or nullopt when it does not match all of `name`.
  static std::optional<std::string> apply(const Rule& rule, const std::string& name) {
    if (!std::regex_match(name, rule.match)) return std::nullopt;
    return std::regex_replace(name, rule.match, rule.replace, std::regex_constants::format_first_only);
  }
};

}  // namespace detail

namespace {

// The rules compiled; `at[i]` ("file:line:col: ", or none) locates rule i's error.
std::vector<detail::NameRules::Rule> compile(const std::vector<NameRule>& rules, const char* key,
                                             const std::vector<std::string>& at) {
  std::vector<detail::NameRules::Rule> out;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    try {
      out.push_back({std::regex(rules[i].match, std::regex::ECMAScript), rules[i].replace});
    } catch (const std::regex_error& e) {
      throw ConfigError((i < at.size() ? at[i] : std::string()) + "pricing: the '" + key + "' rule's match '" +
                        rules[i].match + "' is not a valid regular expression: " + e.what());
    }
  }
  return out;
}

std::shared_ptr<const detail::NameRules> make_rules(bool lowercase, const std::vector<NameRule>& standardise,
                                                    const std::vector<NameRule>& fallbacks,
                                                    const std::vector<std::string>& standardise_at = {},
                                                    const std::vector<std::string>& fallbacks_at = {}) {
  auto rules = std::make_shared<detail::NameRules>();
  rules->lowercase = lowercase;
  rules->standardise = compile(standardise, "standardise", standardise_at);
  rules->fallbacks = compile(fallbacks, "fallbacks", fallbacks_at);
  return rules;
}

}  // namespace

PricingTable::PricingTable() : rules_(std::make_shared<const detail::NameRules>()) {}

void PricingTable::set_name_rules(bool lowercase, std::vector<NameRule> standardise, std::vector<NameRule> fallbacks) {
  rules_ = make_rules(lowercase, standardise, fallbacks);
}

std::string PricingTable::priced_name(const std::string& model) const {
  if (prices_.count(model)) return model;
  if (model.size() > kMaxRewrittenName) return {};
  std::string name = model;
  if (rules_->lowercase)
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& rule : rules_->standardise)
    if (auto rewritten = detail::NameRules::apply(rule, name)) name = std::move(*rewritten);
  if (prices_.count(name)) return name;
  for (const auto& rule : rules_->fallbacks)
    if (auto rewritten = detail::NameRules::apply(rule, name); rewritten && prices_.count(*rewritten))
      return *rewritten;
  return {};
}

PricingTable PricingTable::load(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError(path + ": cannot open pricing file");
  } catch (const YAML::Exception& e) {
    throw ConfigError(where(path, e.mark) + e.msg);
  }
  if (root.IsMap())
    for (const auto& field : root) {
      std::string k = field.first.as<std::string>();
      if (k != "models" && k != "lowercase" && k != "standardise" && k != "fallbacks")
        throw ConfigError(where(path, field.first.Mark()) + "pricing: unknown key '" + k +
                          "' (expected models, lowercase, standardise, fallbacks)");
    }
  YAML::Node models = root["models"];
  if (!models || !models.IsMap())
    throw ConfigError(where(path, root.Mark()) + "pricing file needs a 'models' map of model name -> prices");
  PricingTable table;
  for (const auto& kv : models) {
    std::string model = kv.first.as<std::string>();
    const YAML::Node& entry = kv.second;
    if (!entry.IsMap())
      throw ConfigError(where(path, entry.Mark()) + "pricing for '" + model +
                        "' must be a map with 'input' and 'output'");
    for (const auto& field : entry) {
      std::string k = field.first.as<std::string>();
      if (k != "input" && k != "output" && k != "cached_input")
        throw ConfigError(where(path, field.first.Mark()) + "pricing for '" + model + "': unknown key '" + k +
                          "' (expected input, output, cached_input)");
    }
    ModelPrice price;
    price.input_per_1k = price_field(path, model, entry, "input", true, 0);
    price.output_per_1k = price_field(path, model, entry, "output", true, 0);
    if (entry["cached_input"]) price.cached_input_per_1k = price_field(path, model, entry, "cached_input", false, 0);
    table.set(model, price);
  }
  bool lowercase = false;
  if (YAML::Node v = root["lowercase"]) {
    try {
      lowercase = v.as<bool>();
    } catch (const YAML::Exception&) {
      throw ConfigError(where(path, v.Mark()) + "pricing: 'lowercase' must be true or false");
    }
  }
  std::vector<std::string> standardise_at, fallbacks_at;
  const std::vector<NameRule> standardise = read_rules(path, root, "standardise", standardise_at);
  const std::vector<NameRule> fallbacks = read_rules(path, root, "fallbacks", fallbacks_at);
  table.rules_ = make_rules(lowercase, standardise, fallbacks, standardise_at, fallbacks_at);
  return table;
}

PricingTable PricingTable::load_default(const std::string& config_dir) {
  if (!config_dir.empty()) {
    const std::filesystem::path beside = std::filesystem::path(config_dir) / "pricing.yaml";
    std::error_code ec;
    if (std::filesystem::is_regular_file(beside, ec)) return load(beside.string());
  }
  if (std::string bundled = bundled_data_file("pricing.yaml"); !bundled.empty()) return load(bundled);
  return {};
}

void PricingTable::set(const std::string& model, ModelPrice price) { prices_[model] = price; }

std::optional<ModelPrice> PricingTable::find(const std::string& model) const {
  auto it = prices_.find(priced_name(model));
  if (it == prices_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> PricingTable::cost(const std::string& model, const UsageMetadata& usage) const {
  auto price = find(model);
  if (!price) return std::nullopt;
  std::int64_t cached = usage.cache_read.value_or(0);
  double cached_price = price->cached_input_per_1k.value_or(price->input_per_1k);
  return (static_cast<double>(usage.input_tokens - cached) * price->input_per_1k +
          static_cast<double>(cached) * cached_price + static_cast<double>(usage.output_tokens) * price->output_per_1k) /
         1000.0;
}

UsageCostHandler::UsageCostHandler(PricingTable pricing) : pricing_(std::move(pricing)) {}

UsageCostHandler::Totals UsageCostHandler::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

void UsageCostHandler::reset() {
  std::lock_guard lock(mutex_);
  totals_ = Totals{};
}

void UsageCostHandler::on_llm_end(const RunInfo&, const AIMessage& result) {
  const std::string model = result.response_metadata.value("model_name", "");
  std::lock_guard lock(mutex_);
  totals_.successful_requests += 1;
  if (!result.usage_metadata) return;
  const UsageMetadata& u = *result.usage_metadata;
  totals_.prompt_tokens += u.input_tokens;
  totals_.completion_tokens += u.output_tokens;
  totals_.total_tokens += u.total_tokens;
  totals_.cached_tokens += u.cache_read.value_or(0);
  totals_.reasoning_tokens += u.reasoning.value_or(0);
  if (auto c = pricing_.cost(model, u))
    totals_.total_cost += *c;
  else
    totals_.unpriced_models[model.empty() ? "(unknown model)" : model] += 1;
}

std::string format_cost(double usd) {
  // Round half up at the sixth decimal, as Python's format(x, '.6f') shows the seed's figures.
  double micro = std::floor(usd * 1e6 + 0.5 + 1e-7);
  char buf[64];
  std::snprintf(buf, sizeof buf, "$%.6f", micro / 1e6);
  return buf;
}

std::string UsageCostHandler::summary() const {
  Totals t = totals();
  std::ostringstream out;
  out << "Tokens Used: " << t.total_tokens << "\n"
      << "\tPrompt Tokens: " << t.prompt_tokens << "\n"
      << "\tCompletion Tokens: " << t.completion_tokens << "\n"
      << "Successful Requests: " << t.successful_requests << "\n"
      << "Total Cost (USD): " << format_cost(t.total_cost);
  for (const auto& [model, calls] : t.unpriced_models)
    out << "\n(no price for model '" << model << "': " << calls << (calls == 1 ? " call" : " calls")
        << " not counted in the cost)";
  return out.str();
}

}  // namespace chainpp
