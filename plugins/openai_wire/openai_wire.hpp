#pragma once
// The OpenAI chat-completions wire protocol, written once for every dialect
// that speaks it (Azure OpenAI, OpenAI, OpenAI-compatible servers): the
// request body, the completion response and the stream chunks.
#include <chainpp/chat_model.hpp>
#include <chainpp/http.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chainpp::openai_wire {

/// What the request body carries besides messages and options.
struct RequestShape {
  std::string model;           ///< the "model" field; empty: not sent (Azure deployment URLs)
  bool stream = false;         ///< "stream": true
  bool include_usage = false;  ///< "stream_options": {"include_usage": true} (with stream)
};

/// The JSON body of a chat-completions request. Unset options are not sent,
/// nor the Responses API's own (kGenerationOptions' responses_only rows).
std::string build_request_body(const Messages& messages, const CallOptions& options, const RequestShape& shape);

/// Throws InputError naming the first message text that is not valid UTF-8
/// (JSON text must be), e.g. "messages[1].content is not valid UTF-8: ...".
void check_messages_utf8(const Messages& messages);

/// How a response is read.
struct ResponseShape {
  std::string provider;       ///< for error messages, e.g. "azure_openai"
  std::string model_version;  ///< appended to model_name as "<model>-<version>" (Azure's model_version)
  std::string request_id;     ///< put in errors raised while reading the response
  std::string model_name = {};  ///< reported (with model_version) when a completion names no model
  int status = 200;             ///< the response's HTTP status, put in errors raised while reading it
};

/// Parses a complete chat-completions response into an AIMessage with
/// LangChain's response_metadata (token_usage, model_name, system_fingerprint,
/// prompt_filter_results, finish_reason, logprobs, content_filter_results) and
/// usage_metadata. Throws BadResponseError on malformed input, and
/// ContentFilterError when the completion was cut by the content filter.
AIMessage parse_completion(std::string_view body, const ResponseShape& shape);
/// The same result through the general path (the body parsed by Json::parse
/// first); tests and the fuzzer compare the two.
AIMessage parse_completion_full(std::string_view body, const ResponseShape& shape);

/// Turns stream events (each SSE `data:` payload) into chunks.
class StreamDecoder {
public:
  /// A decoder of one call's stream, which may carry at most
  /// `max_stream_bytes` of text (content, refusal), tool-call names, ids and
  /// arguments, and events with logprobs or prompt filter results.
  explicit StreamDecoder(ResponseShape shape, std::int64_t max_stream_bytes = TransportOptions{}.max_stream_bytes);
  ~StreamDecoder();
  StreamDecoder(StreamDecoder&&) noexcept;
  StreamDecoder& operator=(StreamDecoder&&) noexcept;

  /// One event's chunk (possibly empty: Azure's filter-only chunks). Throws a
  /// ProviderError for an `error` event, BadResponseError for malformed JSON,
  /// ContentFilterError when the filter cut the completion (carrying the
  /// content streamed so far), and ResponseTooLargeError once the stream
  /// carried more than max_stream_bytes.
  AIMessageChunk decode(std::string_view data);
  /// The same result through the general path (the whole event parsed by
  /// Json::parse first); tests and the fuzzer compare the two.
  AIMessageChunk decode_full(std::string_view data);
  /// How many events decode() read with its fast path (tests).
  std::size_t scanned_events() const;

  class Impl;

private:
  std::unique_ptr<Impl> impl_;
};

/// The model name to report: `model`, plus "-<version>" when a version is set
/// and the name does not already end with it.
std::string versioned_model_name(const std::string& model, const std::string& version);

}  // namespace chainpp::openai_wire
