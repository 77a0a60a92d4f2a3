// openai_wire::parse_completion on arbitrary response bodies: a message or a
// chainpp::Error, nothing else; a parsed message serialises. The body is also
// parsed by parse_completion_full, the general path: both must give the same
// message or the same error.
#include "fuzz_check.hpp"

#include <openai_wire.hpp>

#include <chainpp/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

struct Outcome {
  std::optional<chainpp::AIMessage> message;
  std::string error;
};

Outcome parse(std::string_view body, const chainpp::openai_wire::ResponseShape& shape, bool full) {
  Outcome out;
  out.error = chainpp::fuzz::error_of([&] {
    out.message = full ? chainpp::openai_wire::parse_completion_full(body, shape)
                       : chainpp::openai_wire::parse_completion(body, shape);
  });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  chainpp::openai_wire::ResponseShape shape{"azure_openai", size % 2 ? "0613" : "", "req-fuzz"};
  const Outcome a = parse(body, shape, false);
  const Outcome b = parse(body, shape, true);
  chainpp::fuzz::check(a.error == b.error, "parse_completion and parse_completion_full raised different errors");
  chainpp::fuzz::check(a.message == b.message, "parse_completion and parse_completion_full gave different messages");
  if (a.message) {
    (void)a.message->to_json().dump();
    (void)a.message->text();
  }
  return 0;
}
