#pragma once
// Token usage and cost tracking, the analogue of LangChain's
// get_openai_callback(): totals over every chat-model call it observes,
// priced from a data file (configs/pricing.yaml) so prices change without a
// recompile.
#include <chainpp/callbacks.hpp>
#include <chainpp/export.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace chainpp {

/// Price of one model in USD per 1,000 tokens.
struct CHAINPP_API ModelPrice {
  double input_per_1k = 0;
  double output_per_1k = 0;
  /// Price of cached input tokens; unset means the input price.
  std::optional<double> cached_input_per_1k;
  bool operator==(const ModelPrice&) const = default;
};

/// Prices keyed by model name, optionally with a version suffix
/// ("gpt-35-turbo" and "gpt-35-turbo-0301" are priced separately).
class CHAINPP_API PricingTable {
public:
  PricingTable() = default;
  /// Loads a YAML file: `models: { <name>: { input: <usd per 1k>, output: <usd per 1k>, cached_input: ... } }`.
  /// Throws ConfigError with file:line:col on a malformed entry.
  static PricingTable load(const std::string& path);
  /// The table a configuration in `config_dir` prices with when it names
  /// none: the pricing.yaml beside it when there is one, else the bundled
  /// table (bundled_data_file("pricing.yaml")), else an empty table.
  /// `config_dir` "" skips the first.
  static PricingTable load_default(const std::string& config_dir);
  void set(const std::string& model, ModelPrice price);
  /// The price of `model` ("gpt-35-turbo-0301" exactly), or nullopt when unknown.
  std::optional<ModelPrice> find(const std::string& model) const;
  /// The cost in USD of a call's usage.
  std::optional<double> cost(const std::string& model, const UsageMetadata& usage) const;
  const std::map<std::string, ModelPrice>& prices() const { return prices_; }

private:
  std::map<std::string, ModelPrice> prices_;
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
    std::map<std::string, std::int64_t> unpriced_models;  ///< model -> calls not priced
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
