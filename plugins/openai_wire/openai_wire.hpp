#pragma once
// The OpenAI chat-completions wire protocol, written once for every dialect
// that speaks it (Azure OpenAI, OpenAI, OpenAI-compatible servers): the
// request body, the completion response and the stream chunks.
#include <chainpp/chat_model.hpp>
#include <chainpp/http.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>

#include <cstdint>
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

/// The JSON body of a chat-completions request. Unset options are not sent.
std::string build_request_body(const Messages& messages, const CallOptions& options, const RequestShape& shape);

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
/// Bodies of the common shape are read by a scanner that builds only what
/// the message keeps; any other body takes parse_completion_full.
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
  explicit StreamDecoder(ResponseShape shape, std::int64_t max_stream_bytes = TransportOptions{}.max_stream_bytes)
      : shape_(std::move(shape)), max_stream_bytes_(max_stream_bytes) {}
  /// One event's chunk (possibly empty: Azure's filter-only chunks). Throws a
  /// ProviderError for an `error` event, BadResponseError for malformed JSON,
  /// ContentFilterError when the filter cut the completion (carrying the
  /// content streamed so far), and ResponseTooLargeError once the stream
  /// carried more than max_stream_bytes.
  /// Events of the common shape (what Azure and OpenAI send for text and
  /// tool-call deltas) are read by a scanner that builds only what the chunk
  /// keeps; any other event takes decode_full.
  AIMessageChunk decode(std::string_view data);
  /// The same result through the general path (the whole event parsed by
  /// Json::parse first); tests and the fuzzer compare the two.
  AIMessageChunk decode_full(std::string_view data);
  /// How many events decode() read with the scanner.
  std::size_t scanned_events() const { return scanned_; }

  struct Parts;  // what a chunk is made of, read from an event by either path

private:
  AIMessageChunk assemble(Parts& parts);
  void count_streamed(const AIMessageChunk& chunk, bool whole_event);
  void remember_template(std::string_view data, const Parts& parts, std::string_view content_token);

  ResponseShape shape_;
  std::int64_t max_stream_bytes_;
  std::int64_t streamed_ = 0;     // what the chunks so far carried, counted against max_stream_bytes_
  std::size_t event_bytes_ = 0;   // the size of the event being decoded
  std::size_t scanned_ = 0;
  JsonObject scan_scratch_;   // the scanner's working storage, kept between events
  std::string filter_text_;   // the last content_filter_results the scanner built, as text
  Json filter_;               // and as built (events often repeat it)
  // The last event the scanner read that carried a content string, cut
  // around that string, and what the rest of it gave. Consecutive chunks of
  // a stream usually differ in their content only: an event whose text
  // around its content string is the same is read from this template.
  struct ContentTemplate {
    std::string prefix, suffix;
    std::optional<std::string> model, fingerprint, finish;
    std::optional<Json> filter;
  };
  std::optional<ContentTemplate> template_;
  int template_misses_ = 0;  // events in a row that the template did not fit
  std::string content_so_far_;
  std::string model_;            // the last chunk's model and its reported name
  std::string versioned_model_;
};

/// The model name to report: `model`, plus "-<version>" when a version is set
/// and the name does not already end with it.
std::string versioned_model_name(const std::string& model, const std::string& version);

}  // namespace chainpp::openai_wire
