// Inputs found by the fuzz targets of tests/fuzz, kept as regression tests.
// Each names the target that found it and fails without its fix.
#include <chainpp/errors.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/sse.hpp>

#include <openai_wire.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using chainpp::Json;

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

chainpp::openai_wire::ResponseShape shape() { return {"azure_openai", "", "req-1"}; }

struct Parsed {
  std::vector<chainpp::SseEvent> events;
  bool complete = false;
};

Parsed parse_in_pieces(std::string_view bytes, std::size_t piece) {
  chainpp::SseParser p;
  for (std::size_t at = 0; at < bytes.size(); at += piece) p.feed(bytes.substr(at, piece));
  Parsed out;
  out.complete = p.finish();
  while (auto e = p.next()) out.events.push_back(std::move(*e));
  return out;
}

}  // namespace

// sse_fuzz's property (the same events whatever the split) on the inputs that
// exercise carried-over state: a BOM, CR at the end of a piece, [DONE] without
// its blank line.
TEST_CASE("sse: every split of a stream gives the same events", "[fuzz]") {
  const std::string stream =
      "\xEF\xBB\xBF: hi\r\nevent: delta\rid: 7\r\ndata: a\r\rdata:b\n\ndata: {\"x\":1}\r\n\r\ndata: [DONE]";
  const Parsed whole = parse_in_pieces(stream, stream.size());
  REQUIRE(whole.complete);
  REQUIRE(whole.events.size() == 3);
  CHECK(whole.events[0].event == "delta");
  CHECK(whole.events[0].data == "a");
  CHECK(whole.events[0].id == "7");
  CHECK(whole.events[1].data == "b");
  CHECK(whole.events[2].data == R"({"x":1})");
  for (std::size_t piece = 1; piece < 8; ++piece) {
    const Parsed split = parse_in_pieces(stream, piece);
    INFO("piece size " << piece);
    CHECK(split.complete == whole.complete);
    REQUIRE(split.events.size() == whole.events.size());
    for (std::size_t i = 0; i < whole.events.size(); ++i) {
      CHECK(split.events[i].event == whole.events[i].event);
      CHECK(split.events[i].data == whole.events[i].data);
      CHECK(split.events[i].id == whole.events[i].id);
    }
  }
}

// sse_fuzz: an all-digit `retry:` longer than a long overflowed the reconnection
// time (signed overflow: undefined behaviour, a UBSan report).
TEST_CASE("sse: a retry value too large for a long is ignored", "[fuzz]") {
  chainpp::SseParser p;
  p.feed("retry: 1500\n\nretry: 99999999999999999999\n\n");
  p.feed("retry: 9223372036854775808\n\n");
  REQUIRE(p.retry_ms() == 1500);
  p.feed("retry: 9223372036854775807\n\n");
  REQUIRE(p.retry_ms() == kMax);
}

// completion_fuzz: total_tokens absent, computed as prompt + completion tokens,
// overflowed for huge counts.
TEST_CASE("completion: huge token counts do not overflow the computed total", "[fuzz]") {
  const std::string body =
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":9223372036854775807,"completion_tokens":1}})";
  try {
    const auto m = chainpp::openai_wire::parse_completion(body, shape());
    REQUIRE(m.usage_metadata);
    CHECK(m.usage_metadata->total_tokens >= m.usage_metadata->input_tokens);  // saturated, not wrapped
  } catch (const chainpp::BadResponseError&) {
    // rejecting the counts is as good
  }
}

// stream_chunk_fuzz: two usage chunks whose counts add past INT64_MAX when the
// chunks merge (UsageMetadata::operator+=).
TEST_CASE("stream: merging huge usage counts does not overflow", "[fuzz]") {
  chainpp::UsageMetadata a;
  a.input_tokens = a.output_tokens = a.total_tokens = kMax;
  chainpp::UsageMetadata b = a;
  a += b;
  CHECK(a.input_tokens == kMax);
  CHECK(a.total_tokens == kMax);
}

// stream_chunk_fuzz: a number the scanner skips (here "created") that is too
// large for a double was accepted by the scanner and refused by Json::parse,
// so decode and decode_full disagreed; now both refuse it with Json::parse's error.
TEST_CASE("wire: a skipped number past a double's range is refused by both paths", "[fuzz]") {
  for (const char* created : {"17e19505036", "1e400", "-1E+309"}) {
    INFO(created);
    const std::string event = std::string(R"({"choices":[],"created":)") + created + R"(,"id":"","model":""})";
    chainpp::openai_wire::StreamDecoder fast(shape()), full(shape());
    std::string fast_error, full_error;
    try {
      fast.decode(event);
    } catch (const chainpp::BadResponseError& e) {
      fast_error = e.what();
    }
    try {
      full.decode_full(event);
    } catch (const chainpp::BadResponseError& e) {
      full_error = e.what();
    }
    REQUIRE_FALSE(full_error.empty());
    CHECK(fast_error == full_error);
    const std::string body = std::string(R"({"choices":[{"index":0,"message":{"role":"assistant","content":"x"}}],)") +
                             R"("created":)" + created + "}";
    REQUIRE_THROWS_AS(chainpp::openai_wire::parse_completion(body, shape()), chainpp::BadResponseError);
  }
  chainpp::openai_wire::StreamDecoder decoder(shape());
  CHECK(decoder.decode(R"({"choices":[],"created":1e300,"id":"","model":""})").content.empty());  // in range
}

// json_fuzz: nesting depth was unbounded; a deep array overflowed the stack
// (RapidJSON's recursive reader, then Json's recursive destructor).
TEST_CASE("json: nesting deeper than the limit is a JsonError and no stack overflow", "[fuzz]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  REQUIRE_THROWS_AS(Json::parse(deep), chainpp::JsonError);
  const std::string ok = std::string(100, '[') + std::string(100, ']');
  REQUIRE(Json::parse(ok).is_array());
}

// The same input reaches Json::parse from every wire parser.
TEST_CASE("wire: a deeply nested response is a BadResponseError", "[fuzz]") {
  const std::string deep = R"({"choices":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  REQUIRE_THROWS_AS(chainpp::openai_wire::parse_completion(deep, shape()), chainpp::BadResponseError);
  chainpp::openai_wire::StreamDecoder decoder(shape());
  REQUIRE_THROWS_AS(decoder.decode(deep), chainpp::BadResponseError);
}

// json_fuzz, tool_args_fuzz: RapidJSON 1.1.0's full-precision number path
// (kParseFullPrecisionFlag) calls clz(0) for a zero with an exponent (undefined;
// Tencent/rapidjson#1249) and misreads long mantissas (Tencent/rapidjson#2326):
// "0e100" parsed as 1.9e81, "0.184467440737095516159" as 1.5e-39.
TEST_CASE("json: numbers with a zero mantissa or many digits parse to their value", "[fuzz]") {
  CHECK(Json::parse("0e100").as_double() == 0.0);
  CHECK(Json::parse("0e55").as_double() == 0.0);
  CHECK(Json::parse("[0E+9]")[0].as_double() == 0.0);
  CHECK(Json::parse("0.184467440737095516159").as_double() == Approx(0.18446744073709552));
  std::vector<chainpp::ToolCall> calls;
  std::vector<chainpp::InvalidToolCall> invalid;
  chainpp::parse_tool_call("f", R"({"x": 0e55})", "call_1", calls, invalid);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].args.at("x").as_double() == 0.0);
}

// json_fuzz: RapidJSON's default number path rounds some doubles inexactly, so
// parse(dump(v)) differed from v; numbers are now converted exactly.
TEST_CASE("json: numbers round-trip through dump and parse", "[fuzz]") {
  const std::string text = "[0, -0, 1e308, 8, 184467440737095516300, 9223372036854775807, -9223372036854073894, "
                           "1844674, 0.1, 2.2250738585072014e-308, 1e-400]";
  const Json v = Json::parse(text);
  REQUIRE(Json::parse(v.dump()).dump() == v.dump());
  REQUIRE(v.dump() ==
          "[0,0,1e308,8,184467440737095500000.0,9223372036854775807,-9223372036854073894,1844674,0.1,"
          "2.2250738585072014e-308,0.0]");
  REQUIRE_THROWS_WITH(Json::parse("1e400"), "invalid JSON at offset 0: Number too big to be stored in double.");
  REQUIRE(Json::parse("18446744073709551616").as_double() == 18446744073709551616.0);
  REQUIRE_THROWS_AS(Json::parse("1e"), chainpp::JsonError);
}

TEST_CASE("json: a lone surrogate escape is an error, so every parsed string dumps as UTF-8", "[fuzz]") {
  // Found by json_fuzz: RapidJSON 1.1 decoded "\ude00" alone into bytes that
  // are not UTF-8, which dump() wrote out and parse() then refused.
  REQUIRE_THROWS_WITH(Json::parse(R"({"b":"\ud33d\ude00"})"),
                      "invalid JSON at offset 19: a \\u escape is a lone UTF-16 surrogate");
  REQUIRE_THROWS_WITH(Json::parse(R"({"\udc00":1})"), "invalid JSON at offset 9: a \\u escape is a lone UTF-16 surrogate");
  REQUIRE_THROWS_WITH(Json::parse(R"(["\ud800"])"),
                      "invalid JSON at offset 2: The surrogate pair in string is invalid.");
  const Json pair = Json::parse(R"(["\ud83d\ude00", "\ud33d"])");  // a pair, and a code point below the surrogates
  REQUIRE(pair.dump() == "[\"\xF0\x9F\x98\x80\",\"\xED\x8C\xBD\"]");
  REQUIRE(Json::parse(pair.dump()).dump() == pair.dump());
}
