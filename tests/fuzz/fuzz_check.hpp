#pragma once
// Shared helper of the fuzz targets: a property violation aborts with a message
// (libFuzzer then saves the input as a crash).
#include <cstdio>
#include <cstdlib>

namespace chainpp::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace chainpp::fuzz
