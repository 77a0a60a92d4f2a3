// parse_json_output / parse_partial_json_output on arbitrary model output and
// on prefixes of it (a stream cut anywhere): a value or OutputParserError for
// the first, a value or nullopt for the second.
#include "fuzz_check.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/output_parsers.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<chainpp::Json> full;
  try {
    full = chainpp::parse_json_output(text);
    (void)full->dump();
  } catch (const chainpp::OutputParserError& e) {
    chainpp::fuzz::check(e.llm_output() == text, "OutputParserError carries the raw output");
  }
  // Eight cut points spread over the text, the whole text last.
  for (std::size_t i = 1; i <= 8; ++i) {
    const std::string_view prefix = text.substr(0, size * i / 8);
    if (auto partial = chainpp::parse_partial_json_output(prefix)) (void)partial->dump();
  }
  return 0;
}
