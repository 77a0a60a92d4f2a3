// The wire side of LangChain's normalisations: tool_choice in the request
// body, and a response message's `name` read (completion and stream, by the
// scanner and the general path alike) and sent back.
#include "openai_wire.hpp"
#include "request_schema.hpp"

#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>

using namespace chainpp;
using namespace chainpp::openai_wire;
using chainpp::test::request_schema_violation;

namespace {

// The request body of one "hi" with get_weather and get_time bound and `choice`.
std::string body_with_choice(const Json& choice) {
  CallOptions o;
  o.tools = {tool_from_function("get_weather", "", {}), tool_from_function("get_time", "", {})};
  o.tool_choice = choice;
  return build_request_body({HumanMessage("hi")}, o, RequestShape{});
}

const std::string kBodyBefore =
    R"({"messages":[{"role":"user","content":"hi"}],"tools":[)"
    R"({"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{},"required":[]}}},)"
    R"({"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{},"required":[]}}}])";

}  // namespace

TEST_CASE("request body: each tool_choice form, as LangChain sends it") {
  CHECK(body_with_choice(Json("any")) == kBodyBefore + R"(,"tool_choice":"required"})");
  CHECK(body_with_choice(Json(true)) == kBodyBefore + R"(,"tool_choice":"required"})");
  CHECK(body_with_choice(Json(false)) == kBodyBefore + "}");
  CHECK(body_with_choice(Json("auto")) == kBodyBefore + R"(,"tool_choice":"auto"})");
  CHECK(body_with_choice(Json("none")) == kBodyBefore + R"(,"tool_choice":"none"})");
  CHECK(body_with_choice(Json("required")) == kBodyBefore + R"(,"tool_choice":"required"})");
  CHECK(body_with_choice(Json("get_time")) ==
        kBodyBefore + R"(,"tool_choice":{"type":"function","function":{"name":"get_time"}}})");
  CHECK(body_with_choice(Json("web_search_preview")) == kBodyBefore + R"(,"tool_choice":{"type":"web_search_preview"}})");
  CHECK(body_with_choice(Json("mcp")) == kBodyBefore + R"(,"tool_choice":{"type":"mcp"}})");
  CHECK(body_with_choice(Json{{"type", "function"}, {"function", Json{{"name", "get_weather"}}}}) ==
        kBodyBefore + R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}}})");
  for (const Json& valid : {Json("any"), Json(true), Json(false), Json("get_time")}) {
    INFO(valid.dump());
    CHECK(request_schema_violation(body_with_choice(valid)) == "");
  }
  REQUIRE_THROWS_AS(body_with_choice(Json("get_date")), InputError);
  REQUIRE_THROWS_WITH(body_with_choice(Json("get_date")),
                      "tool_choice 'get_date' names no bound tool and no built-in tool type "
                      "(bound tools: get_weather, get_time)");
  REQUIRE_THROWS_WITH(body_with_choice(Json(5)),
                      "tool_choice 5 must be a string, a bool or an object (bound tools: get_weather, get_time)");
}

namespace {
const char* kNamedCompletion =
    R"({"choices":[{"finish_reason":"stop","index":0,"logprobs":null,)"
    R"("message":{"content":"Bonjour.","role":"assistant","name":"Translator"}}],)"
    R"("created":1,"id":"chatcmpl-1","model":"gpt-4o","object":"chat.completion",)"
    R"("usage":{"completion_tokens":2,"prompt_tokens":3,"total_tokens":5}})";
}  // namespace

TEST_CASE("a completion message's name is read by both paths and sent back in the next request") {
  const ResponseShape shape{"azure_openai", "", ""};
  const AIMessage fast = parse_completion(kNamedCompletion, shape);
  const AIMessage full = parse_completion_full(kNamedCompletion, shape);
  CHECK(fast.name == "Translator");
  CHECK(fast == full);
  const std::string next = build_request_body({HumanMessage("Hello"), fast, HumanMessage("Again")}, {}, RequestShape{});
  CHECK(next == R"({"messages":[{"role":"user","content":"Hello"},)"
                R"({"role":"assistant","content":"Bonjour.","name":"Translator"},)"
                R"({"role":"user","content":"Again"}]})");
  CHECK(request_schema_violation(next) == "");

  // No name, a null or non-string name, a repeated one: both paths agree.
  for (const std::string& message :
       {std::string(R"({"content":"x"})"), std::string(R"({"content":"x","name":null})"),
        std::string(R"({"content":"x","name":7})"), std::string(R"({"name":"a\u00e9\"b","content":"x"})"),
        std::string(R"({"content":"x","name":"first","name":"second"})")}) {
    const std::string body = R"({"choices":[{"message":)" + message + R"(}],"model":"gpt-4o"})";
    INFO(body);
    const AIMessage a = parse_completion(body, shape);
    const AIMessage b = parse_completion_full(body, shape);
    CHECK(a == b);
  }
  CHECK(parse_completion(R"({"choices":[{"message":{"content":"x","name":7}}]})", shape).name.empty());
  CHECK(parse_completion(R"({"choices":[{"message":{"name":"a\u00e9\"b","content":"x"}}]})", shape).name ==
        "a\xc3\xa9\"b");
  CHECK(parse_completion(R"({"choices":[{"message":{"content":"x","name":"first","name":"second"}}]})", shape)
            .name == "second");
}

TEST_CASE("a stream delta's name reaches the merged message, by the scanner and the general path") {
  const std::vector<std::string> events = {
      R"({"choices":[{"delta":{"content":"","role":"assistant","name":"Translator"},"index":0}],"model":"gpt-4o"})",
      R"({"choices":[{"delta":{"content":"Bon"},"index":0}],"model":"gpt-4o"})",
      R"({"choices":[{"delta":{"content":"jour"},"index":0}],"model":"gpt-4o"})",
      R"({"choices":[{"delta":{},"finish_reason":"stop","index":0}],"model":"gpt-4o"})"};
  StreamDecoder scanning(ResponseShape{"azure_openai", "", ""});
  StreamDecoder full(ResponseShape{"azure_openai", "", ""});
  AIMessageChunk merged;
  for (const auto& e : events) {
    INFO(e);
    const AIMessageChunk a = scanning.decode(e);
    CHECK(a == full.decode_full(e));
    merged += a;
  }
  CHECK(scanning.scanned_events() == events.size());
  const AIMessage m = merged.to_message();
  CHECK(m.text() == "Bonjour");
  CHECK(m.name == "Translator");
  // The template of a named event is not kept: the next event's name is its own.
  StreamDecoder d(ResponseShape{"azure_openai", "", ""});
  CHECK(d.decode(R"({"choices":[{"delta":{"content":"a","name":"N"}}]})").name == "N");
  CHECK(d.decode(R"({"choices":[{"delta":{"content":"b","name":"N"}}]})").name == "N");
  CHECK(d.decode(R"({"choices":[{"delta":{"content":"c"}}]})").name.empty());
}
