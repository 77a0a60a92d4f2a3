#pragma once
// The HTTP transport every provider uses: a thread-safe client with a
// keep-alive connection pool, timeouts, the one retry loop of chainpp, and
// the mapping of HTTP failures onto the chainpp::ProviderError hierarchy.
#include <chainpp/errors.hpp>
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chainpp {

/// Header list in order; names compare case-insensitively.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

/// Whether two header names are the same (ASCII case-insensitive).
CHAINPP_API bool same_header_name(std::string_view a, std::string_view b);

/// The value of the first header called `name` (case-insensitive), or nullptr.
CHAINPP_API const std::string* find_header(const HttpHeaders& headers, std::string_view name);

/// One request. `provider` only names the caller in error messages ("azure_openai").
struct CHAINPP_API HttpRequest {
  std::string method = "POST";
  std::string url;  ///< absolute: http(s)://host[:port]/path?query
  HttpHeaders headers;
  std::string body;
  std::string provider;
  /// The caller's cancellation: once a stop is requested the call ends with
  /// CancelledError at once (a blocked connect, read or retry wait included;
  /// a connect already under way finishes or times out first) and its
  /// connection is closed, never pooled half-read.
  std::stop_token stop;
};

/// A complete response (2xx; other statuses raise errors).
struct CHAINPP_API HttpResponse {
  int status = 0;
  std::string reason;
  HttpHeaders headers;
  std::string body;
  int attempts = 1;  ///< attempts made, retries included

  const std::string* header(std::string_view name) const { return find_header(headers, name); }
  /// apim-request-id, else x-request-id, else "".
  std::string request_id() const;
};

/// Timeouts, retries, TLS/proxy settings and size limits of a call. Zero durations mean "no limit".
struct CHAINPP_API TransportOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{600000};  ///< longest wait for any byte
  /// Deadline of the whole call, retries included, in every phase: connect,
  /// send, response headers, body (a stream's too) and the waits before retries.
  std::chrono::milliseconds total_timeout{0};
  /// Longest wait for the next event of a stream read through SseEventReader
  /// (keep-alive comments do not count); see HttpBodyStream::read_since_event.
  std::chrono::milliseconds stream_idle_timeout{120000};
  int max_retries = 2;                             ///< so at most 3 attempts
  /// Statuses retried besides RetryPolicy::should_retry's (IMDS: 404 and 410 while it starts).
  std::vector<int> retry_statuses;
  double max_retry_after_seconds = 60;             ///< longer server delays end the retries
  double initial_backoff_seconds = 0.5;            ///< backoff = min(initial * 2^n, max) * jitter
  double max_backoff_seconds = 8;
  bool verify_tls = true;
  std::string ca_file;  ///< PEM bundle; empty: the system's CAs
  /// "http://host:port"; empty: HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment.
  std::string proxy;
  bool use_environment_proxy = true;
  // What a server can make a call hold; past a limit the call ends with
  // ResponseTooLargeError naming it (never std::bad_alloc).
  std::int64_t max_response_bytes = std::int64_t{64} << 20;   ///< a whole (or error) response body
  std::int64_t max_sse_event_bytes = std::int64_t{8} << 20;   ///< one line or event of a stream
  std::int64_t max_stream_bytes = std::int64_t{32} << 20;     ///< streamed text and tool arguments of a call
};

/// Called before each retry: retry number (1-based), the error of the failed
/// attempt, and the delay in seconds before the next attempt.
using RetryObserver = std::function<void(int attempt, const std::exception& error, double delay_seconds)>;

/// The retry rules of the OpenAI SDKs, as a pure function of the attempt and
/// the response headers, with injectable randomness and clock for tests.
class CHAINPP_API RetryPolicy {
public:
  /// Returns a uniform number in [0, 1).
  using Random = std::function<double()>;
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  explicit RetryPolicy(const TransportOptions& options = {}, Random random = {}, Clock clock = {});

  /// 408, 409, 429 and >= 500.
  static bool retryable_status(int status);
  /// Whether a response with `status` may be retried: `x-should-retry` decides
  /// when present, else retryable_status().
  static bool should_retry(int status, const HttpHeaders& headers);
  /// The delay the server asked for: `retry-after-ms`, else `retry-after`
  /// (seconds or an HTTP date), in seconds; nullopt when absent or invalid.
  std::optional<double> server_delay(const HttpHeaders& headers) const;
  /// The delay before retry number `retry` (1-based): the server's delay when
  /// within [0, cap], else min(initial * 2^(retry-1), max) * jitter in [0.75, 1].
  /// nullopt when the server asked for more than the cap (do not retry).
  std::optional<double> compute_delay(int retry, const HttpHeaders& headers = {}) const;

private:
  double initial_;
  double max_backoff_;
  double cap_;
  Random random_;
  Clock clock_;
};

/// The body of a streamed response, read incrementally as it arrives.
/// Destroying it before the end closes the connection (it is never reused
/// half-read); reading it to the end returns the connection to the pool.
class CHAINPP_API HttpBodyStream {
public:
  ~HttpBodyStream();
  HttpBodyStream(const HttpBodyStream&) = delete;
  HttpBodyStream& operator=(const HttpBodyStream&) = delete;

  int status() const;
  const HttpHeaders& headers() const;
  const std::string* header(std::string_view name) const { return find_header(headers(), name); }
  std::string request_id() const;
  int attempts() const;

  /// The next bytes of the body (at least one byte, as many as arrived), or
  /// nullopt at its end. The view stays valid until the next call. Throws
  /// TimeoutError or ConnectionError (status and request id filled) when the
  /// connection stalls or breaks mid-body.
  std::optional<std::string_view> read();
  /// Like read(), for a consumer that reads the body as events (SseEventReader):
  /// once the options' stream_idle_timeout passed since `last_event` (before a
  /// byte arrives, or already at the call), the stream is closed and
  /// TimeoutError raised: "azure_openai: no stream event for 2 s
  /// (stream_idle_timeout) (127.0.0.1:PORT) (request id X, 1 attempt)".
  std::optional<std::string_view> read_since_event(std::chrono::steady_clock::time_point last_event);
  /// Closes the connection now without reading the rest. (A stop requested on
  /// the request's stop token also closes it, and read() then throws CancelledError.)
  void close();

private:
  friend class HttpClient;  // the only maker of streams
  struct Impl;
  explicit HttpBodyStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// One finished call of an HttpClient (all its attempts), as a request log
/// sees it: what `chainpp -v` prints. It holds no header and no body.
struct CHAINPP_API HttpCallRecord {
  std::string method;
  /// scheme://host:port/path?query, each query value whose name looks like a
  /// credential (key, token, sig, secret, password, code) shown as "***".
  std::string url;
  int status = 0;    ///< the final status; 0 when no response came (a network failure, a cancel)
  int attempts = 0;  ///< 0 when nothing was sent (a refused header)
  std::chrono::milliseconds elapsed{0};  ///< to the whole body, or for a stream to its headers
  std::string error;  ///< the call's error message; empty when it succeeded
};

/// Called by every HttpClient as each call ends (on the calling thread).
using HttpCallLog = std::function<void(const HttpCallRecord&)>;

/// Sets the process-wide call log (an empty function clears it). Set it
/// before the calls start; a log must be thread-safe when calls run
/// concurrently. Without one, calls pay one relaxed atomic load.
CHAINPP_API void set_http_call_log(HttpCallLog log);

/// `url` with the value of each query parameter whose name looks like a
/// credential replaced by "***" (what HttpCallRecord::url holds).
CHAINPP_API std::string url_without_secrets(std::string_view url);

/// Thread-safe HTTP client with a keep-alive connection pool per
/// (scheme, host, port). Non-2xx final responses raise the mapped
/// ProviderError (AuthenticationError, NotFoundError, RateLimitError,
/// ContentFilterError, BadRequestError, ServerError); network failures raise
/// TimeoutError or ConnectionError. Retries follow RetryPolicy.
class CHAINPP_API HttpClient {
public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// The process-wide client whose pool all providers share.
  static HttpClient& shared();

  /// Sends `request`, retrying as the options say, and reads the whole body.
  HttpResponse send(const HttpRequest& request, const TransportOptions& options = {},
                    const RetryObserver& on_retry = {});
  /// Sends `request` (retrying like send() until a 2xx status arrives) and
  /// returns its body as a stream. Nothing is retried once the body started.
  std::unique_ptr<HttpBodyStream> open(const HttpRequest& request, const TransportOptions& options = {},
                                       const RetryObserver& on_retry = {});

  /// Idle pooled connections, over all hosts.
  std::size_t idle_connections() const;
  /// Closes every idle connection.
  void clear();

  /// Replaces the sleep between retries and the policy's randomness (tests only).
  void set_retry_hooks_for_test(std::function<void(double seconds)> sleep, RetryPolicy::Random random);

private:
  friend class HttpBodyStream;  // a stream returns its connection to the pool
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with open streams, which return their connection to it
};

/// Builds the error a final non-2xx response maps to (see HttpClient), for
/// providers that need to raise one themselves (e.g. an error event mid-stream).
/// Never includes request header values.
CHAINPP_API std::exception_ptr make_http_error(const std::string& provider, int status, const HttpHeaders& headers,
                                               const std::string& body, int attempts);

/// Builds the error a stream's `error` event maps to (`event`, the event's
/// JSON), reading it as make_http_error reads an error body:
/// "azure_openai: error in stream server_error: The server had an error.
/// (request id X)"; a ContentFilterError for code content_filter, else a ServerError.
CHAINPP_API std::exception_ptr make_stream_error(const std::string& provider, const Json& event,
                                                 const std::string& request_id);

}  // namespace chainpp
