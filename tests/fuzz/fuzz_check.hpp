#pragma once
// Shared helpers of the fuzz targets.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace chainpp::fuzz {

/// A property violation: abort with a message (libFuzzer saves the input).
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

/// Inputs that hit a bug already found, reported and kept as a hidden test in
/// tests/unit/fuzz_regressions_test.cpp ([.fuzz-open]), are skipped so that a
/// run keeps looking for new ones. Remove a clause with the fix of its bug;
/// CHAINPP_FUZZ_KNOWN_BUGS=1 in the environment turns the filter off.
struct KnownBugs {
  bool long_numbers = false;  ///< 19+ digit numbers overflow int64 arithmetic (SSE retry, token counts)
  bool deep_nesting = false;  ///< JSON nested beyond ~1000 levels overflows the stack
  /// Numbers RapidJSON 1.1.0 reads through its full-precision path (an exponent or
  /// 16+ digits): "0e100" hits clz(0), undefined, and parses to garbage.
  bool full_precision_numbers = false;
};

/// Every known bug a JSON text can reach.
inline constexpr KnownBugs kJsonBugs{.long_numbers = true, .deep_nesting = true, .full_precision_numbers = true};

inline bool hits_known_bug(std::string_view input, KnownBugs bugs) {
  static const bool disabled = std::getenv("CHAINPP_FUZZ_KNOWN_BUGS") != nullptr;
  if (disabled) return false;
  std::size_t digits = 0;
  std::size_t opens = 0;
  char previous = 0;
  for (const char c : input) {
    const bool digit = c >= '0' && c <= '9';
    digits = digit ? digits + 1 : (c == '.' ? digits : 0);
    if (bugs.long_numbers && digits >= 19) return true;
    if (bugs.full_precision_numbers && (digits >= 16 || ((c == 'e' || c == 'E') && previous >= '0' && previous <= '9')))
      return true;
    if (c == '[' || c == '{') ++opens;
    previous = c;
  }
  return bugs.deep_nesting && opens > 512;
}

}  // namespace chainpp::fuzz
