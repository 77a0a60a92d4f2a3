// YAML applications: pipelines, callbacks and the fake provider, loaded through
// the real plugin path.
#include <chainpp/app.hpp>
#include <chainpp/registry.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace chainpp;

namespace {

const std::string plugin_dir = fs::weakly_canonical(CHAINPP_PLUGIN_DIR).string();
const std::string fake_yaml = std::string(CHAINPP_SOURCE_DIR) + "/configs/fake.yaml";

fs::path temp_dir() {
  // One directory per process: ctest may run test cases in parallel.
  static const fs::path dir = fs::temp_directory_path() / ("chainpp_app_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

// Removes this process's directory at exit.
struct RemoveAtExit {
  ~RemoveAtExit() {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("chainpp_app_test." + std::to_string(::getpid())), ec);
  }
} remove_at_exit;

std::string write_temp(const std::string& name, const std::string& text) {
  fs::path p = temp_dir() / name;
  std::ofstream(p) << text;
  return p.string();
}

// A configuration on the fake plugin: `plugins:` plus `rest`.
std::string fake_app(const std::string& name, const std::string& rest) {
  return write_temp(name, "plugins: {paths: [" + plugin_dir + "], load: [fake]}\n" + rest);
}

ValueMap translate_inputs() {
  return ValueMap{{"input_language", "English"}, {"output_language", "French"}, {"input", "I love programming."}};
}

}  // namespace

TEST_CASE("app: make_model makes a model in one call; invoke takes text as a human message") {
  AppOptions options;
  options.plugin_dirs = {plugin_dir};
  ChatModelPtr llm = make_model(Json{{"provider", "fake"}, {"echo", true}}, options);
  CHECK(llm->provider() == "fake");
  CHECK(llm->invoke("hello").text() == "hello");
  std::string streamed;
  for (const auto& chunk : llm->stream(std::string("hi there"))) streamed += chunk.content;
  CHECK(streamed == "hi there");
  REQUIRE_THROWS_WITH(make_model(Json{{"provider", "fake"}, {"echoo", true}}, options),
                      Catch::Matchers::StartsWith("<make_model>: unknown key 'echoo' in models.model (did you mean "
                                                  "'echo'?)"));
}

TEST_CASE("app: a pipeline from configs/fake.yaml in one call") {
  auto app = load_app(fake_yaml);
  CHECK(app.pipeline_names() == std::vector<std::string>{"translate", "translate_message"});
  CHECK(app.model_names() == std::vector<std::string>{"translator", "parrot"});
  CHECK(app.prompt_names() == std::vector<std::string>{"translate"});
  CHECK(app.pipeline_inputs("translate") == std::vector<std::string>{"input", "input_language", "output_language"});
  CHECK(app.pipeline("translate")->invoke(translate_inputs()).as_text() == "J'adore la programmation.");

  auto totals = app.usage_cost()->totals();
  CHECK(totals.prompt_tokens == 31);
  CHECK(totals.completion_tokens == 8);
  CHECK(totals.successful_requests == 1);
  CHECK(format_cost(totals.total_cost) == "$0.000063");

  auto message = app.pipeline("translate_message")->invoke(translate_inputs()).as_message();
  CHECK(message.text() == "J'adore la programmation.");
  CHECK(message.response_metadata == Json{{"model_name", "gpt-35-turbo"}, {"finish_reason", "stop"}});
  CHECK(app.model("parrot")->invoke(Messages{HumanMessage("echo me")}).text() == "echo me");
}

TEST_CASE("app: names a host asks for that do not exist") {
  auto app = load_app(fake_yaml);
  REQUIRE_THROWS_WITH(app.model("translater"), fake_yaml + ": unknown model 'translater' (did you mean 'translator'?)");
  REQUIRE_THROWS_WITH(app.pipeline("x"), fake_yaml + ": unknown pipeline 'x' (available pipelines: translate, "
                                                     "translate_message)");
  REQUIRE_THROWS_AS(app.prompt("nope"), ConfigError);
}

TEST_CASE("app: the pipeline streams through the parser") {
  auto app = load_app(fake_yaml);
  std::vector<std::string> pieces;
  for (auto& piece : app.pipeline("translate")->stream(translate_inputs())) pieces.push_back(piece.as_text());
  CHECK(pieces == std::vector<std::string>{"J'adore", " la", " programmation.", ""});
}

TEST_CASE("app: fake streaming splits words and puts usage on the last chunk") {
  auto app = load_app(fake_yaml);
  auto model = app.model("translator");
  std::vector<AIMessageChunk> chunks = model->stream(Messages{HumanMessage("hi")}).collect();
  REQUIRE(chunks.size() == 4);
  CHECK(chunks[0].content == "J'adore");
  CHECK(chunks[1].content == " la");
  CHECK(chunks[2].content == " programmation.");
  CHECK(chunks[3].content == "");
  CHECK(chunks[3].usage_metadata == UsageMetadata{31, 8, 39, std::nullopt, std::nullopt});
  CHECK(chunks[3].response_metadata == Json{{"model_name", "gpt-35-turbo"}, {"finish_reason", "stop"}});
}

TEST_CASE("app: fake scripted tool calls, invoke and stream") {
  auto path = fake_app("tools.yaml",
                       "models:\n"
                       "  m:\n"
                       "    provider: fake\n"
                       "    responses:\n"
                       "      - content: \"\"\n"
                       "        tool_calls: [{name: get_weather, args: {city: Paris, days: 2}, id: call_1}]\n"
                       "        usage: {input_tokens: 10, output_tokens: 5}\n");
  auto model = load_app(path).model("m");
  AIMessage m = model->invoke(Messages{HumanMessage("weather?")});
  REQUIRE(m.tool_calls.size() == 1);
  CHECK(m.tool_calls[0] == ToolCall{"get_weather", Json{{"city", "Paris"}, {"days", 2}}, "call_1"});
  CHECK(m.response_metadata.value("finish_reason", "") == "tool_calls");
  CHECK(m.usage_metadata == UsageMetadata{10, 5, 15, std::nullopt, std::nullopt});

  AIMessageChunk merged;
  for (auto& c : model->stream(Messages{HumanMessage("weather?")})) merged += c;
  AIMessage streamed = merged.to_message();
  CHECK(streamed.tool_calls == m.tool_calls);
  CHECK(streamed.usage_metadata == m.usage_metadata);
}

TEST_CASE("app: fake scripted provider errors") {
  auto path = fake_app("errors.yaml",
                       "models:\n"
                       "  m:\n"
                       "    provider: fake\n"
                       "    responses:\n"
                       "      - ok\n"
                       "      - error: {status: 429, code: \"429\", message: Slow down, request_id: req-1}\n");
  auto model = load_app(path).model("m");
  CHECK(model->invoke(Messages{HumanMessage("1")}).text() == "ok");
  try {
    model->invoke(Messages{HumanMessage("2")});
    FAIL("expected a RateLimitError");
  } catch (const RateLimitError& e) {
    CHECK(std::string(e.what()) == "fake: HTTP 429: Slow down (request id req-1)");
    CHECK(e.status() == 429);
    CHECK(e.request_id() == "req-1");
    CHECK(e.info().provider == "fake");
  }
  CHECK(model->invoke(Messages{HumanMessage("3")}).text() == "ok");  // cycled
}

TEST_CASE("app: fake honours stop sequences") {
  auto path = fake_app("stop.yaml", "models:\n  m: {provider: fake, responses: [\"one. two. three.\"]}\n");
  CallOptions options;
  options.stop = std::vector<std::string>{" two"};
  CHECK(load_app(path).model("m")->invoke(Messages{HumanMessage("x")}, options).text() == "one.");
}

TEST_CASE("app: a trace callback writes one line per run") {
  fs::remove(temp_dir() / "traces.jsonl");
  auto path = fake_app("trace.yaml",
                       "models:\n  m: {provider: fake, echo: true}\n"
                       "prompts:\n  p: {messages: [[human, \"{q}\"]]}\n"
                       "pipelines:\n  main: {steps: [{prompt: p}, {model: m}, {parser: str}]}\n"
                       "callbacks:\n  - {type: trace, path: traces.jsonl}\n");
  {
    auto app = load_app(path);
    CHECK(app.pipeline("main")->invoke(ValueMap{{"q", "hello"}}).as_text() == "hello");
  }
  std::ifstream in(temp_dir() / "traces.jsonl");
  std::vector<Json> runs;
  for (std::string line; std::getline(in, line);) runs.push_back(Json::parse(line));
  REQUIRE(runs.size() == 4);  // prompt, model, parser, then the pipeline
  CHECK(runs.back().value("name", "") == "main");
}

TEST_CASE("app: built in code, with the host's token provider") {
  auto root = ConfigNode::from_json(Json{
      {"plugins", Json{{"paths", Json::array({plugin_dir})}, {"load", Json::array({"fake"})}}},
      {"models", Json{{"m", Json{{"provider", "fake"}, {"responses", Json::array({"from code"})}}}}},
      {"pipelines", Json{{"main", Json{{"steps", Json::array({Json{{"model", "m"}}, Json{{"parser", "str"}}})}}}}}});
  AppOptions options;
  options.use_default_plugin_dirs = false;
  options.azure_ad_token_provider = [] { return std::string("token"); };
  auto app = App::from_config(root, temp_dir().string(), options);
  CHECK(app.pipeline("main")->invoke(Value("hi")).as_text() == "from code");
  CHECK(app.registry().plugins().size() == 1);
}

TEST_CASE("app: configuration errors are located") {
  AppOptions options;
  options.use_default_plugin_dirs = false;
  auto top = fake_app("top.yaml", "modles: {}\n");
  REQUIRE_THROWS_WITH(load_app(top, options), top + ":2:1: unknown key 'modles' (did you mean 'models'?)");
  auto callback = fake_app("callback.yaml", "callbacks:\n  - {type: usage_costs}\n");
  REQUIRE_THROWS_WITH(load_app(callback, options),
                      callback + ":3:12: unknown callback type 'usage_costs' (did you mean 'usage_cost'?)");
  auto pricing = fake_app("pricing.yaml", "callbacks:\n  - {type: usage_cost, pricing: nope.yaml}\n");
  REQUIRE_THROWS_WITH(load_app(pricing, options),
                      pricing + ":3:33: pricing file not found: " + (temp_dir() / "nope.yaml").string());
  auto step = fake_app("step.yaml", "models:\n  m: {provider: fake, echo: true}\n"
                                    "pipelines:\n  main: {steps: [{model: m, parser: str}]}\n");
  REQUIRE_THROWS_WITH(load_app(step, options),
                      step + ":5:18: pipelines.main.steps[0] must be one of {prompt: NAME}, {model: NAME}, "
                             "{parser: str|json}");
  auto role = fake_app("role.yaml", "prompts:\n  p: {messages: [[robot, \"hi\"]]}\n");
  REQUIRE_THROWS_AS(load_app(role, options), ConfigError);
  auto model = fake_app("model.yaml", "models:\n  m: {provider: fake}\n");
  REQUIRE_THROWS_WITH(load_app(model, options),
                      model + ":3:6: models.m: the fake provider needs `responses:` or `echo: true`");
}

TEST_CASE("app: without plugins.load, a model's provider is found by name in the default directory") {
  auto path = write_temp("no_plugins_section.yaml", "models:\n  m: {provider: fake, responses: [found]}\n");
  auto app = load_app(path);
  CHECK(app.model("m")->invoke(Messages{HumanMessage("x")}).text() == "found");
  REQUIRE(app.registry().plugins().size() == 1);
  CHECK(app.registry().plugins()[0].path == plugin_dir + "/libchainpp_fake.so");
}

TEST_CASE("app: CHAINPP_PLUGIN_PATH is searched before the default directory") {
  const std::string test_dir = fs::weakly_canonical(CHAINPP_TEST_PLUGIN_DIR).string();
  ::setenv("CHAINPP_PLUGIN_PATH", ("/nonexistent:" + test_dir).c_str(), 1);
  auto path = write_temp("env_path.yaml", "plugins: {load: [test_upper, fake]}\n"
                                          "models:\n  m: {provider: upper}\n");
  CHECK(plugin_search_dirs(ConfigNode::load_file(path), temp_dir().string()) ==
        std::vector<std::string>{"/nonexistent", test_dir, plugin_dir});
  auto app = load_app(path);
  ::unsetenv("CHAINPP_PLUGIN_PATH");
  CHECK(app.model("m")->invoke(Messages{HumanMessage("shout")}).text() == "SHOUT");
  CHECK(app.registry().providers() == std::vector<std::string>{"fake", "upper"});
}
