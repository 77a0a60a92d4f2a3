#include "scripted_model.hpp"

#include <catch2/catch.hpp>
#include <chainpp/chat_model.hpp>
#include <chainpp/errors.hpp>

#include <regex>

using namespace chainpp;
using chainpp::test::RecordingHandler;
using chainpp::test::ScriptedModel;

TEST_CASE("invoke returns the AI message with the run id run-<uuid>-0") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"J'adore la programmation."});
  AIMessage m = model->invoke(messages_from_pairs({{"system", "Translate to French."}, {"human", "I love programming."}}));
  REQUIRE(m.text() == "J'adore la programmation.");
  REQUIRE(std::regex_match(m.id, std::regex("run-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-0")));
  REQUIRE(model->shared().calls.at(0).size() == 2);
  REQUIRE(model->shared().calls.at(0)[1].text() == "I love programming.");
}

TEST_CASE("bind fixes call options; call options win over bound ones; the original is unchanged") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"ok"});
  CallOptions bound;
  bound.temperature = 0.0;
  bound.stop = std::vector<std::string>{"\n"};
  auto hot = model->bind(bound);
  CallOptions call;
  call.temperature = 0.7;
  hot->invoke({HumanMessage("a")}, call);
  model->invoke({HumanMessage("b")});
  REQUIRE(model->shared().options.at(0).temperature == 0.7);
  REQUIRE(model->shared().options.at(0).stop == std::vector<std::string>{"\n"});
  REQUIRE_FALSE(model->shared().options.at(1).temperature.has_value());
}

TEST_CASE("options the service refuses fail the call before the model sees it, bound or per call") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"ok"});
  CallOptions five;
  five.stop = std::vector<std::string>{"1", "2", "3", "4", "5"};
  const std::string too_many = "'stop' holds 5 sequences; the service accepts at most 4";
  REQUIRE_THROWS_WITH(model->invoke({HumanMessage("a")}, five), too_many);
  REQUIRE_THROWS_AS(model->invoke({HumanMessage("a")}, five), InputError);
  REQUIRE_THROWS_WITH(model->stream({HumanMessage("a")}, five), too_many);
  REQUIRE_THROWS_WITH(model->bind(five)->invoke({HumanMessage("a")}), too_many);
  CallOptions top;
  top.top_logprobs = 2;
  REQUIRE_THROWS_WITH(model->invoke({HumanMessage("a")}, top), "'top_logprobs' requires 'logprobs: true'");
  CallOptions with_logprobs;
  with_logprobs.logprobs = true;
  model->bind(with_logprobs)->invoke({HumanMessage("a")}, top);  // the bound logprobs counts
  REQUIRE(model->shared().calls.size() == 1);
  REQUIRE(model->shared().options.at(0).top_logprobs == 2);
}

TEST_CASE("bind_tools binds tool definitions, tool_choice and strict") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"ok"});
  auto tool = tool_from_function("get_weather", "Weather in a city", {{"city", "string", "The city", true}});
  auto bound = model->bind_tools({tool}, Json("required"), false, true);
  bound->invoke({HumanMessage("?")});
  const CallOptions& o = model->shared().options.at(0);
  REQUIRE(o.tools.size() == 1);
  REQUIRE(o.tools[0].to_json().dump() ==
          R"({"type":"function","function":{"name":"get_weather","description":"Weather in a city",)"
          R"("parameters":{"type":"object","properties":{"city":{"type":"string","description":"The city"}},"required":["city"]},"strict":true}})");
  REQUIRE(o.tool_choice == Json("required"));
  REQUIRE(o.parallel_tool_calls == false);
}

namespace {
const std::vector<ToolDefinition> kWeatherAndTime = {tool_from_function("get_weather", "", {}),
                                                     tool_from_function("get_time", "", {})};
// The tool_choice a call of a model bound with kWeatherAndTime and `choice` sends (nullopt: none).
std::optional<Json> bound_choice(const Json& choice, const CallOptions& call = {}) {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"ok"});
  model->bind_tools(kWeatherAndTime, choice)->invoke({HumanMessage("?")}, call);
  return model->shared().options.at(0).tool_choice;
}
Json function_choice(const std::string& name) { return Json{{"type", "function"}, {"function", Json{{"name", name}}}}; }
}  // namespace

TEST_CASE("tool_choice is normalised as LangChain's bind_tools does") {
  CHECK(bound_choice(Json("any")) == Json("required"));
  CHECK(bound_choice(Json(true)) == Json("required"));
  CHECK(bound_choice(Json(false)) == std::nullopt);
  CHECK(bound_choice(Json("auto")) == Json("auto"));
  CHECK(bound_choice(Json("none")) == Json("none"));
  CHECK(bound_choice(Json("required")) == Json("required"));
  CHECK(bound_choice(Json("get_time")) == function_choice("get_time"));
  for (const char* builtin : {"file_search", "web_search", "web_search_preview", "code_interpreter",
                              "computer_use_preview", "image_generation", "mcp"}) {
    INFO(builtin);
    CHECK(bound_choice(Json(builtin)) == Json{{"type", builtin}});
  }
  const Json object{{"type", "function"}, {"function", Json{{"name", "anything"}}}};
  CHECK(bound_choice(object) == object);
  // A bound tool's name is looked up before the built-in types (as LangChain).
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"ok"});
  model->bind_tools({tool_from_function("web_search", "", {})}, Json("web_search"))->invoke({HumanMessage("?")});
  CHECK(model->shared().options.at(0).tool_choice == function_choice("web_search"));
}

TEST_CASE("tool_choice in CallOptions is normalised at call time against the tools of the call") {
  CallOptions call;
  call.tool_choice = Json("get_weather");
  CHECK(bound_choice(Json("required"), call) == function_choice("get_weather"));
  call.tool_choice = Json(false);  // false over a bound choice: none is sent
  CHECK(bound_choice(Json("required"), call) == std::nullopt);
  call.tool_choice = Json("any");
  CHECK(bound_choice(Json("auto"), call) == Json("required"));

  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"ok", "ok"});
  call.tool_choice = Json("get_date");
  const auto bound = model->bind_tools(kWeatherAndTime);
  REQUIRE_THROWS_AS(bound->invoke({HumanMessage("?")}, call), InputError);
  REQUIRE_THROWS_WITH(bound->invoke({HumanMessage("?")}, call),
                      "tool_choice 'get_date' names no bound tool and no built-in tool type "
                      "(bound tools: get_weather, get_time)");
  REQUIRE_THROWS_WITH(bound->stream({HumanMessage("?")}, call),
                      "tool_choice 'get_date' names no bound tool and no built-in tool type "
                      "(bound tools: get_weather, get_time)");
  call.tool_choice = Json("get_weather");
  REQUIRE_THROWS_WITH(model->invoke({HumanMessage("?")}, call),
                      "tool_choice 'get_weather' names no bound tool and no built-in tool type (no tools bound)");
  CHECK(model->shared().options.empty());  // nothing was sent
}

TEST_CASE("a tool_choice that is none of the forms is refused at bind time, naming it and the tools") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"ok"});
  REQUIRE_THROWS_AS(model->bind_tools(kWeatherAndTime, Json("foo")), InputError);
  REQUIRE_THROWS_WITH(model->bind_tools(kWeatherAndTime, Json("foo")),
                      "tool_choice 'foo' names no bound tool and no built-in tool type "
                      "(bound tools: get_weather, get_time)");
  REQUIRE_THROWS_WITH(model->bind_tools(kWeatherAndTime, Json("")),
                      "tool_choice '' names no bound tool and no built-in tool type "
                      "(bound tools: get_weather, get_time)");
  REQUIRE_THROWS_WITH(model->bind_tools(kWeatherAndTime, Json("a\"b\n")),
                      "tool_choice 'a\\\"b\\n' names no bound tool and no built-in tool type "
                      "(bound tools: get_weather, get_time)");
  REQUIRE_THROWS_AS(model->bind_tools(kWeatherAndTime, Json(5)), InputError);
  REQUIRE_THROWS_WITH(model->bind_tools(kWeatherAndTime, Json(5)),
                      "tool_choice 5 must be a string, a bool or an object (bound tools: get_weather, get_time)");
  REQUIRE_THROWS_WITH(model->bind_tools(kWeatherAndTime, Json(1.5)),
                      "tool_choice 1.5 must be a string, a bool or an object (bound tools: get_weather, get_time)");
  REQUIRE_THROWS_WITH(model->bind_tools({}, Json()),
                      "tool_choice null must be a string, a bool or an object (no tools bound)");
  REQUIRE_THROWS_WITH(model->bind_tools(kWeatherAndTime, Json::array({"get_weather"})),
                      "tool_choice [\"get_weather\"] must be a string, a bool or an object "
                      "(bound tools: get_weather, get_time)");
  CHECK(model->shared().options.empty());
}

TEST_CASE("stream built from generate yields one chunk that merges to what invoke returns") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"Ich liebe das Programmieren."});
  auto chunks = model->stream({HumanMessage("I love programming.")}).collect();
  REQUIRE(chunks.size() == 1);
  AIMessage streamed = chunks[0].to_message();
  AIMessage invoked = model->invoke({HumanMessage("I love programming.")});
  REQUIRE(streamed.text() == invoked.text());
  REQUIRE(streamed.usage_metadata == invoked.usage_metadata);
  REQUIRE(streamed.response_metadata == invoked.response_metadata);
}

TEST_CASE("an answer's name survives streaming built from generate") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"ok"});
  model->answer_name = "Translator";
  CHECK(model->invoke({HumanMessage("?")}).name == "Translator");
  AIMessageChunk merged;
  for (auto& c : model->stream({HumanMessage("?")})) merged += c;
  CHECK(merged.to_message().name == "Translator");
}

TEST_CASE("chat model callbacks: start, end with the result; errors reported") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"hi"});
  auto rec = std::make_shared<RecordingHandler>();
  RunConfig config;
  config.callbacks = {rec};
  model->invoke({HumanMessage("x")}, {}, config);
  model->shared().failures_left = 1;
  REQUIRE_THROWS_AS(model->invoke({HumanMessage("x")}, {}, config), ServerError);
  REQUIRE(rec->events == std::vector<std::string>{"chat_model_start Chatscripted (1 messages)", "llm_end hi",
                                                  "chat_model_start Chatscripted (1 messages)",
                                                  "llm_error scripted: HTTP 500"});
}

TEST_CASE("a callback handler that throws never fails the call") {
  struct Throwing : CallbackHandler {
    void on_llm_end(const RunInfo&, const AIMessage&) override { throw std::runtime_error("handler bug"); }
  };
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"still fine"});
  RunConfig config;
  config.callbacks = {std::make_shared<Throwing>()};
  REQUIRE(model->invoke({HumanMessage("x")}, {}, config).text() == "still fine");
}

TEST_CASE("chat model batch runs N calls at once and ainvoke returns a future") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"a"}, std::chrono::milliseconds(50));
  RunConfig config;
  config.max_concurrency = 3;
  auto out = model->batch({{HumanMessage("1")}, {HumanMessage("2")}, {HumanMessage("3")}, {HumanMessage("4")},
                           {HumanMessage("5")}, {HumanMessage("6")}},
                          {}, config);
  REQUIRE(out.size() == 6);
  REQUIRE(model->shared().max_in_flight.load() == 3);
  auto fut = model->ainvoke({HumanMessage("later")});
  REQUIRE(fut.get().text() == "a");
}

TEST_CASE("a chat model in a chain takes messages, a message or text; other values are an error") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"r"});
  RunnablePtr r = model;
  REQUIRE(r->invoke(Value("plain text")).as_message().text() == "r");
  REQUIRE(model->shared().calls.at(0).at(0).role == Role::human);
  REQUIRE_THROWS_WITH(r->invoke(Value(ValueMap{})), "a chat model takes messages, a message or text, got a map value");
}

TEST_CASE("rate limiter: a bucket of 2 gives two tokens at once, then refills at the rate") {
  // 10 tokens a second: the next token is 100 ms away, far more than the few
  // statements between two checks even on a loaded machine under a sanitizer.
  RateLimiter limiter(10.0, 2.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // 3 tokens' time, capped at 2
  REQUIRE(limiter.try_acquire());
  REQUIRE(limiter.try_acquire());
  REQUIRE_FALSE(limiter.try_acquire());
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  REQUIRE(limiter.try_acquire());
  REQUIRE_THROWS_WITH(RateLimiter(0), "rate limiter: requests_per_second must be positive");
}

TEST_CASE("with_rate_limiter makes each call take a token") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"r"});
  auto limiter = std::make_shared<RateLimiter>(5.0, 1.0);  // the next token 200 ms after the last
  auto limited = model->with_rate_limiter(limiter);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  limited->invoke({HumanMessage("x")});
  // The call took the only token.
  REQUIRE_FALSE(limiter->try_acquire());
}
