#pragma once
// Token usage and cost tracking, the analogue of LangChain's
// get_openai_callback(): totals over every chat-model call it observes,
// priced from a data file (configs/pricing.yaml: prices and the rules that
// turn a reported model name into a priced one) so prices change without a
// recompile.
#include <chainpp/callbacks.hpp>
#include <chainpp/export.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace chainpp {

/// Price of one model in USD per 1,000 tokens.
struct CHAINPP_API ModelPrice {
  double input_per_1k = 0;
  double output_per_1k = 0;
  /// Price of cached input tokens; unset means the input price.
  std::optional<double> cached_input_per_1k;
  bool operator==(const ModelPrice&) const = default;
};

/// A rewrite of a reported model name (pricing.yaml's `standardise` and
/// `fallbacks`): an ECMAScript regular expression matched against the whole
/// name, and its replacement ($1, $2... for its groups).
struct CHAINPP_API NameRule {
  std::string match;
  std::string replace;
  bool operator==(const NameRule&) const = default;
};

namespace detail {
struct NameRules;
}

/// Prices keyed by model name, optionally with a version suffix
/// ("gpt-35-turbo" and "gpt-35-turbo-0301" are priced separately), and the
/// rules, as data, that turn a reported name into a priced one (LangChain's
/// standardize_model_name: `ft:` and Azure `.ft-` fine-tuned names, `-azure`
/// suffixes, gpt-35 / gpt-3.5, dated snapshots).
class CHAINPP_API PricingTable {
public:
  PricingTable();
  /// Loads a YAML file: `models: { <name>: { input: <usd per 1k>, output: <usd per 1k>, cached_input: ... } }`,
  /// and optionally `lowercase: bool`, `standardise: [ {match, replace} ]` and
  /// `fallbacks: [ {match, replace} ]` (see set_name_rules).
  /// Throws ConfigError with file:line:col on a malformed entry or rule.
  static PricingTable load(const std::string& path);
  /// How a reported name becomes a priced one: lower-cased when `lowercase`,
  /// then rewritten by each `standardise` rule that matches it, in order; when
  /// that name has no price, the first `fallbacks` rewrite of it that has one.
  /// Throws ConfigError naming a rule whose `match` is not a valid expression.
  void set_name_rules(bool lowercase, std::vector<NameRule> standardise, std::vector<NameRule> fallbacks);
  /// The name of the table entry `model` is priced with ("gpt-35-turbo-0613.ft-abc" ->
  /// "gpt-35-turbo-0613-azure-finetuned"): `model` itself when it has a price, else the
  /// name the rules give; "" when neither has a price.
  std::string priced_name(const std::string& model) const;
  /// The table a configuration in `config_dir` prices with when it names
  /// none: the pricing.yaml beside it when there is one, else the bundled
  /// table (bundled_data_file("pricing.yaml")), else an empty table.
  /// `config_dir` "" skips the first.
  static PricingTable load_default(const std::string& config_dir);
  void set(const std::string& model, ModelPrice price);
  /// The price of `model` (of its priced_name()), or nullopt when unknown.
  std::optional<ModelPrice> find(const std::string& model) const;
  /// The cost in USD of a call's usage.
  std::optional<double> cost(const std::string& model, const UsageMetadata& usage) const;
  const std::map<std::string, ModelPrice>& prices() const { return prices_; }

private:
  std::map<std::string, ModelPrice> prices_;
  std::shared_ptr<const detail::NameRules> rules_;  // immutable, shared by copies
};

/// Totals over the calls it has seen. Thread-safe.
class CHAINPP_API UsageCostHandler : public CallbackHandler {
public:
  explicit UsageCostHandler(PricingTable pricing = {});

  struct Totals {
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
    std::int64_t cached_tokens = 0;
    std::int64_t reasoning_tokens = 0;
    std::int64_t successful_requests = 0;
    double total_cost = 0;  ///< USD; calls of unknown models add 0
    /// Each model reported that has no price (once, as reported) -> its calls.
    std::map<std::string, std::int64_t> unpriced_models;
  };
  Totals totals() const;
  void reset();

  /// "Tokens Used: ...\n\tPrompt Tokens: ...\n\tCompletion Tokens: ...\nSuccessful Requests: ...\nTotal Cost (USD): $0.000063"
  std::string summary() const;

  void on_llm_end(const RunInfo& run, const AIMessage& result) override;

private:
  PricingTable pricing_;
  mutable std::mutex mutex_;
  Totals totals_;
};

/// Formats a cost as on the seed page: "$" and six decimals ("$0.000063").
CHAINPP_API std::string format_cost(double usd);

}  // namespace chainpp
