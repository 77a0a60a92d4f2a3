#include <chainpp/sse.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using chainpp::SseEvent;
using chainpp::SseParser;

namespace {

std::vector<SseEvent> drain(SseParser& p) {
  std::vector<SseEvent> out;
  while (auto e = p.next()) out.push_back(std::move(*e));
  return out;
}

std::vector<SseEvent> parse_whole(std::string_view text, bool* complete = nullptr) {
  SseParser p;
  p.feed(text);
  const bool ok = p.finish();
  if (complete) *complete = ok;
  return drain(p);
}

std::vector<SseEvent> parse_bytewise(std::string_view text, bool* complete = nullptr) {
  SseParser p;
  std::vector<SseEvent> out;
  for (char c : text) {
    p.feed(std::string_view(&c, 1));
    for (auto& e : drain(p)) out.push_back(std::move(e));
  }
  const bool ok = p.finish();
  if (complete) *complete = ok;
  for (auto& e : drain(p)) out.push_back(std::move(e));
  return out;
}

void require_same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].event == b[i].event);
    CHECK(a[i].data == b[i].data);
    CHECK(a[i].id == b[i].id);
  }
}

// Azure's stream for "J'adore la programmation." in the wire format.
const std::string kAzureStream =
    "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"\",\"role\":\"assistant\"},\"index\":0}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"J'adore\"},\"index\":0}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" la programmation.\"},\"index\":0}]}\n\n"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"index\":0}]}\n\n"
    "data: [DONE]\n\n";

}  // namespace

TEST_CASE("an Azure stream parses into its chunks and ends with [DONE]") {
  bool complete = false;
  const auto events = parse_whole(kAzureStream, &complete);
  REQUIRE(complete);
  REQUIRE(events.size() == 5);
  CHECK(events[0].data ==
        "{\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[]}");
  CHECK(events[2].data == "{\"choices\":[{\"delta\":{\"content\":\"J'adore\"},\"index\":0}]}");
  CHECK(events[4].data == "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"index\":0}]}");
  CHECK(events[0].event == "message");
  CHECK(events[0].id.empty());
}

TEST_CASE("feeding a byte at a time gives the same events as feeding at once") {
  const std::string mixed =
      "\xEF\xBB\xBF: a comment\r\n"
      "event: delta\r\n"
      "id: 7\r\n"
      "retry: 1500\r\n"
      "data: first\r\n"
      "data:second\r\n"
      "\r\n"
      "data: cr only\r"
      "\r"
      "data\n"
      "\n"
      "id: 8\n"
      "data: {\"x\": \"a:b\"}\n\n"
      "data: [DONE]\n\n";
  bool c1 = false, c2 = false;
  const auto whole = parse_whole(mixed, &c1);
  const auto bytes = parse_bytewise(mixed, &c2);
  REQUIRE(c1);
  REQUIRE(c2);
  require_same(whole, bytes);
  REQUIRE(whole.size() == 4);
  CHECK(whole[0].event == "delta");
  CHECK(whole[0].id == "7");
  CHECK(whole[0].data == "first\nsecond");
  CHECK(whole[1].event == "message");
  CHECK(whole[1].id == "7");
  CHECK(whole[1].data == "cr only");
  CHECK(whole[2].data == "");
  CHECK(whole[3].id == "8");
  CHECK(whole[3].data == "{\"x\": \"a:b\"}");

  require_same(parse_whole(kAzureStream), parse_bytewise(kAzureStream));
}

TEST_CASE("every split point of a CRLF stream gives the same events") {
  const std::string text = "data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\ndata: [DONE]\r\n\r\n";
  const auto expected = parse_whole(text);
  REQUIRE(expected.size() == 2);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    SseParser p;
    p.feed(std::string_view(text).substr(0, cut));
    p.feed(std::string_view(text).substr(cut));
    REQUIRE(p.finish());
    require_same(drain(p), expected);
  }
}

TEST_CASE("retry field keeps the last valid integer and ignores invalid ones") {
  SseParser p;
  p.feed("retry: 3000\n\nretry: 12x\n\nretry:\n\n");
  REQUIRE(p.retry_ms() == 3000L);
  CHECK(p.pending() == 0);
}

TEST_CASE("comments, unknown fields and a field without a colon") {
  const auto events = parse_whole(": keep-alive\nfoo: bar\ndata\ndata: x\n\n:\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "\nx");
}

TEST_CASE("a blank line with no data dispatches nothing and resets the event type") {
  const auto events = parse_whole("event: ping\n\ndata: x\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].event == "message");
  CHECK(events[0].data == "x");
}

TEST_CASE("only one leading space of a value is removed") {
  const auto events = parse_whole("data:  two spaces\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == " two spaces");
}

TEST_CASE("a stream without [DONE] is truncated and keeps what arrived") {
  SseParser p;
  p.feed("data: one\n\ndata: two\n\ndata: incompl");
  CHECK_FALSE(p.done());
  CHECK_FALSE(p.finish());
  CHECK(p.truncated());
  const auto events = drain(p);
  REQUIRE(events.size() == 2);
  CHECK(events[0].data == "one");
  CHECK(events[1].data == "two");
}

TEST_CASE("a final [DONE] without its blank line still completes the stream") {
  SseParser p;
  p.feed("data: one\n\ndata: [DONE]");
  CHECK(p.finish());
  CHECK_FALSE(p.truncated());
  REQUIRE(p.pending() == 1);
}

TEST_CASE("bytes after [DONE] are ignored") {
  SseParser p;
  p.feed("data: one\n\ndata: [DONE]\n\ndata: after\n\n");
  CHECK(p.done());
  const auto events = drain(p);
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "one");
}

TEST_CASE("a partial BOM is kept as data") {
  const auto events = parse_whole("\xEF\xBB" "data: x\n\n" "data: y\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "y");  // "\xEF\xBBdata" is an unknown field name
}

TEST_CASE("a line or an event up to max_event_bytes is parsed, one byte more stops the parser") {
  SseParser p(12);
  p.feed("data: 123456\n");  // a line of 12 bytes
  p.feed("data: 123456\n\n");  // an event of 13 bytes of data ("123456\n123456"): too long
  CHECK(p.exceeded() == std::string_view("event"));
  CHECK(p.pending() == 0);
  p.feed("data: x\n\n");  // ignored from then on
  CHECK(p.pending() == 0);

  SseParser whole(12);
  whole.feed("data: 12345\n\ndata: 123456\n\n");
  CHECK(whole.exceeded() == nullptr);
  const auto events = drain(whole);
  REQUIRE(events.size() == 2);
  CHECK(events[1].data == "123456");
}

TEST_CASE("a line longer than max_event_bytes stops the parser, whole or in pieces") {
  SseParser whole(12);
  whole.feed("data: 1234567\n\n");
  CHECK(whole.exceeded() == std::string_view("line"));
  SseParser bytewise(12);
  for (const char c : std::string_view("data: 1234567")) bytewise.feed(std::string_view(&c, 1));
  CHECK(bytewise.exceeded() == std::string_view("line"));
  SseParser comment(12);
  comment.feed(": a comment of many bytes");
  CHECK(comment.exceeded() == std::string_view("line"));
  CHECK(SseParser().exceeded() == nullptr);
}
