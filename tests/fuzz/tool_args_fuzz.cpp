// parse_tool_call on arbitrary argument text: never throws; exactly one call
// results, a ToolCall with an object of arguments or an InvalidToolCall that
// keeps the raw text.
#include "fuzz_check.hpp"

#include <chainpp/messages.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string args(reinterpret_cast<const char*>(data), size);
  std::vector<chainpp::ToolCall> calls;
  std::vector<chainpp::InvalidToolCall> invalid;
  chainpp::parse_tool_call("get_weather", args, "call_fuzz", calls, invalid);
  chainpp::fuzz::check(calls.size() + invalid.size() == 1, "exactly one call results");
  if (!calls.empty()) {
    chainpp::fuzz::check(calls[0].args.is_object(), "valid arguments are an object");
    chainpp::fuzz::check(calls[0].name == "get_weather" && calls[0].id == "call_fuzz", "name and id kept");
    (void)calls[0].args.dump();
  } else {
    chainpp::fuzz::check(invalid[0].args == args, "invalid arguments keep the raw text");
  }
  // The same text streamed as tool-call chunks, merged and finished.
  chainpp::AIMessageChunk a;
  chainpp::AIMessageChunk b;
  a.tool_call_chunks.push_back({"get_weather", args.substr(0, size / 2), "call_fuzz", 0});
  b.tool_call_chunks.push_back({std::nullopt, args.substr(size / 2), std::nullopt, 0});
  const chainpp::AIMessage m = (a + b).to_message();
  chainpp::fuzz::check(m.tool_calls.size() + m.invalid_tool_calls.size() == 1, "merged chunks give one call");
  return 0;
}
