#include "scripted_model.hpp"

#include <catch2/catch.hpp>
#include <chainpp/callbacks.hpp>
#include <chainpp/runnable.hpp>

#include <regex>

using namespace chainpp;
using chainpp::test::RecordingHandler;
using chainpp::test::ScriptedModel;

namespace {
RunnablePtr fake_prompt() {
  return make_lambda("prompt", [](const Value& v) {
    return Value(Messages{HumanMessage(v.as_map().at("input").as_text())});
  });
}
RunnablePtr fake_parser() {
  return make_lambda("parser", [](const Value& v) { return Value(v.as_message().text()); });
}
}  // namespace

TEST_CASE("callback order for prompt | model | parser, with parent links") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"Bonjour"});
  auto chain = fake_prompt() | model | fake_parser();
  auto rec = std::make_shared<RecordingHandler>();
  RunConfig config;
  config.callbacks = {rec};
  REQUIRE(chain->invoke(Value(ValueMap{{"input", Value("Hello")}}), config).as_text() == "Bonjour");
  REQUIRE(rec->events == std::vector<std::string>{
                             "chain_start RunnableSequence", "chain_start prompt", "chain_end prompt",
                             "chat_model_start Chatscripted (1 messages)", "llm_end Bonjour", "chain_start parser",
                             "chain_end parser", "chain_end RunnableSequence"});
  const std::string root = rec->runs[0].id;
  REQUIRE(rec->runs[0].parent_id.empty());
  REQUIRE(rec->runs[1].parent_id == root);
  REQUIRE(rec->runs[3].parent_id == root);
  REQUIRE(rec->runs[3].type == "chat_model");
  REQUIRE(rec->runs[5].parent_id == root);
  REQUIRE(rec->runs[7].id == root);
}

TEST_CASE("an error in a step fires the step's and the chain's error events") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"x"});
  model->shared().failures_left = 1;
  auto chain = fake_prompt() | model;
  auto rec = std::make_shared<RecordingHandler>();
  RunConfig config;
  config.callbacks = {rec};
  REQUIRE_THROWS_AS(chain->invoke(Value(ValueMap{{"input", Value("Hello")}}), config), ServerError);
  REQUIRE(rec->events == std::vector<std::string>{"chain_start RunnableSequence", "chain_start prompt",
                                                  "chain_end prompt", "chat_model_start Chatscripted (1 messages)",
                                                  "llm_error scripted: HTTP 500",
                                                  "chain_error RunnableSequence: scripted: HTTP 500"});
}

TEST_CASE("handlers attached with with_config propagate to nested runs and add to per-call ones") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"x"});
  auto attached = std::make_shared<RecordingHandler>();
  auto per_call = std::make_shared<RecordingHandler>();
  RunConfig attach;
  attach.callbacks = {attached};
  auto chain = (fake_prompt() | model)->with_config(attach);
  RunConfig call;
  call.callbacks = {per_call};
  chain->invoke(Value(ValueMap{{"input", Value("Hello")}}), call);
  REQUIRE(attached->events == per_call->events);
  REQUIRE(attached->events.size() == 6);
  REQUIRE(attached->events[3] == "chat_model_start Chatscripted (1 messages)");
}

TEST_CASE("streaming fires a new-token event per chunk and the end with the merged message") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"tok"});
  auto rec = std::make_shared<RecordingHandler>();
  RunConfig config;
  config.callbacks = {rec};
  auto chunks = model->stream({HumanMessage("x")}, {}, config).collect();
  REQUIRE(chunks.size() == 1);
  REQUIRE(rec->events ==
          std::vector<std::string>{"chat_model_start Chatscripted (1 messages)", "new_token 'tok'", "llm_end tok"});
}

TEST_CASE("new_uuid gives distinct version-4 UUIDs") {
  std::string a = new_uuid(), b = new_uuid();
  REQUIRE(a != b);
  REQUIRE(std::regex_match(a, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
}
