#include "scripted_model.hpp"

#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/usage_cost.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace chainpp;

static AIMessage answer(const std::string& model, std::int64_t in, std::int64_t out) {
  AIMessage m("x");
  m.response_metadata = Json{{"model_name", model}};
  m.usage_metadata = UsageMetadata{in, out, in + out, std::nullopt, std::nullopt};
  return m;
}

TEST_CASE("cost arithmetic: 31 prompt + 8 completion tokens at 0.0015/0.002 per 1k is $0.0000625") {
  PricingTable prices;
  prices.set("gpt-35-turbo", ModelPrice{0.0015, 0.002, std::nullopt});
  REQUIRE(prices.cost("gpt-35-turbo", UsageMetadata{31, 8, 39, std::nullopt, std::nullopt}).value() ==
          Approx(0.0000625).epsilon(1e-12));
  UsageCostHandler cb(prices);
  cb.on_llm_end(RunInfo{}, answer("gpt-35-turbo", 31, 8));
  REQUIRE(cb.totals().total_cost == Approx(0.0000625).epsilon(1e-12));
  REQUIRE(format_cost(cb.totals().total_cost) == "$0.000063");
}

TEST_CASE("the shipped pricing file prices a model version separately from its base model") {
  PricingTable prices = PricingTable::load(CHAINPP_SOURCE_DIR "/configs/pricing.yaml");
  UsageCostHandler base(prices), v0301(prices);
  base.on_llm_end(RunInfo{}, answer("gpt-35-turbo", 31, 8));
  v0301.on_llm_end(RunInfo{}, answer("gpt-35-turbo-0301", 31, 8));
  REQUIRE(format_cost(base.totals().total_cost) == "$0.000063");
  REQUIRE(format_cost(v0301.totals().total_cost) == "$0.000078");
}

TEST_CASE("usage totals accumulate over calls and the summary reads like get_openai_callback") {
  PricingTable prices;
  prices.set("gpt-35-turbo", ModelPrice{0.0015, 0.002, std::nullopt});
  UsageCostHandler cb(prices);
  cb.on_llm_end(RunInfo{}, answer("gpt-35-turbo", 31, 8));
  cb.on_llm_end(RunInfo{}, answer("gpt-35-turbo", 26, 6));
  auto t = cb.totals();
  REQUIRE(t.prompt_tokens == 57);
  REQUIRE(t.completion_tokens == 14);
  REQUIRE(t.total_tokens == 71);
  REQUIRE(t.successful_requests == 2);
  REQUIRE(cb.summary() ==
          "Tokens Used: 71\n\tPrompt Tokens: 57\n\tCompletion Tokens: 14\nSuccessful Requests: 2\nTotal Cost (USD): $0.000114");
  cb.on_llm_end(RunInfo{}, answer("mystery", 1, 1));
  REQUIRE(cb.summary().substr(cb.summary().find("Total Cost")) ==
          "Total Cost (USD): $0.000114\n(no price for model 'mystery': 1 call not counted in the cost)");
}

TEST_CASE("cached input tokens use the cached price") {
  PricingTable prices;
  prices.set("gpt-4o", ModelPrice{0.0025, 0.01, 0.00125});
  REQUIRE(prices.cost("gpt-4o", UsageMetadata{1000, 100, 1100, 400, std::nullopt}).value() ==
          Approx((600 * 0.0025 + 400 * 0.00125 + 100 * 0.01) / 1000).epsilon(1e-12));
}

TEST_CASE("the usage-and-cost callback totals a model's calls through the callback system") {
  PricingTable prices;
  prices.set("gpt-35-turbo", ModelPrice{0.0015, 0.002, std::nullopt});
  auto cb = std::make_shared<UsageCostHandler>(prices);
  auto model = std::make_shared<chainpp::test::ScriptedModel>(std::vector<std::string>{"x"});
  RunConfig config;
  config.callbacks = {cb};
  model->invoke({HumanMessage("a")}, {}, config);
  REQUIRE(cb->totals().successful_requests == 1);
  REQUIRE(format_cost(cb->totals().total_cost) == "$0.000063");
}

TEST_CASE("a malformed pricing file is an error with file:line:col") {
  std::string path = "/tmp/chainpp_pricing_test.yaml";
  {
    std::ofstream f(path);
    f << "models:\n  gpt-x: { input: cheap, output: 0.1 }\n";
  }
  REQUIRE_THROWS_WITH(PricingTable::load(path),
                      path + ":2:19: pricing for 'gpt-x': 'input' must be a non-negative number of USD per 1k tokens");
  {
    std::ofstream f(path);
    f << "models:\n  gpt-x: { input: 0.1 }\n";
  }
  REQUIRE_THROWS_WITH(PricingTable::load(path), path + ":2:10: pricing for 'gpt-x' has no 'output' price");
  REQUIRE_THROWS_WITH(PricingTable::load("/nonexistent/p.yaml"), "/nonexistent/p.yaml: cannot open pricing file");
}

namespace {

const PricingTable& shipped() {
  static const PricingTable table = PricingTable::load(CHAINPP_SOURCE_DIR "/configs/pricing.yaml");
  return table;
}

// The cost of one call of `model` with `cached` of its 1,000 prompt tokens cached and 500 completion tokens.
std::string cost_of(const std::string& model, std::int64_t cached) {
  auto c = shipped().cost(model, UsageMetadata{1000, 500, 1500, cached, std::nullopt});
  return c ? format_cost(*c) : "unpriced";
}

}  // namespace

TEST_CASE("the shipped prices (2025-11-13): 1,000 prompt + 500 completion tokens, and with 400 of them cached") {
  struct Row {
    const char* model;
    const char* cost;
    const char* cost_400_cached;
  };
  // input / cached input / output in USD per 1M tokens, from the price list of the file's date.
  const std::vector<Row> rows = {
      {"gpt-35-turbo", "$0.002500", "$0.002500"},            // 1.50 / - / 2.00
      {"gpt-35-turbo-0301", "$0.003000", "$0.003000"},       // 2.00 / - / 2.00
      {"gpt-35-turbo-0613", "$0.002500", "$0.002500"},       // 1.50 / - / 2.00
      {"gpt-35-turbo-1106", "$0.002000", "$0.002000"},       // 1.00 / - / 2.00
      {"gpt-35-turbo-0125", "$0.001250", "$0.001250"},       // 0.50 / - / 1.50
      {"gpt-35-turbo-16k", "$0.005000", "$0.005000"},        // 3.00 / - / 4.00
      {"gpt-35-turbo-16k-0613", "$0.005000", "$0.005000"},   // 3.00 / - / 4.00
      {"gpt-3.5-turbo-0125", "$0.001250", "$0.001250"},      // 0.50 / - / 1.50
      {"gpt-4", "$0.060000", "$0.060000"},                   // 30 / - / 60
      {"gpt-4-0314", "$0.060000", "$0.060000"},              // 30 / - / 60
      {"gpt-4-0613", "$0.060000", "$0.060000"},              // 30 / - / 60
      {"gpt-4-32k", "$0.120000", "$0.120000"},               // 60 / - / 120
      {"gpt-4-32k-0314", "$0.120000", "$0.120000"},          // 60 / - / 120
      {"gpt-4-32k-0613", "$0.120000", "$0.120000"},          // 60 / - / 120
      {"gpt-4-turbo", "$0.025000", "$0.025000"},             // 10 / - / 30
      {"gpt-4o", "$0.007500", "$0.007000"},                  // 2.50 / 1.25 / 10
      {"gpt-4o-2024-05-13", "$0.012500", "$0.012500"},       // 5 / - / 15
      {"gpt-4o-2024-08-06", "$0.007500", "$0.007000"},       // 2.50 / 1.25 / 10
      {"gpt-4o-2024-11-20", "$0.007500", "$0.007000"},       // 2.50 / 1.25 / 10
      {"gpt-4o-mini", "$0.000450", "$0.000420"},             // 0.15 / 0.075 / 0.60
      {"gpt-4o-mini-2024-07-18", "$0.000450", "$0.000420"},  // 0.15 / 0.075 / 0.60
      {"gpt-4.1", "$0.006000", "$0.005400"},                 // 2 / 0.50 / 8
      {"gpt-4.1-mini", "$0.001200", "$0.001080"},            // 0.40 / 0.10 / 1.60
      {"gpt-4.1-nano", "$0.000300", "$0.000270"},            // 0.10 / 0.025 / 0.40
      {"gpt-4.5-preview", "$0.150000", "$0.135000"},         // 75 / 37.50 / 150
      {"gpt-5", "$0.006250", "$0.005800"},                   // 1.25 / 0.125 / 10
      {"gpt-5-mini", "$0.001250", "$0.001160"},              // 0.25 / 0.025 / 2
      {"gpt-5-nano", "$0.000250", "$0.000232"},              // 0.05 / 0.005 / 0.40
      {"gpt-5-chat-latest", "$0.006250", "$0.005800"},       // 1.25 / 0.125 / 10
      {"gpt-5.1", "$0.006250", "$0.005800"},                 // 1.25 / 0.125 / 10
      {"o1", "$0.045000", "$0.042000"},                      // 15 / 7.50 / 60
      {"o1-preview", "$0.045000", "$0.042000"},              // 15 / 7.50 / 60
      {"o1-mini", "$0.003300", "$0.003080"},                 // 1.10 / 0.55 / 4.40
      {"o1-pro", "$0.450000", "$0.450000"},                  // 150 / - / 600
      {"o3", "$0.006000", "$0.005400"},                      // 2 / 0.50 / 8
      {"o3-mini", "$0.003300", "$0.003080"},                 // 1.10 / 0.55 / 4.40
      {"o4-mini", "$0.003300", "$0.002970"},                 // 1.10 / 0.275 / 4.40
      // Fine-tuned, priced as LangChain standardises them.
      {"gpt-35-turbo-0613.ft-0123456789abcdef", "$0.002500", "$0.002500"},  // 1.50 / - / 2 (Azure)
      {"ft:gpt-3.5-turbo-0613:my-org::8abc", "$0.006000", "$0.006000"},      // 3 / - / 6
      {"ft:gpt-4o-mini-2024-07-18:my-org:custom:9xyz", "$0.000900", "$0.000840"},  // 0.30 / 0.15 / 1.20
      {"ft:gpt-4o-2024-08-06:my-org::9xyz", "$0.011250", "$0.010500"},      // 3.75 / 1.875 / 15
      {"ft:gpt-4.1-2025-04-14:my-org::9xyz", "$0.009000", "$0.008100"},     // 3 / 0.75 / 12
      {"curie:ft-my-org-2023-01-01-00-00-00", "$0.018000", "$0.018000"},    // legacy: 12 / - / 12
  };
  for (const Row& row : rows) {
    INFO(row.model);
    CHECK(cost_of(row.model, 0) == row.cost);
    CHECK(cost_of(row.model, 400) == row.cost_400_cached);
  }
}

TEST_CASE("name standardisation is data: the rules of the shipped pricing file") {
  struct Row {
    const char* reported;
    const char* priced_as;
  };
  const std::vector<Row> rows = {
      {"gpt-35-turbo-0613", "gpt-35-turbo-0613"},                              // listed: as is
      {"gpt-35-turbo-0613.ft-abc", "gpt-35-turbo-0613-azure-finetuned"},       // Azure fine-tuned
      {"ft:gpt-3.5-turbo-0613:org::id", "gpt-3.5-turbo-0613-finetuned"},       // OpenAI fine-tuned
      {"ft:gpt-3.5-turbo-0125", "gpt-3.5-turbo-0125-finetuned"},
      {"curie:ft-org-2023-01-01", "curie-finetuned-legacy"},                   // legacy fine-tuned
      {"gpt-4o-2024-08-06-azure", "gpt-4o-2024-08-06"},                        // -azure suffix
      {"GPT-4o-Mini", "gpt-4o-mini"},                                          // lower-cased
      {"gpt-3.5-turbo-16k-0613", "gpt-3.5-turbo-16k-0613"},
      {"gpt-35-turbo-instruct-0914", "gpt-35-turbo-instruct"},                 // version suffix dropped
      {"gpt-3.5-turbo-instruct-0914", "gpt-3.5-turbo-instruct"},
      {"gpt-4.1-2025-04-14", "gpt-4.1"},                                       // dated snapshot
      {"gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"},
      {"o3-mini-2025-01-31", "o3-mini"},
      {"gpt-5-2025-08-07", "gpt-5"},
      {"o4-mini-2025-04-16-azure", "o4-mini"},
      {"gpt-4o-2024-05-13", "gpt-4o-2024-05-13"},                              // its own price, not gpt-4o's
      // Nothing covers these: unpriced.
      {"gpt-35-turbo-1106.ft-abc", ""},
      {"gpt-4o3", ""},
      {"mystery", ""},
      {"", ""},
  };
  for (const Row& row : rows) {
    INFO(row.reported);
    CHECK(shipped().priced_name(row.reported) == row.priced_as);
  }
  // A name too long to be a model's is not rewritten (a server controls it).
  CHECK(shipped().priced_name(std::string(300, 'a') + ".ft-x") == "");
}

TEST_CASE("the usage summary names each unpriced model once, with its calls") {
  UsageCostHandler cb(shipped());
  cb.on_llm_end(RunInfo{}, answer("gpt-35-turbo", 31, 8));
  cb.on_llm_end(RunInfo{}, answer("mystery", 10, 1));
  cb.on_llm_end(RunInfo{}, answer("gpt-35-turbo-1106.ft-abc", 10, 1));
  cb.on_llm_end(RunInfo{}, answer("mystery", 10, 1));
  cb.on_llm_end(RunInfo{}, answer("", 10, 1));
  cb.on_llm_end(RunInfo{}, answer("ft:gpt-3.5-turbo-0613:org::id", 10, 1));
  CHECK(cb.totals().unpriced_models ==
        std::map<std::string, std::int64_t>{{"(unknown model)", 1}, {"gpt-35-turbo-1106.ft-abc", 1}, {"mystery", 2}});
  // 31 * 1.50 + 8 * 2 (gpt-35-turbo) + 10 * 3 + 1 * 6 (gpt-3.5-turbo-0613 fine-tuned), per 1M.
  CHECK(cb.summary() ==
        "Tokens Used: 94\n\tPrompt Tokens: 81\n\tCompletion Tokens: 13\nSuccessful Requests: 6\n"
        "Total Cost (USD): $0.000099\n"
        "(no price for model '(unknown model)': 1 call not counted in the cost)\n"
        "(no price for model 'gpt-35-turbo-1106.ft-abc': 1 call not counted in the cost)\n"
        "(no price for model 'mystery': 2 calls not counted in the cost)");
}

TEST_CASE("a malformed name rule is an error with file:line:col") {
  const std::string path = "/tmp/chainpp_pricing_rules_test." + std::to_string(::getpid()) + ".yaml";
  struct Row {
    std::string text;
    std::string error;
  };
  const std::vector<Row> rows = {
      {"models: {}\nstandardise: [{match: '(a', replace: b}]\n",
       ":2:23: pricing: the 'standardise' rule's match '(a' is not a valid regular expression: "},
      {"models: {}\nfallbacks: {match: a}\n", ":2:12: pricing: 'fallbacks' must be a list of {match, replace} rules"},
      {"models: {}\nfallbacks: [{match: a}]\n",
       ":2:13: pricing: each 'fallbacks' rule must be a map with a 'match' and a 'replace' string"},
      {"models: {}\nstandardise: [{match: a, replace: b, when: c}]\n",
       ":2:38: pricing: unknown key 'when' in a 'standardise' rule (expected match, replace)"},
      {"models: {}\nlowercase: maybe\n", ":2:12: pricing: 'lowercase' must be true or false"},
      {"models: {}\naliases: []\n", ":2:1: pricing: unknown key 'aliases' (expected models, lowercase, standardise, fallbacks)"},
  };
  for (const Row& row : rows) {
    INFO(row.text);
    std::ofstream(path) << row.text;
    try {
      PricingTable::load(path);
      FAIL("loaded");
    } catch (const ConfigError& e) {
      const std::string message = e.what();
      // std::regex's own explanation follows the first row's text.
      CHECK(message.substr(0, path.size() + row.error.size()) == path + row.error);
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("name rules set in code rewrite as the file's do") {
  PricingTable prices;
  prices.set("gpt-4o", ModelPrice{0.0025, 0.01, 0.00125});
  prices.set_name_rules(true, {NameRule{"(.+)-azure", "$1"}}, {NameRule{"(.+)-\\d{4}-\\d{2}-\\d{2}", "$1"}});
  CHECK(prices.priced_name("GPT-4o-2024-11-20-azure") == "gpt-4o");
  CHECK(format_cost(prices.cost("gpt-4o-azure", UsageMetadata{1000, 500, 1500, 400, std::nullopt}).value()) ==
        "$0.007000");
  REQUIRE_THROWS_WITH(prices.set_name_rules(false, {}, {NameRule{"[a", "b"}}),
                      Catch::StartsWith("pricing: the 'fallbacks' rule's match '[a' is not a valid regular expression: "));
  CHECK(prices.priced_name("gpt-4o-azure") == "gpt-4o");  // the rules before the refused ones stay
}
