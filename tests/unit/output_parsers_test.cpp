#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/output_parsers.hpp>
#include <chainpp/prompts.hpp>

#include "scripted_model.hpp"

using namespace chainpp;

namespace {

// A model that streams its answer in the given pieces.
class ChunkedModel : public ChatModel {
public:
  explicit ChunkedModel(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
  std::string provider() const override { return "chunked"; }

protected:
  std::shared_ptr<ChatModel> clone() const override { return std::make_shared<ChunkedModel>(*this); }
  Stream<AIMessageChunk> generate_stream(const Messages&, const CallOptions&, const CallContext&) const override {
    std::vector<AIMessageChunk> chunks;
    for (const auto& p : pieces_) {
      AIMessageChunk c;
      c.content = p;
      chunks.push_back(std::move(c));
    }
    return Stream<AIMessageChunk>::from_vector(std::move(chunks));
  }

private:
  std::vector<std::string> pieces_;
};

Stream<Value> chunk_stream(const std::vector<std::string>& pieces) {
  std::vector<Value> values;
  for (const auto& p : pieces) {
    AIMessageChunk c;
    c.content = p;
    values.emplace_back(std::move(c));
  }
  return Stream<Value>::from_vector(std::move(values));
}

std::vector<std::string> dumps(std::vector<Value> values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(v.as_json().dump());
  return out;
}

std::vector<std::string> texts(std::vector<Value> values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(v.as_text());
  return out;
}

std::string partial(std::string_view text) {
  auto v = parse_partial_json_output(text);
  return v ? v->dump() : "nullopt";
}

std::shared_ptr<ChatPromptTemplate> translation_prompt() {
  return ChatPromptTemplate::from_messages(
      {{"system", "You are a helpful assistant that translates {input_language} to {output_language}."},
       {"human", "{input}"}});
}

const ValueMap kSeedInput{{"input_language", "English"}, {"output_language", "German"}, {"input", "I love programming."}};

const Json kPersonSchema{
    {"type", "object"},
    {"properties", Json{{"name", Json{{"type", "string"}}},
                        {"age", Json{{"type", "integer"}, {"minimum", 0}}},
                        {"color", Json{{"enum", Json::array({"red", "green"})}}},
                        {"tags", Json{{"type", "array"}, {"items", Json{{"type", "string"}}}}}}},
    {"required", Json::array({"name", "age"})},
    {"additionalProperties", false}};

// The OutputParserError thrown by `f`.
template <class F>
OutputParserError parser_error(F f) {
  try {
    f();
  } catch (const OutputParserError& e) {
    return e;
  }
  FAIL("no OutputParserError thrown");
  return OutputParserError("", "");
}

}  // namespace

// ---------------------------------------------------------------- StrOutputParser

TEST_CASE("StrOutputParser turns a message, a chunk or text into text") {
  StrOutputParser parser;
  REQUIRE(parser.name() == "StrOutputParser");
  REQUIRE(parser.run_type() == "parser");
  REQUIRE(parser.invoke(Value(Message(AIMessage("J'adore la programmation.")))) ==
          Value("J'adore la programmation."));
  AIMessageChunk chunk;
  chunk.content = "piece";
  REQUIRE(parser.invoke(Value(chunk)) == Value("piece"));
  REQUIRE(parser.invoke(Value("text")) == Value("text"));
  REQUIRE_THROWS_AS(parser.invoke(Value(ValueMap{})), InputError);
  REQUIRE_THROWS_WITH(parser.invoke(Value(ValueMap{})), "StrOutputParser expects text, a message or a chunk, got map");
}

TEST_CASE("prompt | model | StrOutputParser() gives the answer as text") {
  auto model = std::make_shared<test::ScriptedModel>(std::vector<std::string>{"Ich liebe das Programmieren."});
  auto chain = translation_prompt() | model | StrOutputParser();
  REQUIRE(chain->invoke(Value(kSeedInput)) == Value("Ich liebe das Programmieren."));
}

TEST_CASE("StrOutputParser streams each chunk's content as it arrives") {
  StrOutputParser parser;
  REQUIRE(texts(parser.transform(chunk_stream({"", "Ich", " liebe", " das Programmieren."})).collect()) ==
          std::vector<std::string>{"", "Ich", " liebe", " das Programmieren."});

  auto model = std::make_shared<ChunkedModel>(std::vector<std::string>{"Ich", " liebe", " das", " Programmieren."});
  auto chain = translation_prompt() | model | StrOutputParser();
  REQUIRE(texts(chain->stream(Value(kSeedInput)).collect()) ==
          std::vector<std::string>{"Ich", " liebe", " das", " Programmieren."});
}

// ---------------------------------------------------------------- JsonOutputParser

TEST_CASE("JsonOutputParser parses JSON text, plain or in a fenced block") {
  JsonOutputParser parser;
  REQUIRE(parser.name() == "JsonOutputParser");
  REQUIRE(parser.run_type() == "parser");
  const Json expected = Json{{"a", 1}, {"b", Json::array({true, nullptr, 2.5, "x"})}};
  for (const char* text : {
           R"({"a": 1, "b": [true, null, 2.5, "x"]})",
           "  \n{\"a\": 1, \"b\": [true, null, 2.5, \"x\"]}\n\n",
           "```json\n{\"a\": 1, \"b\": [true, null, 2.5, \"x\"]}\n```",
           "```\n{\"a\": 1, \"b\": [true, null, 2.5, \"x\"]}\n```\n",
           "Here is the JSON:\n\n```json\n{\"a\": 1, \"b\": [true, null, 2.5, \"x\"]}\n```\nHope this helps!",
           "note: ```{\"a\": 1, \"b\": [true, null, 2.5, \"x\"]}```",
       }) {
    INFO(text);
    Value out = parser.invoke(Value(Message(AIMessage(text))));
    REQUIRE(out.is_json());
    REQUIRE(out.as_json() == expected);
    REQUIRE(out.as_json().dump() == R"({"a":1,"b":[true,null,2.5,"x"]})");
  }
  REQUIRE(parser.invoke(Value("[1, \"two\"]")).as_json().dump() == R"([1,"two"])");
  REQUIRE(parser.invoke(Value("null")).as_json().is_null());
  REQUIRE(parser.invoke(Value(" false ")).as_json() == Json(false));
  REQUIRE(parser.invoke(Value("\"just a string\"")).as_json() == Json("just a string"));
  // Models write raw newlines inside strings; they are accepted.
  REQUIRE(parser.invoke(Value("{\"poem\": \"line 1\nline 2\"}")).as_json() == Json{{"poem", "line 1\nline 2"}});
  REQUIRE(parser.invoke(Value(R"({"e": "\u00e9\ud83d\ude00 \"q\""})")).as_json() ==
          Json{{"e", "\xc3\xa9\xf0\x9f\x98\x80 \"q\""}});
}

TEST_CASE("JsonOutputParser: backticks and fences inside string values of a fenced block are content") {
  JsonOutputParser parser;
  auto parse = [&](const std::string& text) { return parser.invoke(Value(text)).as_json().dump(); };
  // Backticks inside a string value.
  REQUIRE(parse("```json\n{\"cmd\": \"run `ls` now\"}\n```") == R"({"cmd":"run `ls` now"})");
  // A fence inside a string value (a nested fence), with escaped quotes around it.
  REQUIRE(parse("```json\n{\"md\": \"```python\\nprint(\\\"x\\\")\\n```\", \"n\": 1}\n```") ==
          R"({"md":"```python\nprint(\"x\")\n```","n":1})");
  // Text before and after the fence, no language tag.
  REQUIRE(parse("Sure:\n```\n{\"s\": \"a ``` b\"}\n```\nThe ``` above ends it.") == R"({"s":"a ``` b"})");
  // Two blocks: the first one is read, the second is left alone.
  REQUIRE(parse("```json\n[\"`\"]\n```\n```json\n[2]\n```") == R"(["`"])");
  // A four-backtick fence around a block holding a three-backtick one; an inline one.
  REQUIRE(parse("````json\n{\"a\": \"```\"}\n````") == R"({"a":"```"})");
  REQUIRE(parse("`{\"a\": 1}`") == R"({"a":1})");
  REQUIRE(parse("`x` is set:\n```json\n{\"x\": \"`\"}\n```") == R"({"x":"`"})");
  // A plain text is read whole first, fences inside its strings included.
  REQUIRE(parse("{\"a\": \"```json\\n{}\\n```\"}") == R"({"a":"```json\n{}\n```"})");
  // An unterminated string still fails where it opens; a fence only closes outside a string.
  REQUIRE_THROWS_WITH(parser.invoke(Value("```json\n{\"a\": \"open\n```")),
                      "invalid JSON output at offset 14: unterminated string");
  REQUIRE_THROWS_WITH(parser.invoke(Value("```json\n{\"a\": 1\n```\n}")),
                      "invalid JSON output at offset 15: unexpected end of input");
  REQUIRE(partial("```json\n{\"a\": \"x ``` y") == R"({"a":"x ``` y"})");
  REQUIRE(partial("```json\n{\"a\": [1]\n```") == R"({"a":[1]})");
}

TEST_CASE("JsonOutputParser: invalid output throws with the offset and the raw text") {
  JsonOutputParser parser;
  REQUIRE_THROWS_AS(parser.invoke(Value(R"({"a": 1,})")), OutputParserError);
  REQUIRE_THROWS_WITH(parser.invoke(Value(R"({"a": 1,})")), "invalid JSON output at offset 8: expected a string key");
  REQUIRE_THROWS_WITH(parser.invoke(Value("```json\n{\"a\" 1}\n```")),
                      "invalid JSON output at offset 13: expected ':' after an object key");
  REQUIRE_THROWS_WITH(parser.invoke(Value(R"({"a": 1 "b": 2})")),
                      "invalid JSON output at offset 8: expected ',' or '}' after an object member");
  REQUIRE_THROWS_WITH(parser.invoke(Value("[1 2]")),
                      "invalid JSON output at offset 3: expected ',' or ']' after an array element");
  REQUIRE_THROWS_WITH(parser.invoke(Value(R"({"a": 1)")), "invalid JSON output at offset 7: unexpected end of input");
  REQUIRE_THROWS_WITH(parser.invoke(Value(R"({"a": "open)")), "invalid JSON output at offset 6: unterminated string");
  REQUIRE_THROWS_WITH(parser.invoke(Value(R"({"a": tru})")), "invalid JSON output at offset 6: invalid value 'tru'");
  REQUIRE_THROWS_WITH(parser.invoke(Value(R"({"a": 1} and more)")),
                      "invalid JSON output at offset 9: unexpected text after the JSON value");
  REQUIRE_THROWS_WITH(parser.invoke(Value("")), "invalid JSON output at offset 0: unexpected end of input");
  REQUIRE_THROWS_WITH(parser.invoke(Value("{'a': 1}")), "invalid JSON output at offset 1: expected a string key or '}'");
  REQUIRE_THROWS_WITH(parser.invoke(Value(std::string(600, '['))),
                      "invalid JSON output at offset 512: nesting deeper than 512 levels");
  REQUIRE(parser.invoke(Value(std::string(512, '[') + std::string(512, ']'))).as_json().size() == 1);

  auto e = parser_error([&] { parser.invoke(Value(Message(AIMessage("Sorry, I can't do that.")))); });
  REQUIRE(std::string(e.what()) == "invalid JSON output at offset 0: invalid value 'Sorry'");
  REQUIRE(e.llm_output() == "Sorry, I can't do that.");

  REQUIRE_THROWS_WITH(parser.invoke(Value(ValueMap{})), "JsonOutputParser expects text, a message or a chunk, got map");
}

TEST_CASE("parse_partial_json_output closes what is open and leaves out incomplete members") {
  REQUIRE(partial("") == "nullopt");
  REQUIRE(partial("   ") == "nullopt");
  REQUIRE(partial("{") == "{}");
  REQUIRE(partial(R"({")") == "{}");
  REQUIRE(partial(R"({"na)") == "{}");
  REQUIRE(partial(R"({"name")") == "{}");
  REQUIRE(partial(R"({"name": )") == "{}");
  REQUIRE(partial(R"({"name": ")") == R"({"name":""})");
  REQUIRE(partial(R"({"name": "Ad)") == R"({"name":"Ad"})");
  REQUIRE(partial(R"({"name": "Ada", )") == R"({"name":"Ada"})");
  REQUIRE(partial(R"({"ok": tr)") == "{}");
  REQUIRE(partial(R"({"ok": true)") == R"({"ok":true})");
  REQUIRE(partial(R"({"n": -)") == "{}");
  REQUIRE(partial(R"({"n": 1.)") == R"({"n":1})");
  REQUIRE(partial(R"({"n": 12)") == R"({"n":12})");
  REQUIRE(partial(R"({"n": 1.5e)") == R"({"n":1.5})");
  REQUIRE(partial("[1, 2, ") == "[1,2]");
  REQUIRE(partial(R"([{"a": 1}, {)") == R"([{"a":1},{}])");
  REQUIRE(partial(R"({"a": {"b": [1, {"c": "x)") == R"({"a":{"b":[1,{"c":"x"}]}})");
  REQUIRE(partial(R"({"s": "x\)") == R"({"s":"x"})");
  REQUIRE(partial(R"({"s": "x\n)") == R"({"s":"x\n"})");
  REQUIRE(partial(R"({"s": "x\u00e)") == R"({"s":"x"})");
  REQUIRE(partial(R"({"s": "x\ud83d)") == R"({"s":"x"})");
  REQUIRE(partial(R"({"s": "x\ud83d\ude0)") == R"({"s":"x"})");
  REQUIRE(partial(R"({"s": "x\ud83d\ude00)") == "{\"s\":\"x\xf0\x9f\x98\x80\"}");
  REQUIRE(partial("```json\n{\"a\": [1") == R"({"a":[1]})");
  REQUIRE(partial("```js") == "nullopt");
  REQUIRE(partial(R"({"a": 1}})") == R"({"a":1})");
  REQUIRE(partial(R"({"a" 1)") == "nullopt");
  REQUIRE(partial("Sorry") == "nullopt");
}

TEST_CASE("JsonOutputParser streams partial objects, yielding only when the value changed") {
  const std::vector<std::string> pieces{R"({")",      R"(name": "Ad)",         R"(a", "age)",
                                        R"(": 3)",     R"(6, "tags": ["x)",     R"("]})"};
  const std::vector<std::string> expected{
      "{}",
      R"({"name":"Ad"})",
      R"({"name":"Ada"})",
      R"({"name":"Ada","age":3})",
      R"({"name":"Ada","age":36,"tags":["x"]})",
  };
  JsonOutputParser parser;
  REQUIRE(dumps(parser.transform(chunk_stream(pieces)).collect()) == expected);

  // Through a chain: prompt | streaming model | parser.
  auto chain = translation_prompt() | std::make_shared<ChunkedModel>(pieces) | JsonOutputParser();
  REQUIRE(dumps(chain->stream(Value(kSeedInput)).collect()) == expected);
  REQUIRE(chain->invoke(Value(kSeedInput)).as_json().dump() == R"({"name":"Ada","age":36,"tags":["x"]})");
}

TEST_CASE("JsonOutputParser streams a fenced block") {
  JsonOutputParser parser;
  REQUIRE(dumps(parser.transform(chunk_stream({"```", "json\n{", "\"a\": [1", ", 2]}", "\n```"})).collect()) ==
          std::vector<std::string>{"{}", R"({"a":[1]})", R"({"a":[1,2]})"});
}

TEST_CASE("JsonOutputParser: a stream that never becomes valid JSON fails at its end") {
  JsonOutputParser parser;
  auto s = parser.transform(chunk_stream({"Sorry,", " no."}));
  auto e = parser_error([&] { s.collect(); });
  REQUIRE(std::string(e.what()) == "invalid JSON output at offset 0: invalid value 'Sorry'");
  REQUIRE(e.llm_output() == "Sorry, no.");

  // Partial values were fine, the whole is truncated.
  auto t = parser.transform(chunk_stream({R"({"a": )", "1"}));
  REQUIRE(t.next()->as_json().dump() == "{}");
  REQUIRE(t.next()->as_json().dump() == R"({"a":1})");
  REQUIRE_THROWS_WITH(t.next(), "invalid JSON output at offset 7: unexpected end of input");
}

TEST_CASE("A parser's stream stays valid after the parser itself is released") {
  RunnablePtr parser = std::make_shared<JsonSchemaOutputParser>(kPersonSchema);
  auto s = parser->transform(chunk_stream({R"({"name": "Ada", )", R"("age": 1})"}));
  parser.reset();
  REQUIRE(dumps(s.collect()) == std::vector<std::string>{R"({"name":"Ada"})", R"({"name":"Ada","age":1})"});
}

// ---------------------------------------------------------------- JSON Schema

TEST_CASE("JsonSchema accepts conforming values") {
  JsonSchema schema(kPersonSchema);
  REQUIRE_FALSE(schema.violation(Json{{"name", "Ada"}, {"age", 36}}));
  REQUIRE_FALSE(schema.violation(Json{{"name", "Ada"}, {"age", 36}, {"color", "red"}, {"tags", Json::array({"a"})}}));
  REQUIRE_NOTHROW(validate_json(Json{{"name", "Ada"}, {"age", 0}}, kPersonSchema));
  REQUIRE(schema.schema() == kPersonSchema);
}

TEST_CASE("JsonSchema names the failing field and keyword") {
  JsonSchema schema(kPersonSchema);
  auto violation = [&](const char* json) { return schema.violation(Json::parse(json)).value_or("valid"); };
  REQUIRE(violation(R"({"name": "Ada", "age": "36"})") ==
          "JSON schema violation at /age: 'type' expected integer, got string");
  REQUIRE(violation(R"({"name": "Ada", "age": 36.5})") ==
          "JSON schema violation at /age: 'type' expected integer, got number");
  REQUIRE(violation(R"({"name": "Ada"})") ==
          "JSON schema violation at (root): 'required' property 'age' is missing");
  REQUIRE(violation(R"({"age": 1})") == "JSON schema violation at (root): 'required' property 'name' is missing");
  REQUIRE(violation(R"({"name": "Ada", "age": 36, "tags": ["a", 2]})") ==
          "JSON schema violation at /tags/1: 'type' expected string, got integer");
  REQUIRE(violation(R"({"name": "Ada", "age": -1})") == "JSON schema violation at /age: 'minimum' 0 not satisfied by -1");
  REQUIRE(violation(R"({"name": "Ada", "age": 1, "color": "blue"})") ==
          R"(JSON schema violation at /color: 'enum' value "blue" is not one of ["red","green"])");
  REQUIRE(violation(R"({"name": "Ada", "age": 1, "extra": true})") ==
          "JSON schema violation at /extra: 'additionalProperties' property 'extra' is not allowed");
  REQUIRE(violation(R"([1])") == "JSON schema violation at (root): 'type' expected object, got array");

  REQUIRE(schema_violation(Json(3), Json{{"type", Json::array({"string", "null"})}}) ==
          "JSON schema violation at (root): 'type' expected string or null, got integer");
}

TEST_CASE("validate_json throws OutputParserError with the value as llm_output") {
  auto e = parser_error([] { validate_json(Json{{"name", 7}, {"age", 1}}, kPersonSchema); });
  REQUIRE(std::string(e.what()) == "JSON schema violation at /name: 'type' expected string, got integer");
  REQUIRE(e.llm_output() == R"({"name":7,"age":1})");
  REQUIRE_THROWS_AS(JsonSchema(Json::array({1})), InputError);
  REQUIRE_THROWS_WITH(JsonSchema(Json::array({1})), "JSON schema must be an object, got array");
}

TEST_CASE("JsonSchemaOutputParser parses, then validates") {
  JsonSchemaOutputParser parser(kPersonSchema);
  REQUIRE(parser.name() == "JsonSchemaOutputParser");
  REQUIRE(parser.run_type() == "parser");
  REQUIRE(parser.invoke(Value("```json\n{\"name\": \"Ada\", \"age\": 36}\n```")).as_json() ==
          Json{{"name", "Ada"}, {"age", 36}});

  const std::string bad = "```json\n{\"name\": \"Ada\", \"age\": \"thirty-six\"}\n```";
  auto e = parser_error([&] { parser.invoke(Value(Message(AIMessage(bad)))); });
  REQUIRE(std::string(e.what()) == "JSON schema violation at /age: 'type' expected integer, got string");
  REQUIRE(e.llm_output() == bad);
  // Invalid JSON fails as in JsonOutputParser.
  REQUIRE_THROWS_WITH(parser.invoke(Value("{")), "invalid JSON output at offset 1: unexpected end of input");
}

TEST_CASE("JsonSchemaOutputParser streams partial values and validates the last one") {
  JsonSchemaOutputParser parser(kPersonSchema);
  REQUIRE(dumps(parser.transform(chunk_stream({R"({"name": "A)", R"(da", "age": 3)", "6}"})).collect()) ==
          std::vector<std::string>{R"({"name":"A"})", R"({"name":"Ada","age":3})", R"({"name":"Ada","age":36})"});

  auto s = parser.transform(chunk_stream({R"({"name": "Ada")", "}"}));
  REQUIRE(s.next()->as_json().dump() == R"({"name":"Ada"})");
  REQUIRE_THROWS_WITH(s.next(), "JSON schema violation at (root): 'required' property 'age' is missing");

  auto chain = translation_prompt() | std::make_shared<test::ScriptedModel>(std::vector<std::string>{R"({"name": "Ada", "age": 36})"}) |
               JsonSchemaOutputParser(kPersonSchema);
  REQUIRE(chain->invoke(Value(kSeedInput)).as_json() == Json{{"name", "Ada"}, {"age", 36}});
}
