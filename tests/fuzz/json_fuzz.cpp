// Json::parse on arbitrary text: a value or JsonError. A parsed value dumps to
// JSON that parses back to the same dump (compact and pretty).
#include "fuzz_check.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  chainpp::Json value;
  try {
    value = chainpp::Json::parse(text);
  } catch (const chainpp::JsonError&) {
    return 0;
  }
  const std::string compact = value.dump();
  chainpp::Json again;
  try {
    again = chainpp::Json::parse(compact);
  } catch (const chainpp::JsonError&) {
    chainpp::fuzz::check(false, "dump() output parses");
  }
  chainpp::fuzz::check(again.dump() == compact, "parse(dump(v)).dump() == dump(v)");
  const std::string pretty = value.dump(2);
  try {
    chainpp::fuzz::check(chainpp::Json::parse(pretty).dump() == compact, "pretty dump parses to the same value");
  } catch (const chainpp::JsonError&) {
    chainpp::fuzz::check(false, "dump(2) output parses");
  }
  (void)chainpp::to_yaml(value);
  return 0;
}
