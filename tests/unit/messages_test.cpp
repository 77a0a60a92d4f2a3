#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/runnable.hpp>
#include <chainpp/value.hpp>

#include <cstdio>
#include <fstream>

using namespace chainpp;

TEST_CASE("(role, content) pairs become typed messages as on the seed page") {
  Messages m = messages_from_pairs({{"system", "You translate."}, {"human", "I love programming."},
                                    {"user", "u"}, {"ai", "a"}, {"assistant", "b"}, {"tool", "t"}});
  REQUIRE(m.size() == 6);
  REQUIRE(m[0].role == Role::system);
  REQUIRE(m[0].text() == "You translate.");
  REQUIRE(m[1].role == Role::human);
  REQUIRE(m[2].role == Role::human);
  REQUIRE(m[3].role == Role::ai);
  REQUIRE(m[4].role == Role::ai);
  REQUIRE(m[5].role == Role::tool);
}

TEST_CASE("an unknown role is an error listing the accepted ones") {
  REQUIRE_THROWS_WITH(message_from_pair("robot", "x"),
                      "unknown message role 'robot'; expected one of: system, human, user, ai, assistant, tool");
}

TEST_CASE("content parts: text is concatenated, images carry url and detail") {
  HumanMessage m(std::vector<ContentPart>{ContentPart::text_part("Describe "), ContentPart::text_part("this"),
                                          ContentPart::image_part("https://x/y.png", "low")});
  REQUIRE(m.text() == "Describe this");
  REQUIRE(m.to_json().dump() ==
          R"({"type":"human","content":[{"type":"text","text":"Describe "},{"type":"text","text":"this"},)"
          R"({"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]})");
}

TEST_CASE("AIMessage serialises like LangChain's") {
  AIMessage m("J'adore la programmation.");
  m.id = "run-1-0";
  m.response_metadata = Json{{"finish_reason", "stop"}};
  m.usage_metadata = UsageMetadata{31, 8, 39, std::nullopt, std::nullopt};
  REQUIRE(m.to_json().dump() ==
          R"({"type":"ai","content":"J'adore la programmation.","id":"run-1-0","response_metadata":{"finish_reason":"stop"},)"
          R"("usage_metadata":{"input_tokens":31,"output_tokens":8,"total_tokens":39},"tool_calls":[]})");
}

TEST_CASE("usage details appear only when present and sum when merged") {
  UsageMetadata a{10, 5, 15, 4, std::nullopt};
  UsageMetadata b{1, 2, 3, std::nullopt, 7};
  UsageMetadata s = a + b;
  REQUIRE(s == UsageMetadata{11, 7, 18, 4, 7});
  REQUIRE(s.to_json().dump() ==
          R"({"input_tokens":11,"output_tokens":7,"total_tokens":18,"input_token_details":{"cache_read":4},"output_token_details":{"reasoning":7}})");
}

namespace {
AIMessageChunk chunk_with_id(std::string id) {
  AIMessageChunk c;
  c.id = std::move(id);
  return c;
}
// The id of the chunks with these ids merged with +, += and merge_into.
std::string merged_id(const std::vector<std::string>& ids) {
  AIMessageChunk plus;
  for (const auto& id : ids) plus = plus + chunk_with_id(id);
  AIMessageChunk in_place;
  for (const auto& id : ids) in_place += chunk_with_id(id);
  Value merged(chunk_with_id(ids.at(0)));
  for (std::size_t i = 1; i < ids.size(); ++i) merge_into(merged, Value(chunk_with_id(ids[i])));
  CHECK(plus.id == in_place.id);
  CHECK(merged.as_chunk().id == in_place.id);
  return in_place.id;
}
}  // namespace

TEST_CASE("merged chunk ids: the first provider id, else the first run- id (LangChain's add_ai_message_chunks)") {
  CHECK(merged_id({"run-a-0", "chatcmpl-1"}) == "chatcmpl-1");  // left run-, right provider
  CHECK(merged_id({"chatcmpl-1", "run-a-0"}) == "chatcmpl-1");  // left provider, right run-
  CHECK(merged_id({"run-a-0", "run-b-0"}) == "run-a-0");        // both run-: the first
  CHECK(merged_id({"chatcmpl-1", "chatcmpl-2"}) == "chatcmpl-1");  // both provider: the first
  CHECK(merged_id({"", "run-b-0"}) == "run-b-0");                // empty ids are skipped
  CHECK(merged_id({"run-a-0", ""}) == "run-a-0");
  CHECK(merged_id({"", "chatcmpl-2"}) == "chatcmpl-2");
  CHECK(merged_id({"", ""}) == "");
  CHECK(merged_id({"run-a-0", "run-b-0", "chatcmpl-3", "chatcmpl-4"}) == "chatcmpl-3");
  CHECK(merged_id({"run-a-0", "", "run-b-0"}) == "run-a-0");
  CHECK(merged_id({"xrun-1", "run-b-0"}) == "xrun-1");  // only the prefix marks a run id
}

TEST_CASE("a chunk's name: the first set one is kept and reaches the message") {
  AIMessageChunk a;
  AIMessageChunk b;
  b.name = "Bob";
  AIMessageChunk c;
  c.name = "Carol";
  const AIMessageChunk m = a + b + c;
  CHECK(m.name == "Bob");
  CHECK(m.to_message().name == "Bob");
  CHECK(AIMessageChunk{}.to_message().name.empty());
}

TEST_CASE("AIMessageChunk + concatenates content, merges tool-call chunks by index, sums usage") {
  AIMessageChunk a;
  a.content = "Hel";
  a.id = "run-x-0";
  a.tool_call_chunks = {ToolCallChunk{"get_weather", "{\"ci", "call_1", 0}};
  a.response_metadata = Json{{"model_name", "gpt-4o"}};
  AIMessageChunk b;
  b.content = "lo";
  b.tool_call_chunks = {ToolCallChunk{std::nullopt, "ty\":\"Paris\"}", std::nullopt, 0},
                        ToolCallChunk{"get_time", "{}", "call_2", 1}};
  b.usage_metadata = UsageMetadata{3, 0, 3, std::nullopt, std::nullopt};
  AIMessageChunk c;
  c.response_metadata = Json{{"finish_reason", "tool_calls"}, {"model_name", "gpt-4o"}};
  c.usage_metadata = UsageMetadata{0, 5, 5, std::nullopt, std::nullopt};

  AIMessageChunk m = a + b + c;
  REQUIRE(m.content == "Hello");
  REQUIRE(m.id == "run-x-0");
  REQUIRE(m.tool_call_chunks.size() == 2);
  REQUIRE(m.tool_call_chunks[0] == ToolCallChunk{"get_weather", "{\"city\":\"Paris\"}", "call_1", 0});
  REQUIRE(m.tool_call_chunks[1] == ToolCallChunk{"get_time", "{}", "call_2", 1});
  REQUIRE(m.usage_metadata == UsageMetadata{3, 5, 8, std::nullopt, std::nullopt});
  REQUIRE(m.response_metadata == Json{{"model_name", "gpt-4o"}, {"finish_reason", "tool_calls"}});

  AIMessage done = m.to_message();
  REQUIRE(done.text() == "Hello");
  REQUIRE(done.tool_calls.size() == 2);
  REQUIRE(done.tool_calls[0] == ToolCall{"get_weather", Json{{"city", "Paris"}}, "call_1"});
  REQUIRE(done.tool_calls[1] == ToolCall{"get_time", Json::object(), "call_2"});
  REQUIRE(done.invalid_tool_calls.empty());
}

TEST_CASE("tool-call arguments that are not a JSON object become invalid_tool_calls with the raw text") {
  AIMessageChunk c;
  c.tool_call_chunks = {ToolCallChunk{"f", "{\"a\": 1", "call_9", 0}, ToolCallChunk{"g", "[1]", "call_8", 1}};
  AIMessage m = c.to_message();
  REQUIRE(m.tool_calls.empty());
  REQUIRE(m.invalid_tool_calls.size() == 2);
  REQUIRE(m.invalid_tool_calls[0] ==
          InvalidToolCall{"f", "{\"a\": 1", "call_9", "invalid JSON at offset 7: Missing a comma or '}' after an object member."});
  REQUIRE(m.invalid_tool_calls[1] == InvalidToolCall{"g", "[1]", "call_8", "arguments are a JSON array, expected an object"});
}

TEST_CASE("metadata merge: nested objects merge, arrays append, null is filled") {
  Json into{{"a", nullptr}, {"filters", Json::array({1})}, {"nested", Json{{"x", 1}}}};
  merge_metadata(into, Json{{"a", "v"}, {"filters", Json::array({2})}, {"nested", Json{{"y", 2}}}});
  REQUIRE(into == Json{{"a", "v"}, {"filters", Json::array({1, 2})}, {"nested", Json{{"x", 1}, {"y", 2}}}});
}

TEST_CASE("image_data_uri builds a data URI with the MIME type, or names the bad file") {
  std::string path = "/tmp/chainpp_messages_test.png";
  {
    std::ofstream f(path, std::ios::binary);
    f << "\x89PNG";
  }
  REQUIRE(image_data_uri(path) == "data:image/png;base64,iVBORw==");
  std::remove(path.c_str());
  REQUIRE_THROWS_WITH(image_data_uri(path),
                      "image file '/tmp/chainpp_messages_test.png': cannot be opened (missing or unreadable)");
  REQUIRE_THROWS_WITH(image_data_uri("/tmp/x.bmp"),
                      "image file '/tmp/x.bmp': unknown image type 'bmp' (expected .png, .jpg, .jpeg, .gif or .webp)");
}
