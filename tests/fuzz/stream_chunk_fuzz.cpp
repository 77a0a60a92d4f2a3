// openai_wire::StreamDecoder on a sequence of stream events (one per input
// line, as each SSE `data:` payload of a stream): each gives a chunk or a
// chainpp::Error; the chunks merge and the merged chunk becomes a message.
// Every event is also decoded by decode_full, the general path, in a second
// decoder: decode (the scanner, falling back to decode_full) must give the
// same chunk or the same error.
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
  std::optional<chainpp::AIMessageChunk> chunk;
  std::string error;
};

Outcome decode(chainpp::openai_wire::StreamDecoder& d, std::string_view event, bool full) {
  Outcome out;
  out.error = chainpp::fuzz::error_of([&] { out.chunk = full ? d.decode_full(event) : d.decode(event); });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  chainpp::openai_wire::StreamDecoder decoder({"azure_openai", "", "req-fuzz"});
  chainpp::openai_wire::StreamDecoder reference({"azure_openai", "", "req-fuzz"});
  chainpp::AIMessageChunk merged;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view event = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const Outcome a = decode(decoder, event, false);
    const Outcome b = decode(reference, event, true);
    chainpp::fuzz::check(a.error == b.error, "decode and decode_full raised different errors");
    chainpp::fuzz::check(a.chunk == b.chunk, "decode and decode_full gave different chunks");
    if (a.chunk) merged += *a.chunk;
  }
  try {
    (void)merged.to_message().to_json().dump();
  } catch (const chainpp::Error&) {
  }
  return 0;
}
