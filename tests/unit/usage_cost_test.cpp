#include "scripted_model.hpp"

#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/usage_cost.hpp>

#include <fstream>

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
