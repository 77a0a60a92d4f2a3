// The wire side of LangChain's normalisations: a response message's `name`
// read (completion and stream, by the scanner and the general path alike)
// and sent back.
#include "openai_wire.hpp"
#include "request_schema.hpp"

#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>

using namespace chainpp;
using namespace chainpp::openai_wire;
using chainpp::test::request_schema_violation;

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
