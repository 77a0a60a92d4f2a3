// The seed page's chaining example, end to end in the core with a scripted model:
// ChatPromptTemplate | model | StrOutputParser, invoke and stream, callbacks,
// and structured output.
#include "scripted_model.hpp"

#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/output_parsers.hpp>
#include <chainpp/prompts.hpp>

using namespace chainpp;
using chainpp::test::RecordingHandler;
using chainpp::test::ScriptedModel;

namespace {
std::shared_ptr<ChatPromptTemplate> translation_prompt() {
  return ChatPromptTemplate::from_messages(
      {{"system", "You are a helpful assistant that translates {input_language} to {output_language}."},
       {"human", "{input}"}});
}
const ValueMap german{{"input_language", Value("English")},
                      {"output_language", Value("German")},
                      {"input", Value("I love programming.")}};
}  // namespace

TEST_CASE("prompt | model sends the formatted messages and returns the AI message") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"Ich liebe das Programmieren."});
  auto chain = translation_prompt() | model;
  Value out = chain->invoke(Value(german));
  REQUIRE(out.as_message().text() == "Ich liebe das Programmieren.");
  REQUIRE(out.as_message().usage_metadata == UsageMetadata{31, 8, 39, std::nullopt, std::nullopt});
  const Messages& sent = model->shared().calls.at(0);
  REQUIRE(sent.size() == 2);
  REQUIRE(sent[0].role == Role::system);
  REQUIRE(sent[0].text() == "You are a helpful assistant that translates English to German.");
  REQUIRE(sent[1].role == Role::human);
  REQUIRE(sent[1].text() == "I love programming.");
}

TEST_CASE("prompt | model | StrOutputParser() returns text, invoked and streamed") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"Ich liebe das Programmieren."});
  auto chain = translation_prompt() | model | StrOutputParser();
  REQUIRE(chain->invoke(Value(german)).as_text() == "Ich liebe das Programmieren.");
  auto pieces = chain->stream(Value(german)).collect();
  REQUIRE(pieces.size() == 1);
  REQUIRE(pieces[0].as_text() == "Ich liebe das Programmieren.");
}

TEST_CASE("callback order for prompt | model | parser") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"Hallo"});
  auto chain = translation_prompt() | model | StrOutputParser();
  auto rec = std::make_shared<RecordingHandler>();
  RunConfig config;
  config.callbacks = {rec};
  chain->invoke(Value(german), config);
  REQUIRE(rec->events == std::vector<std::string>{"chain_start RunnableSequence", "chain_start ChatPromptTemplate",
                                                  "chain_end ChatPromptTemplate",
                                                  "chat_model_start Chatscripted (2 messages)", "llm_end Hallo",
                                                  "chain_start StrOutputParser", "chain_end StrOutputParser",
                                                  "chain_end RunnableSequence"});
}

TEST_CASE("a missing prompt variable fails the chain with the variable's name") {
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{"x"});
  auto chain = translation_prompt() | model;
  REQUIRE_THROWS_WITH(chain->invoke(Value(ValueMap{{"input", Value("hi")}})),
                      "missing variables 'input_language', 'output_language' for prompt template; expected: input, "
                      "input_language, output_language; received: input");
  REQUIRE(model->shared().calls.empty());
}

TEST_CASE("with_structured_output (json_schema) binds the schema as response_format and validates the answer") {
  Json schema{{"title", "Person"},
              {"type", "object"},
              {"properties", Json{{"name", Json{{"type", "string"}}}, {"age", Json{{"type", "integer"}}}}},
              {"required", Json::array({"name", "age"})},
              {"additionalProperties", false}};
  auto model = std::make_shared<ScriptedModel>(
      std::vector<std::string>{R"({"name":"Ada","age":36})", R"({"name":"Ada","age":"old"})"});
  auto structured = model->with_structured_output(schema);
  REQUIRE(structured->invoke(Value("Who?")).as_json() == Json{{"name", "Ada"}, {"age", 36}});
  REQUIRE(model->shared().options.at(0).response_format ==
          Json{{"type", "json_schema"}, {"json_schema", Json{{"name", "Person"}, {"schema", schema}, {"strict", true}}}});
  REQUIRE_THROWS_WITH(structured->invoke(Value("Who?")),
                      "JSON schema violation at /age: 'type' expected integer, got string");
}

TEST_CASE("with_structured_output include_raw returns the raw message, the parsed value and the parsing error") {
  Json schema{{"type", "object"}, {"properties", Json{{"n", Json{{"type", "integer"}}}}}, {"required", Json::array({"n"})}};
  auto model = std::make_shared<ScriptedModel>(std::vector<std::string>{R"({"n": 1})", "not json"});
  StructuredOutputOptions o;
  o.method = StructuredOutputMethod::json_mode;
  o.include_raw = true;
  auto structured = model->with_structured_output(schema, o);
  Json good = structured->invoke(Value("?")).as_json();
  REQUIRE(good["parsed"] == Json{{"n", 1}});
  REQUIRE(good["parsing_error"].is_null());
  REQUIRE(good["raw"]["content"].as_string() == R"({"n": 1})");
  REQUIRE(model->shared().options.at(0).response_format == Json{{"type", "json_object"}});
  Json bad = structured->invoke(Value("?")).as_json();
  REQUIRE(bad["parsed"].is_null());
  REQUIRE(bad["parsing_error"].as_string() == "invalid JSON output at offset 0: invalid value 'not'");
}

TEST_CASE("with_structured_output (function_calling) forces the tool and reads its arguments") {
  struct ToolModel : ScriptedModel {
    using ScriptedModel::ScriptedModel;
    std::shared_ptr<ChatModel> clone() const override { return std::make_shared<ToolModel>(*this); }
    AIMessage generate(const Messages& m, const CallOptions& o, const CallContext& c) const override {
      ScriptedModel::generate(m, o, c);
      return AIMessage("", {ToolCall{"Answer", Json{{"n", 7}}, "call_1"}});
    }
  };
  Json schema{{"title", "Answer"}, {"description", "The answer"}, {"type", "object"},
              {"properties", Json{{"n", Json{{"type", "integer"}}}}}};
  auto model = std::make_shared<ToolModel>(std::vector<std::string>{""});
  StructuredOutputOptions o;
  o.method = StructuredOutputMethod::function_calling;
  REQUIRE(model->with_structured_output(schema, o)->invoke(Value("?")).as_json() == Json{{"n", 7}});
  const CallOptions& sent = model->shared().options.at(0);
  REQUIRE(sent.tools.at(0) == ToolDefinition{"Answer", "The answer", schema, true, {}});
  REQUIRE(sent.tool_choice == Json{{"type", "function"}, {"function", Json{{"name", "Answer"}}}});
}
