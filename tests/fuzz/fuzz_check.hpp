#pragma once
// Shared helpers of the fuzz targets.
#include <chainpp/errors.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <typeinfo>

namespace chainpp::fuzz {

/// A property violation: abort with a message (libFuzzer saves the input).
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

/// Runs `parse`: the chainpp::Error it raises as text (its type and message,
/// and for a ContentFilterError the partial content and results), "" for none.
template <class Parse>
std::string error_of(Parse&& parse) {
  try {
    parse();
  } catch (const ContentFilterError& e) {
    return std::string("ContentFilterError: ") + e.what() + "|" + e.partial_content() + "|" +
           e.filter_results().dump();
  } catch (const Error& e) {
    return std::string(typeid(e).name()) + ": " + e.what();
  }
  return "";
}

}  // namespace chainpp::fuzz
