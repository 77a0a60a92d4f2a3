// PromptTemplate: any text either compiles or throws PromptError; a compiled
// template formats with every variable given, and throws PromptError (never
// anything else) when one is missing. The input is "template\0value".
#include "fuzz_check.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/prompts.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string text(input.substr(0, nul));
  const std::string value(nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1));

  std::optional<chainpp::PromptTemplate> prompt;
  try {
    prompt.emplace(text);
  } catch (const chainpp::PromptError&) {
    return 0;
  }
  chainpp::ValueMap all;
  for (const auto& name : prompt->input_variables()) all.emplace(name, chainpp::Value(value));
  const std::string out = prompt->format(all);  // must not throw: every variable is given
  if (prompt->input_variables().empty()) {
    // No variables: only escapes are resolved, so the text cannot grow.
    chainpp::fuzz::check(out.size() <= text.size(), "a template without variables does not grow");
  } else {
    chainpp::ValueMap none;
    try {
      (void)prompt->format(none);
      chainpp::fuzz::check(false, "a missing variable throws");
    } catch (const chainpp::PromptError&) {
    }
  }
  // Also as a chat prompt (the same parser through another entry point).
  try {
    auto chat = chainpp::ChatPromptTemplate::from_template(text);
    (void)chat->format_messages(all);
  } catch (const chainpp::Error&) {
  }
  return 0;
}
