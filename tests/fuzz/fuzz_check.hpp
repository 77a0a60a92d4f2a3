#pragma once
// Shared helpers of the fuzz targets.
#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace chainpp::fuzz {

/// A property violation: abort with a message (libFuzzer saves the input).
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace chainpp::fuzz
