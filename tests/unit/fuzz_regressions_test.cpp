// Inputs found by the fuzz targets of tests/fuzz, kept as regression tests.
// Each names the target that found it. Tests tagged [.fuzz-open] are hidden
// (not run by ctest) until the bug they show is fixed in its owner's file;
// remove the tag with the fix.
#include <chainpp/errors.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/sse.hpp>

#include <openai_wire.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

using chainpp::Json;

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

chainpp::openai_wire::ResponseShape shape() { return {"azure_openai", "", "req-1"}; }

}  // namespace

// sse_fuzz: an all-digit `retry:` longer than a long overflowed the reconnection
// time (signed overflow: undefined behaviour, a UBSan report).
TEST_CASE("sse: a retry value too large for a long is ignored", "[fuzz][.fuzz-open]") {
  chainpp::SseParser p;
  p.feed("retry: 1500\n\nretry: 99999999999999999999\n\n");
  p.feed("retry: 9223372036854775808\n\n");
  REQUIRE(p.retry_ms() == 1500);
  p.feed("retry: 9223372036854775807\n\n");
  REQUIRE(p.retry_ms() == kMax);
}

// completion_fuzz: total_tokens absent, computed as prompt + completion tokens,
// overflowed for huge counts.
TEST_CASE("completion: huge token counts do not overflow the computed total", "[fuzz][.fuzz-open]") {
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
TEST_CASE("stream: merging huge usage counts does not overflow", "[fuzz][.fuzz-open]") {
  chainpp::UsageMetadata a;
  a.input_tokens = a.output_tokens = a.total_tokens = kMax;
  chainpp::UsageMetadata b = a;
  a += b;
  CHECK(a.input_tokens == kMax);
  CHECK(a.total_tokens == kMax);
}

// json_fuzz: nesting depth was unbounded; a deep array overflowed the stack
// (RapidJSON's recursive reader, then Json's recursive destructor).
TEST_CASE("json: nesting deeper than the limit is a JsonError, not a stack overflow", "[fuzz][.fuzz-open]") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  REQUIRE_THROWS_AS(Json::parse(deep), chainpp::JsonError);
  const std::string ok = std::string(100, '[') + std::string(100, ']');
  REQUIRE(Json::parse(ok).is_array());
}

// The same input reaches Json::parse from every wire parser.
TEST_CASE("wire: a deeply nested response is a BadResponseError", "[fuzz][.fuzz-open]") {
  const std::string deep = R"({"choices":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  REQUIRE_THROWS_AS(chainpp::openai_wire::parse_completion(deep, shape()), chainpp::BadResponseError);
  chainpp::openai_wire::StreamDecoder decoder(shape());
  REQUIRE_THROWS_AS(decoder.decode(deep), chainpp::BadResponseError);
}
