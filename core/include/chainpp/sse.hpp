#pragma once
// SseParser: an incremental server-sent events parser (WHATWG "event stream"
// interpretation) for streamed model responses. Feed it bytes as they arrive,
// in pieces of any size; it yields the same events whatever the split.
#include <chainpp/export.hpp>
#include <chainpp/http.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainpp {

/// One dispatched event: its `data:` lines joined by "\n", its type
/// (`event:`, "message" by default) and the last event id seen (`id:`).
struct CHAINPP_API SseEvent {
  std::string event = "message";
  std::string data;
  std::string id;
};

/// Incremental SSE parser. Handles CR, LF and CRLF line ends, a leading BOM,
/// comments, `event:`/`data:`/`id:`/`retry:` fields, and the `data: [DONE]`
/// sentinel of OpenAI-style streams (which ends the stream and is not queued).
///
///   SseParser p;
///   p.feed(bytes);
///   while (auto e = p.next()) handle(e->data);
///   if (!p.done()) ...;  // the stream ended without [DONE]
class CHAINPP_API SseParser {
public:
  /// A parser that holds at most `max_event_bytes` of one line or of one
  /// event's data: past that it stops and exceeded() says which.
  explicit SseParser(std::int64_t max_event_bytes = TransportOptions{}.max_sse_event_bytes);

  /// Parses `bytes`; complete events become available through next().
  /// Bytes after `[DONE]` are ignored.
  void feed(std::string_view bytes);
  /// The oldest complete event not yet taken, or nullopt.
  std::optional<SseEvent> next();
  /// Like next(), without a copy: the oldest complete event not yet taken, or
  /// nullptr. It stays valid until the next feed() or finish(); its buffers
  /// are reused for later events, so a stream allocates nothing per event.
  const SseEvent* next_event();
  /// Number of complete events waiting in next().
  std::size_t pending() const { return count_ - head_; }

  /// Declares the end of input. An event not terminated by a blank line is
  /// discarded (as the SSE specification says). Returns true when the stream
  /// was complete (`[DONE]` seen), false when it was truncated; events already
  /// parsed stay available through next() either way.
  bool finish();

  /// True once `data: [DONE]` was received.
  bool done() const { return done_; }
  /// True when finish() was called before `[DONE]`.
  bool truncated() const { return finished_ && !done_; }
  /// The last valid `retry:` value (reconnection time in ms), if any.
  std::optional<long> retry_ms() const { return retry_ms_; }
  /// The last event id (persists across events, as the specification says).
  const std::string& last_event_id() const { return last_id_; }
  /// "line" or "event" once a line or an event's data grew past
  /// max_event_bytes (the parser then ignores the rest), else nullptr.
  const char* exceeded() const { return exceeded_; }

private:
  void feed_lines(const char* p, const char* end);
  void line(std::string_view text);
  void dispatch();

  std::string partial_;  // an incomplete line carried over between feed() calls
  std::string data_;
  std::string event_;
  std::string last_id_;
  std::vector<SseEvent> events_;  // events_[head_, count_) wait; slots past count_ keep their buffers
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::optional<long> retry_ms_;
  std::int64_t max_event_bytes_;
  const char* exceeded_ = nullptr;
  int bom_matched_ = 0;  // bytes of a leading UTF-8 BOM matched so far; 3 = decided
  bool has_data_ = false;
  bool skip_lf_ = false;  // the previous piece ended with CR: a leading LF belongs to it
  bool done_ = false;
  bool finished_ = false;
};

/// The events of a streamed HTTP response, read as they arrive: the one SSE
/// pump every provider's stream pulls from.
///
///   SseEventReader events(HttpClient::shared().open(request, transport), "azure_openai");
///   while (const SseEvent* e = events.next()) decode(e->data);
class CHAINPP_API SseEventReader {
public:
  /// Reads the events of `body`; `provider` names the caller in errors.
  /// A line or an event longer than `max_event_bytes` ends the stream.
  /// `end` names what ends the stream in the truncation error (the Responses
  /// API ends at its terminal event: "response.completed").
  SseEventReader(std::unique_ptr<HttpBodyStream> body, std::string provider,
                 std::int64_t max_event_bytes = TransportOptions{}.max_sse_event_bytes, std::string end = "[DONE]");

  /// The next event that carries data, or nullptr once `data: [DONE]` arrived
  /// (the rest of the body is read then, so that its connection goes back to
  /// the pool). The event stays valid until the next call. Throws what
  /// HttpBodyStream::read_since_event() throws (TimeoutError once no event
  /// arrived for the options' stream_idle_timeout, keep-alive comments and
  /// other bytes notwithstanding), and BadResponseError when the body ends
  /// before [DONE]: "azure_openai: the stream ended without [DONE] after
  /// 3 events (truncated) (request id X)", and ResponseTooLargeError when a
  /// line or an event is longer than max_event_bytes: "azure_openai: a stream
  /// event exceeds max_sse_event_bytes (8388608 bytes); raise
  /// max_sse_event_bytes to accept it (request id X)".
  const SseEvent* next();

  /// For a protocol whose stream ends at an event of its own rather than at
  /// [DONE] (the Responses API): reads the rest of the body, discarding it,
  /// so that the connection goes back to the pool. next() must not be called
  /// after it.
  void finish();

  /// The response: status, headers, request id, attempts.
  const HttpBodyStream& response() const { return *body_; }
  /// Events returned by next() so far.
  int events() const { return events_; }

private:
  ProviderErrorInfo stream_error_info() const;

  std::unique_ptr<HttpBodyStream> body_;
  std::string provider_;
  std::int64_t max_event_bytes_;
  std::string end_;
  SseParser parser_;
  std::string_view unfed_;  // of the last body read (valid until the next): fed to the parser in pieces
  std::chrono::steady_clock::time_point last_event_;  // the last event parsed (or the response's arrival)
  int events_ = 0;
  bool ended_ = false;
};

}  // namespace chainpp
