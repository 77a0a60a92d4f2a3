#pragma once
// What the response readers (completion.cpp, stream_decoder.cpp) share:
// errors raised while reading a response, the general path's parse, usage
// and content-filter results, and the scanner's member loop. Private to
// openai_wire: the plugins include openai_wire.hpp only.
#include "json_scan.hpp"
#include "openai_wire.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace chainpp::openai_wire {

/// The error details of a response read for `shape` (its HTTP status and request id).
ProviderErrorInfo info_for(const ResponseShape& shape);

/// Throws BadResponseError "<provider>: malformed response: <what>" (with the request id).
[[noreturn]] void bad_response(const ResponseShape& shape, const std::string& what);

/// The general path's one reading of a body: Json::parse, its error message
/// in a BadResponseError for malformed text.
Json parse_json(std::string_view body, const ResponseShape& shape);

/// Throws "<what> is <type>, expected <expected>" unless `v` is absent, null or of `type`.
void expect_type(const ResponseShape& shape, const Json* v, Json::Type type, const std::string& what,
                 const char* expected);

/// The text of `v` when it is a string.
std::optional<std::string_view> string_view_of(const Json* v);

/// Throws ContentFilterError for a completion the filter cut, naming the
/// filtered categories of `results` and carrying `partial`, the content so far.
[[noreturn]] void filtered_completion(const ResponseShape& shape, const Json& results, std::string partial);

/// Throws BadResponseError "<what> is -1, expected a non-negative integer"
/// unless `count` is absent, null or a non-negative integer.
void check_count(const ResponseShape& shape, const Json* count, const std::string& what);

/// Throws BadResponseError unless every token count of `usage` is a
/// non-negative integer (or null/absent).
void check_usage(const ResponseShape& shape, const Json& usage);

/// usage_metadata from a usage object (total computed, saturating, when absent).
UsageMetadata usage_from(const Json& usage);

/// LangChain's token_usage: the three counts, then the detail objects when present.
Json token_usage_from(const Json& usage);

/// Reads a string into `out` (a view of the text or of the scanner's storage).
inline bool scan_string(JsonScan& s, std::optional<std::string_view>& out) {
  std::string_view v;
  if (!s.string(v)) return false;
  out = v;
  return true;
}

/// The members of an object, each of `names` at most once (a repeated one:
/// false: the general parser takes the last); on_member(i, next byte) reads
/// names[i]'s value, other members are skipped.
template <std::size_t N, class OnMember>
bool scan_members(JsonScan& s, const std::array<std::string_view, N>& names, OnMember on_member) {
  if (!s.consume('{')) return false;
  if (s.consume('}')) return true;
  std::array<bool, N> seen{};
  do {
    std::string_view k;
    if (!s.key(k)) return false;
    std::size_t i = 0;
    while (i < N && names[i] != k) ++i;
    if (i == N) {
      if (!s.skip()) return false;
      continue;
    }
    if (seen[i]) return false;
    seen[i] = true;
    if (!on_member(i, s.peek())) return false;
  } while (s.consume(','));
  return s.consume('}');
}

}  // namespace chainpp::openai_wire
