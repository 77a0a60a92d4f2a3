// openai_wire::StreamDecoder::decode on a sequence of stream events (one per
// input line, as each SSE `data:` payload of a stream): each gives a chunk or
// a chainpp::Error; the chunks merge and the merged chunk becomes a message.
#include "fuzz_check.hpp"

#include <openai_wire.hpp>

#include <chainpp/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  chainpp::openai_wire::StreamDecoder decoder({"azure_openai", "", "req-fuzz"});
  chainpp::AIMessageChunk merged;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view event = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    try {
      merged += decoder.decode(event);
    } catch (const chainpp::Error&) {
    }
  }
  try {
    (void)merged.to_message().to_json().dump();
  } catch (const chainpp::Error&) {
  }
  return 0;
}
