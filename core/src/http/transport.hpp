#pragma once
// The HTTP transport's private parts, shared by the files of core/src/http/:
// the request target and its proxy (target.cpp), the mapping of failures onto
// chainpp errors (errors.cpp), response bodies (body_reader.cpp), the
// connection pool (pool.cpp), cancellation (cancellation.hpp) and the one
// retry loop (client.cpp). Nothing here is part of the public API.
#include <chainpp/endpoint.hpp>
#include <chainpp/http.hpp>

#include "http/cancellation.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timespan.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainpp::http {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- target (target.cpp)

/// Where a request goes: its URL as parse_url() splits it.
using Target = Url;

/// parse_url(), with the user information of the URL (a proxy's
/// credentials) put in `*userinfo` when it is not null, else refused.
Url split_url(std::string_view text, std::string_view what, std::string* userinfo);
/// A proxy's URL ("http://" assumed when it names no scheme) and its user information.
Url split_proxy(std::string_view spec, std::string& userinfo);

/// The target of `request.url`; ConfigError naming the provider when the URL
/// is not an absolute http:// or https:// URL.
Target parse_target(const HttpRequest& request);

/// A proxy to connect through, with its credentials.
struct Proxy {
  std::string host;
  unsigned short port = 0;
  std::string username;
  std::string password;
};

/// The proxy for `target`: the options' `proxy`, else (when allowed) the
/// HTTPS_PROXY / HTTP_PROXY environment unless the host is loopback or
/// matches NO_PROXY. ConfigError for a malformed proxy, its password redacted.
std::optional<Proxy> proxy_for(const Target& target, const TransportOptions& options);

/// `s` without leading and trailing spaces and tabs.
std::string trim(std::string_view s);

// ---------------------------------------------------------------- errors (errors.cpp)

/// What kind of failure ended an attempt, for the error type raised.
enum class Failure { timeout, connection, cancelled };

/// A failure of an attempt: what went wrong and how to describe it.
struct NetworkFailure {
  Failure kind;
  std::string what;
};

/// The caller's name in messages: the request's provider, else "http".
std::string provider_name(const std::string& provider);

/// apim-request-id, else x-request-id, else "".
std::string request_id_of(const HttpHeaders& headers);

/// "0.5", "60": seconds as a user reads them.
std::string format_seconds(double seconds);

/// Raises the TimeoutError, CancelledError or ConnectionError that `failure`
/// maps to: "<provider>: <what> (<host:port>) (request id X, N attempts)".
[[noreturn]] void throw_network(const std::string& provider, const Target& target, const NetworkFailure& failure,
                                int attempts, int status = 0, const std::string& request_id = {});

/// Where an attempt was when it failed, for the message.
enum class Phase { connecting, sending, headers, body };

/// "connecting", "sending the request", "waiting for the response headers",
/// "reading the response body".
const char* phase_text(Phase phase);

/// The failure a Poco exception of an attempt in `phase` means (a timeout:
/// "timed out <phase text>").
NetworkFailure classify(const Poco::Exception& e, Phase phase);

/// The failure of a call whose total_timeout passed in `phase`: "total_timeout
/// of 5 s reached while <phase text>".
NetworkFailure deadline_failure(const TransportOptions& options, const char* phase);

/// The failure of a stream that received no event for `idle`: "no stream
/// event for 2 s (stream_idle_timeout)".
NetworkFailure idle_failure(std::chrono::milliseconds idle);

// ---------------------------------------------------------------- connections (pool.cpp)

/// Poco's durations from std::chrono's.
Poco::Timespan to_timespan(std::chrono::milliseconds ms);

/// A session taken from the pool (or new) for one request.
struct Connection {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  std::string key;  ///< the pool it goes back to
  bool reused = false;
  Poco::Timespan receive_timeout;       ///< applied to the socket (or applied when it connects)
  std::unique_ptr<char[]> body_buffer;  ///< lent to the BodyReader of each response

  /// Applies `timeout` to the socket unless it already has it (no system call then).
  void set_receive_timeout(Poco::Timespan timeout) {
    if (timeout == receive_timeout) return;
    session->socket().setReceiveTimeout(timeout);
    receive_timeout = timeout;
  }
};

class BodyReader;

/// Keep-alive sessions per (scheme, host, port, proxy, TLS settings). Thread-safe.
class ConnectionPool {
public:
  /// A pooled session for `target`, else a new one (connected on first use),
  /// with `connect_timeout` and `read_timeout` applied.
  Connection acquire(const Target& target, const TransportOptions& options, std::chrono::milliseconds connect_timeout,
                     std::chrono::milliseconds read_timeout);
  /// Pools `c` when the response that `body` read to its end allows another request on it.
  void release_after(Connection&& c, BodyReader& body, const Poco::Net::HTTPResponse& response);
  /// Idle sessions, over all hosts.
  std::size_t idle() const;
  /// Closes every idle session.
  void clear();

private:
  // A pooled session and the receive timeout last applied to its socket.
  struct IdleSession {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    Poco::Timespan receive_timeout;
    std::unique_ptr<char[]> body_buffer;  // BodyReader's, kept with the connection
  };
  static constexpr std::size_t kMaxIdlePerHost = 64;

  mutable std::mutex mutex_;
  std::map<std::string, std::vector<IdleSession>> idle_;
};

// ---------------------------------------------------------------- bodies (body_reader.cpp)

/// A response body read straight from the session in reads of up to 64 KiB,
/// with Content-Length, chunked and close-delimited framing decoded here
/// (Poco's body streams make a system call per 4 KiB and read chunk headers
/// a byte at a time). Throws Poco::Exception when the body breaks off or its
/// framing is malformed (classify() tells which).
class BodyReader {
public:
  /// Reads `connection`'s response, with its buffer (given back by take_buffer()).
  BodyReader(Connection& connection, const Poco::Net::HTTPResponse& response, const std::string& method);

  /// The next piece of the body (valid until the next call), nullopt at its end.
  std::optional<std::string_view> next();
  /// The rest of the body, whole; nullopt when it is longer than
  /// `max_bytes` (at once when its Content-Length says so).
  std::optional<std::string> read_all(const Poco::Net::HTTPResponse& response, std::int64_t max_bytes);
  /// The Content-Length, -1 when the body is chunked or ends with the connection.
  std::int64_t expected() const { return expected_; }

  /// The buffer, for the connection to keep (a response on it reuses it).
  std::unique_ptr<char[]> take_buffer() { return std::move(buf_); }
  /// The whole body was read, nothing followed it and the server did not
  /// close: the connection can carry another request.
  bool reusable() const;
  /// The body ended because the connection closed (it has no other framing).
  bool ended_by_close() const { return closed_; }

private:
  enum class State { data, until_close, chunk_size, chunk_end, trailers, done };
  static constexpr std::size_t kCapacity = 65536;
  static constexpr std::size_t kMaxLine = 4096;

  bool fill();
  std::string_view line();

  Poco::Net::HTTPSession* session_;
  State state_ = State::done;
  std::int64_t expected_ = -1;  // Content-Length, -1 when the body is chunked or ends with the connection
  std::int64_t left_ = 0;       // bytes left in the current chunk or the Content-Length body
  std::int64_t received_ = 0;
  bool closed_ = false;
  std::unique_ptr<char[]> buf_;  // kCapacity bytes (the connection's, else allocated on the first read)
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
};

/// A body that broke off (the server closed early) or whose framing is
/// malformed; what() tells which and where.
class BodyError : public Poco::IOException {
public:
  BodyError(const std::string& message, bool malformed) : Poco::IOException(message), malformed_(malformed) {}
  bool malformed() const { return malformed_; }

private:
  bool malformed_;
};

/// The response's headers, in order.
HttpHeaders headers_of(const Poco::Net::HTTPResponse& response);

/// `body` read to its end (the response `response` of an attempt), or
/// ResponseTooLargeError when it is longer than the options' max_response_bytes.
std::string read_whole_body(BodyReader& body, const Poco::Net::HTTPResponse& response, const std::string& provider,
                            const TransportOptions& options, int attempts);

// ---------------------------------------------------------------- the retry loop (client.cpp)

/// What the retry loop hands back: the attempts made, where they went, the
/// call's deadline, and either the complete response (BodyMode::whole) or
/// the connection positioned at a 2xx body (BodyMode::stream).
struct Exchange {
  int attempts = 0;
  Target target;
  Clock::time_point deadline = Clock::time_point::max();
  HttpResponse response;  ///< status, reason, headers; the body too with BodyMode::whole
  Connection conn;        ///< BodyMode::stream: the connection the body is read from
  std::unique_ptr<Poco::Net::HTTPResponse> head;
  std::unique_ptr<BodyReader> body;
  std::unique_ptr<StopWatch> watch;  ///< armed on conn's socket while the body is read
};

/// How much of a 2xx response the retry loop reads: all of it (a broken body
/// is retried too, and the connection goes back to the pool), or none.
enum class BodyMode { whole, stream };

/// The time left before `deadline`, rounded up to a millisecond (max() for none).
std::chrono::milliseconds remaining(Clock::time_point deadline);
/// Whether `deadline` passed.
inline bool passed(Clock::time_point deadline) { return Clock::now() >= deadline; }
/// `timeout` (zero: none) shortened to the time left before `deadline`, at least 1 ms.
std::chrono::milliseconds bounded(std::chrono::milliseconds timeout, Clock::time_point deadline);

}  // namespace chainpp::http

namespace chainpp {

/// The client's state, shared with its open streams (which return their
/// connection to the pool).
struct HttpClient::Impl {
  http::ConnectionPool pool;
  /// Waits between retries; returns early when a stop is requested.
  std::function<void(double, const std::stop_token&)> sleep;
  RetryPolicy::Random random;

  Impl();
  /// The one retry loop of chainpp.
  http::Exchange run(const HttpRequest& request, const TransportOptions& options, const RetryObserver& on_retry,
                     http::BodyMode mode);
};

}  // namespace chainpp
