// openai_wire::parse_completion on arbitrary response bodies: a message or a
// chainpp::Error, nothing else; a parsed message serialises.
#include "fuzz_check.hpp"

#include <openai_wire.hpp>

#include <chainpp/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  chainpp::openai_wire::ResponseShape shape{"azure_openai", size % 2 ? "0613" : "", "req-fuzz"};
  try {
    const chainpp::AIMessage message = chainpp::openai_wire::parse_completion(body, shape);
    (void)message.to_json().dump();
    (void)message.text();
  } catch (const chainpp::Error&) {
  }
  return 0;
}
