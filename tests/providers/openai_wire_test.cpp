#include "openai_wire.hpp"
#include "request_schema.hpp"

#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>

#include <optional>
#include <typeinfo>

using namespace chainpp;
using namespace chainpp::openai_wire;
using chainpp::test::request_schema_violation;

namespace {
const Messages seed_messages = messages_from_pairs(
    {{"system", "You are a helpful assistant that translates English to French. Translate the user sentence."},
     {"human", "I love programming."}});

const char* seed_response = R"({
  "id": "chatcmpl-9", "object": "chat.completion", "created": 1700000000, "model": "gpt-35-turbo",
  "system_fingerprint": null,
  "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {
    "hate": {"filtered": false, "severity": "safe"}, "self_harm": {"filtered": false, "severity": "safe"},
    "sexual": {"filtered": false, "severity": "safe"}, "violence": {"filtered": false, "severity": "safe"}}}],
  "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
    "message": {"role": "assistant", "content": "J'adore la programmation."},
    "content_filter_results": {"hate": {"filtered": false, "severity": "safe"},
      "self_harm": {"filtered": false, "severity": "safe"}, "sexual": {"filtered": false, "severity": "safe"},
      "violence": {"filtered": false, "severity": "safe"}}}],
  "usage": {"completion_tokens": 8, "prompt_tokens": 31, "total_tokens": 39}
})";

const char* safe_filters =
    R"({"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},)"
    R"("sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}})";
}  // namespace

TEST_CASE("request body: the seed's messages, unset options not sent, valid against the official schema") {
  CallOptions o;
  o.temperature = 0.0;
  std::string body = build_request_body(seed_messages, o, RequestShape{});
  REQUIRE(body ==
          R"({"messages":[{"role":"system","content":"You are a helpful assistant that translates English to French. Translate the user sentence."},)"
          R"({"role":"user","content":"I love programming."}],"temperature":0.0})");
  REQUIRE(request_schema_violation(body) == "");
}

TEST_CASE("request body: every generation option, in the wire's names") {
  CallOptions o;
  o.temperature = 0.5;
  o.top_p = 0.9;
  o.n = 2;
  o.stop = std::vector<std::string>{"\n", "END"};
  o.max_tokens = 100;
  o.presence_penalty = 0.1;
  o.frequency_penalty = 0.2;
  o.logit_bias = Json{{"50256", -100}};
  o.user = "user-1";
  o.seed = 42;
  o.logprobs = true;
  o.top_logprobs = 3;
  o.response_format = Json{{"type", "json_object"}};
  std::string body = build_request_body({HumanMessage("hi")}, o, RequestShape{"gpt-4o", true, true});
  REQUIRE(body ==
          R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"top_p":0.9,"n":2,)"
          R"("stop":["\n","END"],"max_tokens":100,"presence_penalty":0.1,"frequency_penalty":0.2,)"
          R"("logit_bias":{"50256":-100},"user":"user-1","seed":42,"logprobs":true,"top_logprobs":3,)"
          R"("response_format":{"type":"json_object"},"stream":true,"stream_options":{"include_usage":true}})");
  REQUIRE(request_schema_violation(body) == "");
}

TEST_CASE("request body: o-series options") {
  CallOptions o;
  o.max_completion_tokens = 500;
  o.reasoning_effort = "low";
  std::string body = build_request_body({HumanMessage("hi")}, o, RequestShape{});
  REQUIRE(body == R"({"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":500,"reasoning_effort":"low"})");
}

TEST_CASE("request body: tools, tool_choice by name, and a tool-call round trip") {
  CallOptions o;
  o.tools = {tool_from_function("get_weather", "Weather in a city", {{"city", "string", "", true}})};
  o.tool_choice = Json("get_weather");
  o.parallel_tool_calls = false;
  Messages conv{HumanMessage("Weather in Paris?"),
                AIMessage("", {ToolCall{"get_weather", Json{{"city", "Paris"}}, "call_1"}}),
                ToolMessage("18C and sunny", "call_1")};
  std::string body = build_request_body(conv, o, RequestShape{});
  REQUIRE(body ==
          R"({"messages":[{"role":"user","content":"Weather in Paris?"},)"
          R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},)"
          R"({"role":"tool","content":"18C and sunny","tool_call_id":"call_1"}],)"
          R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],)"
          R"("tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false})");
  REQUIRE(request_schema_violation(body) == "");
}

TEST_CASE("request body: image parts by URL and data URI with detail") {
  HumanMessage m(std::vector<ContentPart>{ContentPart::text_part("What is this?"),
                                          ContentPart::image_part("data:image/png;base64,iVBORw==", "high")});
  std::string body = build_request_body({m}, CallOptions{}, RequestShape{});
  REQUIRE(body ==
          R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},)"
          R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw==","detail":"high"}}]}]})");
  REQUIRE(request_schema_violation(body) == "");
}

TEST_CASE("a completion parses into the seed page's AIMessage fields") {
  AIMessage m = parse_completion(seed_response, ResponseShape{"azure_openai", "", "req-1"});
  REQUIRE(m.text() == "J'adore la programmation.");
  REQUIRE(m.response_metadata.dump() ==
          std::string(R"({"token_usage":{"completion_tokens":8,"prompt_tokens":31,"total_tokens":39},)"
                      R"("model_name":"gpt-35-turbo","system_fingerprint":null,)"
                      R"("prompt_filter_results":[{"prompt_index":0,"content_filter_results":)") +
              safe_filters + R"(}],"finish_reason":"stop","logprobs":null,"content_filter_results":)" + safe_filters +
              "}");
  REQUIRE(m.usage_metadata == UsageMetadata{31, 8, 39, std::nullopt, std::nullopt});
  REQUIRE(m.tool_calls.empty());
}

TEST_CASE("model_version is appended to model_name once") {
  AIMessage m = parse_completion(seed_response, ResponseShape{"azure_openai", "0301", ""});
  REQUIRE(m.response_metadata["model_name"].as_string() == "gpt-35-turbo-0301");
  REQUIRE(versioned_model_name("gpt-35-turbo-0301", "0301") == "gpt-35-turbo-0301");
  REQUIRE(versioned_model_name("gpt-4o", "") == "gpt-4o");
}

TEST_CASE("usage details become token_usage details and usage_metadata cache/reasoning counts") {
  AIMessage m = parse_completion(
      R"({"model":"o3-mini","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}],)"
      R"("usage":{"completion_tokens":50,"prompt_tokens":20,"total_tokens":70,)"
      R"("completion_tokens_details":{"reasoning_tokens":40},"prompt_tokens_details":{"cached_tokens":16}}})",
      ResponseShape{"azure_openai", "", ""});
  REQUIRE(m.usage_metadata == UsageMetadata{20, 50, 70, 16, 40});
  REQUIRE(m.response_metadata["token_usage"].dump() ==
          R"({"completion_tokens":50,"prompt_tokens":20,"total_tokens":70,"completion_tokens_details":{"reasoning_tokens":40},"prompt_tokens_details":{"cached_tokens":16}})");
  REQUIRE(m.response_metadata["system_fingerprint"].is_null());
}

TEST_CASE("tool calls parse; bad arguments land in invalid_tool_calls with the raw text") {
  AIMessage m = parse_completion(
      R"({"model":"gpt-4o","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,)"
      R"("tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\": 1}"}},)"
      R"({"id":"call_b","type":"function","function":{"name":"g","arguments":"{oops"}}]}}]})",
      ResponseShape{"azure_openai", "", ""});
  REQUIRE(m.text().empty());
  REQUIRE(m.tool_calls == std::vector<ToolCall>{ToolCall{"f", Json{{"x", 1}}, "call_a"}});
  REQUIRE(m.invalid_tool_calls.size() == 1);
  REQUIRE(m.invalid_tool_calls[0].args == "{oops");
  REQUIRE(m.invalid_tool_calls[0].id == "call_b");
}

TEST_CASE("a completion cut by the content filter raises ContentFilterError with the partial content") {
  const char* body =
      R"({"model":"gpt-4o","choices":[{"index":0,"finish_reason":"content_filter","message":{"role":"assistant","content":"Once upon"},)"
      R"("content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}]})";
  try {
    parse_completion(body, ResponseShape{"azure_openai", "", "req-7"});
    FAIL("no error");
  } catch (const ContentFilterError& e) {
    REQUIRE(std::string(e.what()) ==
            "azure_openai: the completion was stopped by the content filter (finish_reason content_filter) "
            "(triggered: violence (medium)) (request id req-7)");
    REQUIRE(e.triggered() == std::vector<FilterCategory>{{"violence", "medium", true, false}});
    REQUIRE(e.partial_content() == "Once upon");
    REQUIRE(e.filter_results()["violence"]["filtered"].as_bool());
    REQUIRE(e.code() == "content_filter");
  }
}

TEST_CASE("malformed responses are BadResponseError naming the problem") {
  REQUIRE_THROWS_WITH(parse_completion("{\"choices\": [", ResponseShape{"azure_openai", "", "r1"}),
                      "azure_openai: malformed response: invalid JSON at offset 13: Invalid value. (request id r1)");
  REQUIRE_THROWS_WITH(parse_completion("{\"choices\": []}", ResponseShape{"azure_openai", "", ""}),
                      "azure_openai: malformed response: the response has no choices");
  REQUIRE_THROWS_AS(parse_completion("[]", ResponseShape{"azure_openai", "", ""}), BadResponseError);
}

TEST_CASE("stream decoding: Azure's chunk order merges to what invoke returns") {
  StreamDecoder d(ResponseShape{"azure_openai", "", ""});
  std::vector<std::string> events = {
      R"({"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":)" +
          std::string(safe_filters) + "}]}",
      R"({"choices":[{"content_filter_results":{},"delta":{"content":"","role":"assistant","refusal":null},"finish_reason":null,"index":0,"logprobs":null}],"created":1,"id":"c1","model":"gpt-35-turbo","object":"chat.completion.chunk","system_fingerprint":null,"usage":null})",
      R"({"choices":[{"content_filter_results":)" + std::string(safe_filters) +
          R"(,"delta":{"content":"J'adore"},"finish_reason":null,"index":0,"logprobs":null}],"created":1,"id":"c1","model":"gpt-35-turbo","object":"chat.completion.chunk","usage":null})",
      R"({"choices":[{"content_filter_results":)" + std::string(safe_filters) +
          R"(,"delta":{"content":" la programmation."},"finish_reason":null,"index":0,"logprobs":null}],"created":1,"id":"c1","model":"gpt-35-turbo","object":"chat.completion.chunk","usage":null})",
      R"({"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1,"id":"c1","model":"gpt-35-turbo","object":"chat.completion.chunk","usage":null})",
      R"({"choices":[],"created":1,"id":"c1","model":"gpt-35-turbo","object":"chat.completion.chunk","usage":{"completion_tokens":8,"prompt_tokens":31,"total_tokens":39}})"};
  AIMessageChunk merged;
  std::vector<std::string> pieces;
  for (const auto& e : events) {
    AIMessageChunk c = d.decode(e);
    pieces.push_back(c.content);
    merged += c;
  }
  REQUIRE(pieces == std::vector<std::string>{"", "", "J'adore", " la programmation.", "", ""});
  AIMessage streamed = merged.to_message();
  AIMessage invoked = parse_completion(seed_response, ResponseShape{"azure_openai", "", ""});
  REQUIRE(streamed.text() == invoked.text());
  REQUIRE(streamed.usage_metadata == invoked.usage_metadata);
  REQUIRE(streamed.response_metadata["finish_reason"] == invoked.response_metadata["finish_reason"]);
  REQUIRE(streamed.response_metadata["model_name"] == invoked.response_metadata["model_name"]);
  REQUIRE(streamed.response_metadata["prompt_filter_results"] == invoked.response_metadata["prompt_filter_results"]);
  REQUIRE(streamed.response_metadata["content_filter_results"] == invoked.response_metadata["content_filter_results"]);
  REQUIRE(streamed.response_metadata["token_usage"] == invoked.response_metadata["token_usage"]);
}

TEST_CASE("stream decoding: tool-call deltas merge by index") {
  StreamDecoder d(ResponseShape{"azure_openai", "", ""});
  AIMessageChunk merged;
  for (const char* e :
       {R"({"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]})",
        R"({"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]})",
        R"({"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]}}]})",
        R"({"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]})",
        R"({"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"})
    merged += d.decode(e);
  AIMessage m = merged.to_message();
  REQUIRE(m.tool_calls == std::vector<ToolCall>{ToolCall{"get_weather", Json{{"city", "Paris"}}, "call_1"},
                                                ToolCall{"get_time", Json::object(), "call_2"}});
  REQUIRE(m.response_metadata["finish_reason"].as_string() == "tool_calls");
}

TEST_CASE("stream decoding: an error event and a filtered finish are errors; content so far is kept") {
  StreamDecoder d(ResponseShape{"azure_openai", "", "req-9"});
  REQUIRE_THROWS_WITH(d.decode(R"({"error":{"code":"server_error","message":"The server had an error."}})"),
                      "azure_openai: error in stream server_error: The server had an error. (request id req-9)");
  d.decode(R"({"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Once"}}]})");
  try {
    d.decode(R"({"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"content_filter","content_filter_results":{"violence":{"filtered":true,"severity":"high"}}}]})");
    FAIL("no error");
  } catch (const ContentFilterError& e) {
    REQUIRE(e.partial_content() == "Once");
    REQUIRE(std::string(e.what()) ==
            "azure_openai: the completion was stopped by the content filter (finish_reason content_filter) "
            "(triggered: violence (high)) (request id req-9)");
  }
}

TEST_CASE("the request schema check rejects what the service would reject") {
  REQUIRE(request_schema_violation(R"({"messages":[{"role":"user","content":"hi"}],"temperature":"hot"})") != "");
  REQUIRE(request_schema_violation(R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":null,"top_logprobs":99})") != "");
  REQUIRE(request_schema_violation(R"({"temperature":1})") != "");
}

namespace {

// What decoding one event gives: the chunk, or the error's type, message and partial content.
struct DecodeOutcome {
  std::optional<AIMessageChunk> chunk;
  std::string error;
};

// Runs `parse`: the chainpp::Error it raises as text (its type and message,
// and for a ContentFilterError the partial content and results), "" for none.
template <class Parse>
std::string error_of(Parse&& parse) {
  try {
    parse();
  } catch (const ContentFilterError& e) {
    return std::string("ContentFilterError: ") + e.what() + " | partial: " + e.partial_content() +
           " | results: " + e.filter_results().dump();
  } catch (const Error& e) {
    return std::string(typeid(e).name()) + ": " + e.what();
  }
  return "";
}

DecodeOutcome decode_outcome(StreamDecoder& d, const std::string& event, bool full) {
  DecodeOutcome out;
  out.error = error_of([&] { out.chunk = full ? d.decode_full(event) : d.decode(event); });
  return out;
}

}  // namespace

TEST_CASE("stream decoding: the scanner gives what the general parser gives, and falls back for the rest") {
  const std::string filters = safe_filters;
  struct Row {
    const char* name;
    std::string event;
    bool scanned;  // read by the scanner (else by decode_full)
  };
  const std::vector<Row> rows = {
      {"prompt filter results, no choices",
       R"({"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":)" +
           filters + "}]}",
       true},
      {"the first delta, with the role",
       R"({"choices":[{"content_filter_results":{},"delta":{"content":"","role":"assistant","refusal":null},"finish_reason":null,"index":0,"logprobs":null}],"created":1,"id":"c1","model":"gpt-4o","object":"chat.completion.chunk","system_fingerprint":"fp_1","usage":null})",
       true},
      {"content with filter results",
       R"({"choices":[{"content_filter_results":)" + filters +
           R"(,"delta":{"content":"J'adore"},"finish_reason":null,"index":0,"logprobs":null}],"created":1,"id":"c1","model":"gpt-4o","object":"chat.completion.chunk"})",
       true},
      {"the same filter results again (the scanner's copy)",
       R"({"choices":[{"content_filter_results":)" + filters +
           R"(,"delta":{"content":" la"},"finish_reason":null,"index":0,"logprobs":null}],"created":1,"id":"c1","model":"gpt-4o","object":"chat.completion.chunk"})",
       true},
      {"escapes in content", R"({"choices":[{"delta":{"content":"a\"b\\c\/\n\t\r\b\f \u00e9\u20ac\ud83d\ude00"}}],"model":"gpt-4o"})",
       true},
      {"UTF-8 in content and keys", "{\"choices\":[{\"delta\":{\"content\":\"Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80\"}}],\"m\xc3\xa9ta\":1}",
       true},
      {"whitespace everywhere", " {\n \"choices\" : [ { \"delta\" : { \"content\" : \"x\" } , \"finish_reason\" : null } ] ,\r\n\t\"model\" : \"gpt-4o\" } \n",
       true},
      {"another model, a refusal, integers and literals elsewhere",
       R"({"model":"gpt-4o-mini","x":[1,-2,0,-0,12e3,1.5E-2,true,false,null,{"a":[]}],"choices":[{"delta":{"refusal":"I can't"},"index":0}]})",
       true},
      {"tool-call deltas",
       R"({"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{\"tz\":"}}]}}]})",
       true},
      {"content null, delta null, choices null",
       R"({"choices":[{"delta":null},{"delta":{"content":5}}]})", true},
      {"choices null", R"({"choices":null,"model":"gpt-4o"})", true},
      {"an array as the first choice", R"({"choices":[[1],{"delta":{"content":"no"}}]})", true},
      {"usage", R"({"choices":[],"usage":{"completion_tokens":8,"prompt_tokens":31,"total_tokens":39,"completion_tokens_details":{"reasoning_tokens":0}}})",
       true},
      {"finish", R"({"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0}],"model":"gpt-4o"})",
       true},
      {"a repeated member the decoder does not read", R"({"id":"a","id":"b","choices":[{"delta":{"content":"k"}}]})", true},
      {"logprobs with fractions", R"({"choices":[{"delta":{"content":"a"},"logprobs":{"content":[{"token":"a","logprob":-0.25}]}}]})",
       false},
      {"a repeated content member: the last counts", R"({"choices":[{"delta":{"content":"first","content":"second"}}]})", false},
      {"NaN elsewhere", R"({"choices":[{"delta":{"content":"a"}}],"x":NaN})", false},
      {"a big integer in usage", R"({"choices":[],"usage":{"prompt_tokens":12345678901234567890}})", false},
      {"deep nesting elsewhere", R"({"x":)" + std::string(80, '[') + std::string(80, ']') + R"(,"choices":[{"delta":{"content":"d"}}]})",
       false},
      {"\\u0000 in content", R"({"choices":[{"delta":{"content":"a\u0000b"}}]})", false},
      {"text after a NUL byte", std::string(R"({"choices":[{"delta":{"content":"n"}}]})") + std::string(1, '\0') + "junk",
       false},
      {"an error event", R"({"error":{"code":"server_error","message":"The server had an error."}})", false},
      {"a null error member", R"({"error":null,"choices":[{"delta":{"content":"e"}}]})", false},
      {"truncated JSON", R"({"choices":[{"delta":{"content":"tru)", false},
      {"text after the object", R"({"choices":[]} {})", false},
      {"invalid UTF-8 in content", "{\"choices\":[{\"delta\":{\"content\":\"\xc3\x28\"}}]}", false},
      {"a lone surrogate escape", R"({"choices":[{"delta":{"content":"\ud83d"}}]})", false},
      {"a bad escape", R"({"choices":[{"delta":{"content":"\q"}}]})", false},
      {"a control character in a string", "{\"choices\":[{\"delta\":{\"content\":\"a\tb\"}}]}", false},
      {"a leading zero", R"({"choices":[],"created":012})", false},
      {"content of the wrong type", R"({"choices":[{"delta":{"content":["a"]}}]})", false},
      {"delta of the wrong type", R"({"choices":[{"delta":"text"}]})", false},
      {"choices of the wrong type", R"({"choices":{"delta":{}}})", false},
      {"not an object", R"(["choices"])", false},
      {"a negative token count", R"({"choices":[],"usage":{"prompt_tokens":-1}})", true},
      {"a bad tool-call index", R"({"choices":[{"delta":{"tool_calls":[{"index":-1}]}}]})", true},
      {"a filtered finish", R"({"choices":[{"delta":{},"finish_reason":"content_filter","content_filter_results":{"violence":{"filtered":true,"severity":"high"}}}]})",
       true},
      {"a name in the delta", R"({"choices":[{"delta":{"role":"assistant","name":"Bob","content":""}}]})", true},
      {"a name that is not a string", R"({"choices":[{"delta":{"name":["Bob"],"content":"n"}}]})", true},
  };
  StreamDecoder scanning(ResponseShape{"azure_openai", "2024-08-06", "req-7"});
  StreamDecoder full(ResponseShape{"azure_openai", "2024-08-06", "req-7"});
  std::size_t scanned = 0;
  for (const auto& row : rows) {
    INFO(row.name);
    const DecodeOutcome a = decode_outcome(scanning, row.event, false);
    const DecodeOutcome b = decode_outcome(full, row.event, true);
    CHECK(a.error == b.error);
    CHECK(a.chunk == b.chunk);
    if (row.scanned) ++scanned;
    CHECK(scanning.scanned_events() == scanned);
    CHECK(full.scanned_events() == 0);
  }
  // The scanner reads strings eight bytes at a time: a quote, an escape, a
  // control character or a byte beyond ASCII at every position of a word.
  const std::vector<std::pair<std::string, std::string>> specials = {
      {R"(\")", "\""}, {R"(\\)", "\\"}, {R"(\n)", "\n"}, {"\xc3\xa9", "\xc3\xa9"}, {"\x01", ""}, {"\xc3", ""}};
  for (std::size_t before = 0; before < 18; ++before) {
    for (const auto& [raw, decoded] : specials) {
      const std::string text = std::string(before, 'a') + raw + std::string(before % 11, 'b');
      const std::string event = R"({"choices":[{"delta":{"content":")" + text + R"("}}]})";
      INFO("content " << text);
      const DecodeOutcome a = decode_outcome(scanning, event, false);
      const DecodeOutcome b = decode_outcome(full, event, true);
      CHECK(a.error == b.error);
      CHECK(a.chunk == b.chunk);
      if (!decoded.empty()) {
        INFO(a.error);
        REQUIRE(a.chunk);
        CHECK(a.chunk->content == std::string(before, 'a') + decoded + std::string(before % 11, 'b'));
      } else {
        CHECK(!a.error.empty());
      }
    }
  }

  // Spot checks of what both gave.
  StreamDecoder d(ResponseShape{"azure_openai", "", ""});
  REQUIRE(d.decode(rows[4].event).content == "a\"b\\c/\n\t\r\b\f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  REQUIRE(d.decode(rows[5].event).content == "Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80");
  REQUIRE(d.decode(rows[16].event).content == "second");
  const AIMessageChunk c = d.decode(rows[2].event);
  REQUIRE(c.response_metadata.dump() ==
          R"({"model_name":"gpt-4o","content_filter_results":)" + filters + "}");
}

TEST_CASE("stream decoding: events read from the template of the event before give what the general parser gives") {
  // Consecutive chunks usually differ in their content only; each event here
  // is decoded by decode (template or scanner, else decode_full) and by decode_full.
  auto event = [](const std::string& content_token, const std::string& finish = "null",
                  const std::string& extra = "") {
    return R"({"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":)" +
           content_token + R"(},"finish_reason":)" + finish + R"(,"index":0}],"model":"gpt-4o",)" + extra +
           R"("system_fingerprint":"fp_7"})";
  };
  struct Row {
    const char* name;
    std::string event;
    const char* content;  // expected content, nullptr: an error
  };
  std::vector<Row> rows = {
      {"the first", event(R"("one")"), "one"},
      {"the same around the content", event(R"("two")"), "two"},
      {"escapes in the content", event(R"("t\"hree\u00e9\n")"), "t\"hree\xc3\xa9\n"},
      {"an empty content", event(R"("")"), ""},
      {"whitespace around the content token", event(R"( "four" )"), "four"},
      {"a token that is two members", event(R"("a","content":"b")"), "b"},
      {"a token that is not a string", event("null"), ""},
      {"a token that is a number", event("5"), nullptr},
      {"a control character in the content", event("\"a\x01\""), nullptr},
      {"invalid UTF-8 in the content", event("\"\xc3\""), nullptr},
      {"a token that ends the object early", event(R"("x"}]})"), nullptr},
      {"a different finish", event(R"("six")", R"("stop")"), "six"},
      {"back to no finish", event(R"("seven")"), "seven"},
      {"a filtered finish through the template", event(R"("eight")", R"("content_filter")"), nullptr},
  };
  for (int i = 0; i < 12; ++i)  // a field that changes in every chunk: no template fits
    rows.push_back({"a per-chunk field", event("\"n" + std::to_string(i) + "\"", "null",
                                               R"("obfuscation":")" + std::string(static_cast<std::size_t>(i), 'z') + R"(",)"),
                    "n"});
  StreamDecoder scanning(ResponseShape{"azure_openai", "", "req-8"});
  StreamDecoder full(ResponseShape{"azure_openai", "", "req-8"});
  for (const auto& row : rows) {
    INFO(row.name << ": " << row.event);
    const DecodeOutcome a = decode_outcome(scanning, row.event, false);
    const DecodeOutcome b = decode_outcome(full, row.event, true);
    CHECK(a.error == b.error);
    CHECK(a.chunk == b.chunk);
    if (!row.content) {
      CHECK(!a.error.empty());
    } else if (std::string(row.name) != "a per-chunk field") {
      REQUIRE(a.chunk);
      CHECK(a.chunk->content == row.content);
      CHECK(a.chunk->response_metadata.dump() ==
            std::string(R"({"model_name":"gpt-4o","system_fingerprint":"fp_7","content_filter_results":)") +
                R"({"hate":{"filtered":false,"severity":"safe"}})" +
                (std::string(row.name) == "a different finish" ? R"(,"finish_reason":"stop")" : "") + "}");
    }
  }
  // decode_full read the number, the control character, the invalid UTF-8, the early end and the repeated member.
  CHECK(scanning.scanned_events() == rows.size() - 5);
}

namespace {

// What parsing one completion gives: the message, or the error's type, message and partial content.
struct CompletionOutcome {
  std::optional<AIMessage> message;
  std::string error;
};

CompletionOutcome completion_outcome(const std::string& body, bool full) {
  const ResponseShape shape{"azure_openai", "2024-08-06", "req-5"};
  CompletionOutcome out;
  out.error = error_of([&] { out.message = full ? parse_completion_full(body, shape) : parse_completion(body, shape); });
  return out;
}

}  // namespace

TEST_CASE("completions: the scanner gives what the general parser gives") {
  auto body = [](const std::string& message, const std::string& rest = "", const std::string& choice_rest = "") {
    return R"({"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"finish_reason":"stop","index":0,"logprobs":null,"message":)" +
           message + choice_rest + R"(}],"created":1,"id":"chatcmpl-1","model":"gpt-4o","object":"chat.completion",)" +
           rest + R"("system_fingerprint":"fp_1","usage":{"completion_tokens":8,"prompt_tokens":31,"total_tokens":39}})";
  };
  auto with = [](std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  const std::vector<std::string> bodies = {
      seed_response,
      body(R"({"content":"J'adore la programmation.","role":"assistant"})"),
      body(R"({"content":"a\"b\\c\n\u00e9\ud83d\ude00 Gr)" "\xc3\xbc\xc3\x9f" R"(e","role":"assistant"})"),
      body(R"({"content":null,"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","function":{"name":"t","arguments":{"a":[1,2]}}},{"id":"call_3","function":{"name":"bad","arguments":"{oops"}}]})"),
      body(R"({"content":null,"tool_calls":[{"id":"call_1"}]})"),
      body(R"({"content":null,"tool_calls":[5]})"),
      body(R"({"content":null,"refusal":"I can't help with that."})"),
      body(R"({"content":"x"})", R"("prompt_filter_results":"odd",)"),
      body(R"({"content":"x"})", "", R"(,"extra":[1,{"b":null}])"),
      with(body(R"({"content":"cut"})", "", ""), R"("finish_reason":"stop")", R"("finish_reason":"content_filter")"),
      with(body(R"({"content":"x"})"), R"("logprobs":null)", R"("logprobs":{"content":[{"token":"x","logprob":-0.5}]})"),
      with(body(R"({"content":"x"})"), R"("logprobs":null)", R"("logprobs":{"content":null,"n":3})"),
      with(body(R"({"content":"x"})"), R"("total_tokens":39)", R"("total_tokens":-39)"),
      with(body(R"({"content":"x"})"), R"("total_tokens":39)", R"("total_tokens":39.5)"),
      with(body(R"({"content":"x"})"), R"("model":"gpt-4o")", R"("model":7)"),
      with(body(R"({"content":"x"})"), R"({"choices":[)", R"({"choices":[],"choices":[)"),
      body(R"({"content":5})"),
      body(R"({"content":"x","tool_calls":{"a":1}})"),
      body(R"("text")"),
      R"({"choices":[{"finish_reason":"stop"}]})",
      R"({"choices":[]})",
      R"({"choices":null})",
      R"({"choices":{"message":{}}})",
      R"({"model":"gpt-4o"})",
      R"([1])",
      R"({"choices":[{"message":{"content":"x"}}]} trailing)",
      R"({"choices":[{"message":{"content":"tru)",
      "{\"choices\":[{\"message\":{\"content\":\"\xc3\x28\"}}]}",
      R"({"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":NaN}})",
      body(R"({"content":"x","role":"assistant","name":"Bob"})"),
      body(R"({"content":"x","name":{"first":"Bob"}})"),
  };
  for (const auto& b : bodies) {
    INFO(b);
    const CompletionOutcome fast = completion_outcome(b, false);
    const CompletionOutcome full = completion_outcome(b, true);
    CHECK(fast.error == full.error);
    CHECK(fast.message == full.message);
  }
  // Spot checks of what both gave.
  const ResponseShape shape{"azure_openai", "", ""};
  CHECK(parse_completion(bodies[2], shape).text() == "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80 Gr\xc3\xbc\xc3\x9f" "e");
  const AIMessage calls = parse_completion(bodies[3], shape);
  CHECK(calls.tool_calls == std::vector<ToolCall>{ToolCall{"get_weather", Json{{"city", "Paris"}}, "call_1"},
                                                  ToolCall{"t", Json{{"a", Json::array({1, 2})}}, "call_2"}});
  REQUIRE(calls.invalid_tool_calls.size() == 1);
  CHECK(calls.invalid_tool_calls[0].args == "{oops");
}
