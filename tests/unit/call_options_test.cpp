// The generation options table (chainpp/call_options.hpp) and what is derived
// from it: reading YAML with range checks, merging, the options as JSON.
#include <catch2/catch.hpp>
#include <chainpp/call_options.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>

using namespace chainpp;

namespace {

CallOptions read(const std::string& yaml) {
  CallOptions o;
  read_generation_options(ConfigNode::parse_yaml(yaml, "app.yaml"), o);
  return o;
}

}  // namespace

TEST_CASE("read_generation_options reads every option of the table, typed") {
  const CallOptions o = read(
      "temperature: 0.5\ntop_p: 1\nn: 2\nstop: [\"\\n\", END]\nmax_tokens: 100\nmax_completion_tokens: 200\n"
      "reasoning_effort: high\npresence_penalty: -2\nfrequency_penalty: 2\nlogit_bias: {'50256': -100}\n"
      "user: u1\nseed: -9000000000\nlogprobs: true\ntop_logprobs: 20\nresponse_format: json_object\n");
  REQUIRE(o.temperature == 0.5);
  REQUIRE(o.top_p == 1.0);
  REQUIRE(o.n == 2);
  REQUIRE(o.stop == std::vector<std::string>{"\n", "END"});
  REQUIRE(o.max_tokens == 100);
  REQUIRE(o.max_completion_tokens == 200);
  REQUIRE(o.reasoning_effort == "high");
  REQUIRE(o.presence_penalty == -2.0);
  REQUIRE(o.frequency_penalty == 2.0);
  REQUIRE(o.logit_bias == Json{{"50256", -100}});
  REQUIRE(o.user == "u1");
  REQUIRE(o.seed == -9000000000);
  REQUIRE(o.logprobs == true);
  REQUIRE(o.top_logprobs == 20);
  REQUIRE(o.response_format == Json{{"type", "json_object"}});
  REQUIRE(read("stop: END\n").stop == std::vector<std::string>{"END"});
  REQUIRE(read("response_format: {type: json_schema, json_schema: {name: x}}\n").response_format ==
          Json{{"type", "json_schema"}, {"json_schema", Json{{"name", "x"}}}});
  REQUIRE(read("other: 1\n") == CallOptions{});
}

TEST_CASE("read_generation_options checks each option's range and type where the value is") {
  REQUIRE_THROWS_WITH(read("temperature: 2.5\n"), "app.yaml:1:14: 'temperature' must be between 0 and 2");
  REQUIRE_THROWS_WITH(read("x: 1\ntop_p: -0.1\n"), "app.yaml:2:8: 'top_p' must be between 0 and 1");
  REQUIRE_THROWS_WITH(read("n: 129\n"), "app.yaml:1:4: 'n' must be between 1 and 128");
  REQUIRE_THROWS_WITH(read("max_tokens: 0\n"), "app.yaml:1:13: 'max_tokens' must be between 1 and 2147483647");
  REQUIRE_THROWS_WITH(read("max_completion_tokens: 2147483648\n"),
                      "app.yaml:1:24: 'max_completion_tokens' must be between 1 and 2147483647");
  REQUIRE_THROWS_WITH(read("presence_penalty: -2.01\n"), "app.yaml:1:19: 'presence_penalty' must be between -2 and 2");
  REQUIRE_THROWS_WITH(read("top_logprobs: 21\n"), "app.yaml:1:15: 'top_logprobs' must be between 0 and 20");
  REQUIRE_THROWS_WITH(read("reasoning_effort: max\n"),
                      "app.yaml:1:19: 'reasoning_effort' must be low, medium or high");
  REQUIRE_THROWS_WITH(read("logit_bias: [1]\n"), "app.yaml:1:13: 'logit_bias' must be a map of token ids to biases");
  REQUIRE_THROWS_WITH(read("response_format: [text]\n"),
                      "app.yaml:1:18: 'response_format' must be text, json_object, or a map");
  REQUIRE_THROWS_AS(read("temperature: warm\n"), ConfigError);
  REQUIRE_THROWS_AS(read("logprobs: maybe\n"), ConfigError);
}

TEST_CASE("read_generation_options: what the service refuses, where it is") {
  // stop: 1 to 4 sequences (the 2024-10-21 schema's minItems and maxItems).
  REQUIRE_THROWS_WITH(read("stop: [a, b, c, d, e]\n"), "app.yaml:1:7: 'stop' holds 5 sequences; the service accepts at most 4");
  REQUIRE_THROWS_WITH(read("stop: []\n"), "app.yaml:1:7: 'stop' must not be an empty list");
  REQUIRE(read("stop: [a, b, c, d]\n").stop->size() == 4);
  // logit_bias: integers from -100 to 100, the error at the value.
  REQUIRE_THROWS_WITH(read("logit_bias: {'50256': 150}\n"),
                      "app.yaml:1:23: 'logit_bias' value for token '50256' must be an integer between -100 and 100 "
                      "(got 150)");
  REQUIRE_THROWS_WITH(read("logit_bias:\n  '1': 0\n  '2': -101\n"),
                      "app.yaml:3:8: 'logit_bias' value for token '2' must be an integer between -100 and 100 "
                      "(got -101)");
  REQUIRE_THROWS_WITH(read("logit_bias: {'1': 0.5}\n"),
                      "app.yaml:1:19: 'logit_bias' value for token '1' must be an integer between -100 and 100 "
                      "(got 0.5)");
  REQUIRE_THROWS_WITH(read("logit_bias: {'1': strong}\n"),
                      "app.yaml:1:19: 'logit_bias' value for token '1' must be an integer between -100 and 100 "
                      "(got \"strong\")");
  REQUIRE(read("logit_bias: {'1': -100, '2': 100}\n").logit_bias == Json{{"1", -100}, {"2", 100}});
  // top_logprobs only with logprobs: true, wherever logprobs is written.
  REQUIRE_THROWS_WITH(read("top_logprobs: 2\n"), "app.yaml:1:15: 'top_logprobs' requires 'logprobs: true'");
  REQUIRE_THROWS_WITH(read("logprobs: false\ntop_logprobs: 2\n"),
                      "app.yaml:2:15: 'top_logprobs' requires 'logprobs: true'");
  REQUIRE(read("top_logprobs: 2\nlogprobs: true\n").top_logprobs == 2);
}

TEST_CASE("check_generation_options: the same rules for a call's options, as InputError") {
  auto message = [](const CallOptions& o) -> std::string {
    try {
      check_generation_options(o);
    } catch (const InputError& e) {
      return e.what();
    }
    return "accepted";
  };
  CallOptions o;
  REQUIRE(message(o) == "accepted");
  o.stop = std::vector<std::string>{"1", "2", "3", "4", "5"};
  REQUIRE(message(o) == "'stop' holds 5 sequences; the service accepts at most 4");
  o.stop = std::vector<std::string>{};
  REQUIRE(message(o) == "'stop' must not be an empty list");
  o.stop = std::vector<std::string>{"1", "2", "3", "4"};
  REQUIRE(message(o) == "accepted");
  o.logit_bias = Json{{"50256", 150}};
  REQUIRE(message(o) == "'logit_bias' value for token '50256' must be an integer between -100 and 100 (got 150)");
  o.logit_bias = Json{{"50256", 2.5}};
  REQUIRE(message(o) == "'logit_bias' value for token '50256' must be an integer between -100 and 100 (got 2.5)");
  o.logit_bias = Json::array();
  REQUIRE(message(o) == "'logit_bias' must be a map of token ids to biases");
  o.logit_bias = Json{{"50256", -100}};
  REQUIRE(message(o) == "accepted");
  o.top_logprobs = 2;
  REQUIRE(message(o) == "'top_logprobs' requires 'logprobs: true'");
  o.logprobs = false;
  REQUIRE(message(o) == "'top_logprobs' requires 'logprobs: true'");
  o.logprobs = true;
  REQUIRE(message(o) == "accepted");
  o.top_logprobs = 21;
  REQUIRE(message(o) == "'top_logprobs' must be between 0 and 20");
  o.top_logprobs.reset();
  o.temperature = 2.5;
  REQUIRE(message(o) == "'temperature' must be between 0 and 2");
  o.temperature.reset();
  o.reasoning_effort = "max";
  REQUIRE(message(o) == "'reasoning_effort' must be low, medium or high");
}

TEST_CASE("over: each option set in the call replaces the bound one, the others stay") {
  CallOptions bound;
  bound.temperature = 0;
  bound.stop = std::vector<std::string>{"a"};
  bound.seed = 1;
  bound.headers = {{"X-A", "1"}, {"X-B", "2"}};
  CallOptions call;
  call.temperature = 1;
  call.top_logprobs = 3;
  call.response_format = Json{{"type", "text"}};
  call.headers = {{"x-b", "3"}};
  const CallOptions merged = call.over(bound);
  REQUIRE(merged.temperature == 1.0);
  REQUIRE(merged.top_logprobs == 3);
  REQUIRE(merged.response_format == Json{{"type", "text"}});
  REQUIRE(merged.stop == std::vector<std::string>{"a"});
  REQUIRE(merged.seed == 1);
  REQUIRE(merged.headers == std::vector<std::pair<std::string, std::string>>{{"X-A", "1"}, {"x-b", "3"}});
}

TEST_CASE("every option of the table is merged, read and shown") {
  // One YAML document setting every option: read, merged over nothing and
  // over other values, and shown, each option by its table name.
  std::string yaml;
  for (const GenerationOption& option : kGenerationOptions) {
    yaml += std::string(option.name) + ": ";
    std::visit(
        [&](auto member) {
          using T = typename std::decay_t<decltype(CallOptions{}.*member)>::value_type;
          if constexpr (std::is_same_v<T, bool>) yaml += "true";
          else if constexpr (std::is_same_v<T, std::string>)
            yaml += option.choices.empty() ? std::string("x")
                                           : std::string(option.choices.substr(0, option.choices.find('|')));
          else if constexpr (std::is_same_v<T, std::vector<std::string>>) yaml += "[x]";
          else if constexpr (std::is_same_v<T, Json>) yaml += "{'1': 1}";
          else yaml += "1";
        },
        option.member);
    yaml += "\n";
  }
  const CallOptions all = read(yaml);
  REQUIRE(all.over(CallOptions{}) == all);
  REQUIRE(CallOptions{}.over(all) == all);
  const Json shown = generation_options_json(all);
  REQUIRE(shown.as_object().size() == kGenerationOptions.size());
  std::size_t i = 0;
  for (const auto& [name, value] : shown.as_object()) REQUIRE(name == kGenerationOptions[i++].name);
  REQUIRE(generation_option_keys().size() == kGenerationOptions.size());
}

TEST_CASE("generation_options_json: the options set, in request-body order") {
  CallOptions o;
  o.stop = std::vector<std::string>{"\n"};
  o.temperature = 0;
  o.max_tokens = 5;
  o.logprobs = false;
  REQUIRE(generation_options_json(o).dump() == R"({"temperature":0.0,"stop":["\n"],"max_tokens":5,"logprobs":false})");
  REQUIRE(generation_options_json(CallOptions{}).dump() == "{}");
}
