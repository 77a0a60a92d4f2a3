#include <chainpp/http.hpp>

#include "tls_session.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <dlfcn.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace chainpp {

namespace {

using Clock = std::chrono::steady_clock;

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::optional<double> parse_double(const std::string& text) {
  const std::string t = trim(text);
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string request_id_of(const HttpHeaders& headers) {
  if (const auto* v = find_header(headers, "apim-request-id")) return *v;
  if (const auto* v = find_header(headers, "x-request-id")) return *v;
  return {};
}

std::string format_seconds(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

std::string attempts_text(int attempts) {
  return std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
}

// "(request id X, N attempts)" without the request id when there is none.
std::string context_text(const std::string& request_id, int attempts) {
  std::string out = " (";
  if (!request_id.empty()) out += "request id " + request_id + ", ";
  out += attempts_text(attempts) + ")";
  return out;
}

std::string provider_name(const std::string& provider) { return provider.empty() ? "http" : provider; }

// The start of a body as printable ASCII on one line (other bytes as '?').
std::string excerpt(std::string_view body) {
  constexpr std::size_t limit = 200;
  std::string out;
  for (const char c : body.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out += u == '\n' || u == '\r' || u == '\t' ? ' ' : (u < 0x20 || u >= 0x7f ? '?' : c);
  }
  if (body.size() > limit) out += "...";
  return out;
}

struct Target {
  std::string scheme;
  std::string host;
  unsigned short port = 0;
  std::string path_and_query;
  std::string authority() const { return host + ":" + std::to_string(port); }
};

Target parse_target(const HttpRequest& request) {
  Target t;
  try {
    Poco::URI uri(request.url);
    t.scheme = uri.getScheme();
    t.host = uri.getHost();
    t.port = uri.getPort();
    t.path_and_query = uri.getPathAndQuery();
  } catch (const Poco::Exception& e) {
    throw ConfigError(provider_name(request.provider) + ": invalid URL '" + request.url + "': " + e.message());
  }
  if ((t.scheme != "http" && t.scheme != "https") || t.host.empty())
    throw ConfigError(provider_name(request.provider) + ": invalid URL '" + request.url +
                      "' (expected http:// or https://host/...)");
  if (t.path_and_query.empty()) t.path_and_query = "/";
  return t;
}

struct Proxy {
  std::string host;
  unsigned short port = 0;
  std::string username;
  std::string password;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

const char* env(const char* upper, const char* lower) {
  if (const char* v = std::getenv(lower); v && *v) return v;
  if (const char* v = std::getenv(upper); v && *v) return v;
  return nullptr;
}

bool no_proxy_matches(const std::string& host) {
  const char* list = env("NO_PROXY", "no_proxy");
  if (!list) return false;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    if (item == "*") return true;
    if (const auto colon = item.find(':'); colon != std::string::npos && item.find(':', colon + 1) == std::string::npos)
      item.resize(colon);  // "host:port" entries match the host
    if (item.front() == '.') item.erase(0, 1);
    if (host == item) return true;
    if (host.size() > item.size() && host.compare(host.size() - item.size(), item.size(), item) == 0 &&
        host[host.size() - item.size() - 1] == '.')
      return true;
  }
  return false;
}

std::optional<Proxy> proxy_for(const Target& t, const TransportOptions& o) {
  std::string spec = o.proxy;
  if (spec.empty() && o.use_environment_proxy) {
    if (is_loopback(t.host) || no_proxy_matches(t.host)) return std::nullopt;
    const char* v = t.scheme == "https" ? env("HTTPS_PROXY", "https_proxy") : env("HTTP_PROXY", "http_proxy");
    if (v) spec = v;
  }
  if (spec.empty()) return std::nullopt;
  if (spec.find("://") == std::string::npos) spec = "http://" + spec;
  try {
    Poco::URI uri(spec);
    Proxy p;
    p.host = uri.getHost();
    p.port = uri.getPort();
    const std::string info = uri.getUserInfo();
    if (const auto colon = info.find(':'); colon != std::string::npos) {
      p.username = info.substr(0, colon);
      p.password = info.substr(colon + 1);
    } else {
      p.username = info;
    }
    if (p.host.empty()) throw Poco::SyntaxException("no host");
    return p;
  } catch (const Poco::Exception&) {
    throw ConfigError("invalid proxy '" + (spec.find('@') == std::string::npos ? spec : std::string("<redacted>")) +
                      "'");
  }
}

Poco::Timespan to_timespan(std::chrono::milliseconds ms) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000);
}

enum class Failure { timeout, connection, cancelled };

// The HTTPS session factory of libchainpp_tls.so, loaded on first use from
// the directory of this library (else the loader's search path) and never
// unloaded. Throws ConfigError when TLS support is not installed.
detail::NewTlsSession new_tls_session() {
  static const auto factory = []() -> std::pair<detail::NewTlsSession, std::string> {
    std::string path = detail::kTlsLibrary;
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&new_tls_session), &info) != 0 && info.dli_fname) {
      const std::string self = info.dli_fname;
      if (const auto slash = self.rfind('/'); slash != std::string::npos) path = self.substr(0, slash + 1) + path;
    }
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib && path != detail::kTlsLibrary) lib = dlopen(detail::kTlsLibrary, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return {nullptr, dlerror()};
    void* symbol = dlsym(lib, detail::kNewTlsSessionSymbol);
    if (!symbol) return {nullptr, dlerror()};
    return {reinterpret_cast<detail::NewTlsSession>(symbol), {}};
  }();
  if (!factory.first) throw ConfigError("https:// needs TLS support, which could not be loaded: " + factory.second);
  return factory.first;
}

}  // namespace

bool same_header_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

const std::string* find_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (same_header_name(k, name)) return &v;
  return nullptr;
}

std::string HttpResponse::request_id() const { return request_id_of(headers); }

// ---------------------------------------------------------------- RetryPolicy

RetryPolicy::RetryPolicy(const TransportOptions& options, Random random, Clock clock)
    : initial_(options.initial_backoff_seconds),
      max_backoff_(options.max_backoff_seconds),
      cap_(options.max_retry_after_seconds),
      random_(std::move(random)),
      clock_(std::move(clock)) {
  if (!random_) {
    random_ = [] {
      thread_local std::mt19937_64 engine{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

bool RetryPolicy::retryable_status(int status) {
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

bool RetryPolicy::should_retry(int status, const HttpHeaders& headers) {
  if (const auto* v = find_header(headers, "x-should-retry")) {
    if (*v == "true") return true;
    if (*v == "false") return false;
  }
  return retryable_status(status);
}

std::optional<double> RetryPolicy::server_delay(const HttpHeaders& headers) const {
  if (const auto* v = find_header(headers, "retry-after-ms")) {
    if (auto ms = parse_double(*v)) return *ms / 1000.0;
  }
  const auto* v = find_header(headers, "retry-after");
  if (!v) return std::nullopt;
  if (auto s = parse_double(*v)) return *s;
  // An HTTP date (RFC 9110 IMF-fixdate, always in GMT); Poco's parser alone is too lenient.
  if (v->find("GMT") == std::string::npos) return std::nullopt;
  Poco::DateTime when;
  int tzd = 0;
  if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, trim(*v), when, tzd)) return std::nullopt;
  when.makeUTC(tzd);
  const auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_().time_since_epoch()).count();
  return static_cast<double>(when.timestamp().epochMicroseconds() - now_us) / 1e6;
}

std::optional<double> RetryPolicy::compute_delay(int retry, const HttpHeaders& headers) const {
  if (auto server = server_delay(headers)) {
    if (*server > cap_) return std::nullopt;
    if (*server >= 0) return *server;
  }
  const double base = std::min(initial_ * std::pow(2.0, std::max(retry - 1, 0)), max_backoff_);
  const double jitter = 1.0 - 0.25 * std::clamp(random_(), 0.0, 1.0);
  return base * jitter;
}

// ---------------------------------------------------------------- errors

std::exception_ptr make_http_error(const std::string& provider, int status, const HttpHeaders& headers,
                                   const std::string& body, int attempts) {
  ProviderErrorInfo info;
  info.provider = provider_name(provider);
  info.status = status;
  info.request_id = request_id_of(headers);
  info.attempts = attempts;
  info.retry_after_seconds = RetryPolicy().server_delay(headers);
  if (info.retry_after_seconds && *info.retry_after_seconds < 0) info.retry_after_seconds.reset();  // means "now"

  Json filter_results;
  if (!body.empty()) {
    try {
      info.body = Json::parse(body);
    } catch (const JsonError&) {
      info.body = Json(body);
    }
  }
  if (info.body.is_object()) {
    const Json* err = info.body.find("error");
    if (err && err->is_string()) info.provider_message = err->as_string();  // {"error": "text"}
    const Json& e = (err && err->is_object()) ? *err : info.body;
    if (const Json* code = e.find("code")) {
      if (code->is_string()) info.code = code->as_string();
      else if (code->is_integer()) info.code = std::to_string(code->as_int());
    }
    if (const Json* m = e.find("message"); m && m->is_string()) info.provider_message = m->as_string();
    for (const char* inner_name : {"innererror", "inner_error"}) {
      const Json* inner = e.find(inner_name);
      if (!inner || !inner->is_object()) continue;
      for (const char* results : {"content_filter_result", "content_filter_results"}) {
        if (const Json* r = inner->find(results)) {
          filter_results = *r;
          break;
        }
      }
      if (!filter_results.is_null()) break;
    }
  }
  if (info.provider_message.empty())
    info.provider_message = Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));

  std::string message = info.provider + ": HTTP " + std::to_string(status);
  if (!info.code.empty() && info.code != std::to_string(status)) message += " " + info.code;
  message += ": " + info.provider_message;
  message += context_text(info.request_id, attempts);
  if (info.body.is_string()) message += " Response body: " + excerpt(body);  // not JSON: a proxy's page, say
  if (status == 429 && info.retry_after_seconds)
    message += " Retry after " + format_seconds(*info.retry_after_seconds) + " s.";
  if (status == 404) message += " Check the deployment name, the endpoint and the api-version.";
  if (status == 401 || status == 403) message += " Check the API key or token and the endpoint.";

  if (status == 400 && info.code == "content_filter")
    return std::make_exception_ptr(ContentFilterError(message, std::move(info), std::move(filter_results)));
  if (status == 401 || status == 403) return std::make_exception_ptr(AuthenticationError(message, std::move(info)));
  if (status == 404) return std::make_exception_ptr(NotFoundError(message, std::move(info)));
  if (status == 429) return std::make_exception_ptr(RateLimitError(message, std::move(info)));
  if (status == 408) return std::make_exception_ptr(TimeoutError(message, std::move(info)));
  if (status >= 500) return std::make_exception_ptr(ServerError(message, std::move(info)));
  return std::make_exception_ptr(BadRequestError(message, std::move(info)));
}

// ---------------------------------------------------------------- connections

namespace {

// A pooled session and the receive timeout last applied to its socket (so
// that an unchanged timeout costs no system call per request or read).
struct IdleSession {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  Poco::Timespan receive_timeout;
  std::unique_ptr<char[]> body_buffer;  // BodyReader's, kept with the connection
};

struct Connection {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  std::string key;
  bool reused = false;
  Poco::Timespan receive_timeout;  // applied to the socket (or applied when it connects)
  std::unique_ptr<char[]> body_buffer;  // lent to the BodyReader of each response

  void set_receive_timeout(Poco::Timespan timeout) {
    if (timeout == receive_timeout) return;
    session->socket().setReceiveTimeout(timeout);
    receive_timeout = timeout;
  }
};

// A failure of an attempt: what went wrong and how to describe it.
struct NetworkFailure {
  Failure kind;
  std::string what;
};

// Cancels the I/O of a call when the caller requests a stop: the stop
// callback shuts the armed socket down, which wakes a blocked read or write at
// once. The descriptor is armed only while its owner keeps the socket open
// and is disarmed (under the same lock) before the socket may be closed or
// pooled, so the callback never touches a descriptor that was reused.
class StopWatch {
public:
  explicit StopWatch(const std::stop_token& token) : callback_(token, Fire{this}) {}
  StopWatch(const StopWatch&) = delete;
  StopWatch& operator=(const StopWatch&) = delete;

  void arm(Poco::Net::HTTPClientSession& session) {
    std::lock_guard lock(mutex_);
    fd_ = session.socket().impl()->sockfd();
    if (fired_) ::shutdown(fd_, SHUT_RDWR);
  }
  void disarm() {
    std::lock_guard lock(mutex_);
    fd_ = -1;
  }
  /// Whether a stop was requested while this watch existed.
  bool fired() const { return fired_.load(); }

private:
  struct Fire {
    StopWatch* watch;
    void operator()() noexcept { watch->fire(); }
  };
  void fire() {
    std::lock_guard lock(mutex_);
    fired_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  std::mutex mutex_;
  int fd_ = -1;
  std::atomic<bool> fired_{false};
  std::stop_callback<Fire> callback_;  // last: unregistered (waiting for a running fire()) first
};

// Disarms a watch when an attempt's scope ends, before its socket may close.
struct Disarm {
  StopWatch* watch;
  ~Disarm() {
    if (watch) watch->disarm();
  }
};

// Poco keeps HTTPSession::read protected. It returns the bytes the session
// buffered (with the response headers) first, then reads the socket with the
// caller's length; HTTPS sessions override it.
struct SessionAccess : Poco::Net::HTTPClientSession {
  static int read_from(Poco::Net::HTTPSession& session, char* buffer, std::streamsize length) {
    int (Poco::Net::HTTPSession::*read_member)(char*, std::streamsize) = &SessionAccess::read;
    return (session.*read_member)(buffer, length);
  }
  // Bytes the session holds that were not read yet.
  static int unread(const Poco::Net::HTTPSession& session) {
    int (Poco::Net::HTTPSession::*buffered_member)() const = &SessionAccess::buffered;
    return (session.*buffered_member)();
  }
};

// A response body that broke off (the server closed the connection early)
// or whose framing is malformed; what() tells which and where.
class BodyError : public Poco::IOException {
public:
  BodyError(const std::string& message, bool malformed) : Poco::IOException(message), malformed_(malformed) {}
  bool malformed() const { return malformed_; }

private:
  bool malformed_;
};

// A response body read straight from the session in reads of up to 64 KiB,
// chunked transfer coding decoded here (Poco's body streams make a system
// call per 4 KiB and read chunk headers a byte at a time). Throws
// Poco::Exception when the body breaks off or its framing is malformed.
class BodyReader {
public:
  /// Reads `connection`'s response, with its buffer (given back by take_buffer()).
  BodyReader(Connection& connection, const Poco::Net::HTTPResponse& response, const std::string& method)
      : session_(connection.session.get()), buf_(std::move(connection.body_buffer)) {
    const int status = static_cast<int>(response.getStatus());
    if (method == "HEAD" || status < 200 || status == 204 || status == 304) {
      state_ = State::done;
    } else if (response.getChunkedTransferEncoding()) {
      state_ = State::chunk_size;
    } else if (response.hasContentLength() &&
               response.getContentLength64() != Poco::Net::HTTPMessage::UNKNOWN_CONTENT_LENGTH) {
      expected_ = response.getContentLength64();
      left_ = expected_;
      state_ = left_ > 0 ? State::data : State::done;
    } else {
      state_ = State::until_close;
    }
  }

  /// The next piece of the body (valid until the next call), nullopt at its end.
  std::optional<std::string_view> next() {
    for (;;) {
      switch (state_) {
        case State::done: return std::nullopt;
        case State::data:
        case State::until_close: {
          if (state_ == State::data && left_ == 0) {
            state_ = expected_ >= 0 ? State::done : State::chunk_end;
            continue;
          }
          if (pos_ == end_ && !fill()) {
            if (state_ == State::until_close) {
              state_ = State::done;
              closed_ = true;
              return std::nullopt;
            }
            throw BodyError(expected_ >= 0 ? "connection closed after " + std::to_string(received_) + " of " +
                                                 std::to_string(expected_) + " body bytes"
                                           : "connection closed in the middle of a chunk, after " +
                                                 std::to_string(received_) + " body bytes",
                            false);
          }
          auto n = end_ - pos_;
          if (state_ == State::data && static_cast<std::int64_t>(n) > left_) n = static_cast<std::size_t>(left_);
          const std::string_view piece(buf_.get() + pos_, n);
          pos_ += n;
          left_ -= static_cast<std::int64_t>(n);
          received_ += static_cast<std::int64_t>(n);
          return piece;
        }
        case State::chunk_size: {
          const std::string_view l = line();
          std::size_t i = 0;
          std::int64_t size = 0;
          for (; i < l.size(); ++i) {
            const char c = l[i];
            const int d = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
            if (d < 0) break;
            if (size > (std::int64_t{1} << 56)) throw BodyError("chunk size too large in a chunked body", true);
            size = size * 16 + d;
          }
          if (i == 0 || (i < l.size() && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
            throw BodyError("invalid chunk size line in a chunked body", true);
          left_ = size;
          state_ = size > 0 ? State::data : State::trailers;
          continue;
        }
        case State::chunk_end:
          if (!line().empty()) throw BodyError("no line break after a chunk of a chunked body", true);
          state_ = State::chunk_size;
          continue;
        case State::trailers:
          if (line().empty()) state_ = State::done;
          continue;
      }
    }
  }

  /// The buffer, for the connection to keep (a response on it reuses it).
  std::unique_ptr<char[]> take_buffer() { return std::move(buf_); }
  /// The whole body was read, nothing followed it and the server did not
  /// close: the connection can carry another request.
  bool reusable() const {
    return state_ == State::done && !closed_ && pos_ == end_ && SessionAccess::unread(*session_) == 0;
  }

private:
  enum class State { data, until_close, chunk_size, chunk_end, trailers, done };
  static constexpr std::size_t kCapacity = 65536;
  static constexpr std::size_t kMaxLine = 4096;

  // Reads more bytes after end_; false at the end of the connection.
  bool fill() {
    if (!buf_) buf_ = std::make_unique_for_overwrite<char[]>(kCapacity);
    if (pos_ == end_) pos_ = end_ = 0;
    const int n = SessionAccess::read_from(*session_, buf_.get() + end_, static_cast<std::streamsize>(kCapacity - end_));
    if (n <= 0) return false;
    end_ += static_cast<std::size_t>(n);
    return true;
  }

  // A line of the chunked framing (a chunk size, the end of a chunk, a
  // trailer), without its CRLF (or LF).
  std::string_view line() {
    for (;;) {
      const char* begin = buf_ ? buf_.get() + pos_ : nullptr;
      const void* nl = begin ? std::memchr(begin, '\n', end_ - pos_) : nullptr;
      const std::size_t length = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - begin) : end_ - pos_;
      if (length >= kMaxLine)
        throw BodyError("a line of the chunked framing longer than " + std::to_string(kMaxLine) + " bytes", true);
      if (nl) {
        std::string_view l(begin, length);
        pos_ += length + 1;
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        return l;
      }
      if (pos_ > 0) {  // keep the partial line at the start of the buffer
        std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
        end_ -= pos_;
        pos_ = 0;
      }
      if (!fill())
        throw BodyError("connection closed before the end of a chunked body, after " + std::to_string(received_) +
                            " body bytes",
                        false);
    }
  }

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

}  // namespace

struct HttpClient::Impl {
  mutable std::mutex mutex;
  std::map<std::string, std::vector<IdleSession>> idle;
  // Waits between retries; returns early when a stop is requested.
  std::function<void(double, const std::stop_token&)> sleep = [](double s, const std::stop_token& stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, std::chrono::duration<double>(s), [] { return false; });
  };
  RetryPolicy::Random random;
  static constexpr std::size_t max_idle_per_host = 64;

  Connection acquire(const Target& t, const TransportOptions& o, std::chrono::milliseconds read_timeout) {
    const auto proxy = proxy_for(t, o);
    Connection c;
    c.key = t.scheme + "://" + t.authority();
    if (proxy) c.key += "|proxy=" + proxy->host + ":" + std::to_string(proxy->port);
    if (t.scheme == "https") c.key += (o.verify_tls ? "|verify|" : "|noverify|") + o.ca_file;
    {
      std::lock_guard lock(mutex);
      auto it = idle.find(c.key);
      if (it != idle.end() && !it->second.empty()) {
        c.session = std::move(it->second.back().session);
        c.receive_timeout = it->second.back().receive_timeout;
        c.body_buffer = std::move(it->second.back().body_buffer);
        it->second.pop_back();
        c.reused = true;
      }
    }
    if (!c.session) {
      if (t.scheme == "https") {
        c.session.reset(new_tls_session()(t.host, t.port, o.verify_tls, o.ca_file));
      } else {
        c.session = std::make_unique<Poco::Net::HTTPClientSession>(t.host, t.port);
      }
      if (proxy) {
        c.session->setProxy(proxy->host, proxy->port);
        if (!proxy->username.empty()) c.session->setProxyCredentials(proxy->username, proxy->password);
      }
      c.session->setKeepAlive(true);
    }
    const auto connect = o.connect_timeout.count() > 0 ? o.connect_timeout : std::chrono::milliseconds(24 * 3600 * 1000);
    // Stored for the next connect (which applies it to the new socket); a
    // connected pooled socket gets it now unless it already has it.
    c.session->setTimeout(to_timespan(connect), to_timespan(read_timeout), to_timespan(read_timeout));
    if (c.session->connected()) c.set_receive_timeout(to_timespan(read_timeout));
    else c.receive_timeout = to_timespan(read_timeout);
    return c;
  }

  // Pools `c` when the response that `body` read to its end allows another request on it.
  void release_after(Connection&& c, BodyReader& body, const Poco::Net::HTTPResponse& response) {
    if (!response.getKeepAlive() || !body.reusable() || !c.session || !c.session->connected()) return;
    std::lock_guard lock(mutex);
    auto& list = idle[c.key];
    if (list.size() < max_idle_per_host)
      list.push_back(IdleSession{std::move(c.session), c.receive_timeout, body.take_buffer()});
  }

  struct Started {
    Connection conn;
    std::unique_ptr<Poco::Net::HTTPResponse> response;
    std::unique_ptr<BodyReader> body;
    HttpHeaders headers;
    std::unique_ptr<StopWatch> watch;  // armed on conn's socket
  };

  // The one retry loop. Returns the connection positioned at a 2xx body; for
  // send() (`out` non-null) the body is read inside the attempt, so a broken
  // body is retried too, and the connection goes back to the pool.
  Started run(const HttpRequest& request, const TransportOptions& o, const RetryObserver& on_retry,
              HttpResponse* out, int& attempts, Target& target, Clock::time_point& deadline);
};

namespace {

// Reads the whole body.
std::string read_all(BodyReader& body, const Poco::Net::HTTPResponse& response) {
  std::string out;
  if (response.hasContentLength() && response.getContentLength64() > 0)  // not more than a MiB before it arrives
    out.reserve(static_cast<std::size_t>(std::min<Poco::Int64>(response.getContentLength64(), 1 << 20)));
  while (const auto piece = body.next()) out.append(*piece);
  return out;
}

HttpHeaders headers_of(const Poco::Net::HTTPResponse& response) {
  HttpHeaders headers;
  headers.reserve(response.size());
  for (const auto& [k, v] : response) headers.emplace_back(k, v);
  return headers;
}

[[noreturn]] void throw_network(const std::string& provider, const Target& t, const NetworkFailure& f, int attempts,
                                int status = 0, const std::string& request_id = {}) {
  ProviderErrorInfo info;
  info.provider = provider_name(provider);
  info.status = status;
  info.attempts = attempts;
  info.request_id = request_id;
  const std::string message = info.provider + ": " + f.what + " (" + t.authority() + ")" +
                              context_text(request_id, attempts);
  if (f.kind == Failure::timeout) throw TimeoutError(message, std::move(info));
  if (f.kind == Failure::cancelled) throw CancelledError(message, std::move(info));
  throw ConnectionError(message, std::move(info));
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return std::chrono::milliseconds::max();
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

std::chrono::milliseconds effective_read_timeout(const TransportOptions& o, Clock::time_point deadline) {
  auto t = o.read_timeout.count() > 0 ? o.read_timeout : std::chrono::milliseconds(24 * 3600 * 1000);
  const auto left = remaining(deadline);
  if (left < t) t = std::max(left, std::chrono::milliseconds(1));
  return t;
}

NetworkFailure classify(const Poco::Exception& e, bool got_status) {
  if (dynamic_cast<const Poco::TimeoutException*>(&e))
    return {Failure::timeout, got_status ? "timed out reading the response body" : "timed out waiting for a response"};
  std::string what = e.displayText();
  if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e)) return {Failure::connection, "connection refused"};
  if (dynamic_cast<const Poco::Net::NoMessageException*>(&e))
    return {Failure::connection, "connection closed before a response"};
  if (const auto* body = dynamic_cast<const BodyError*>(&e))
    return {Failure::connection,
            (body->malformed() ? "malformed response body: " : "connection broke mid-response: ") + body->message()};
  return {Failure::connection, (got_status ? "connection broke mid-response: " : "connection failed: ") + what};
}

void notify(const RetryObserver& on_retry, int attempt, const std::exception& e, double delay) {
  if (!on_retry) return;
  try {
    on_retry(attempt, e, delay);
  } catch (...) {
    // An observer never fails the request.
  }
}

}  // namespace

HttpClient::Impl::Started HttpClient::Impl::run(const HttpRequest& request, const TransportOptions& o,
                                                const RetryObserver& on_retry, HttpResponse* out, int& attempts,
                                                Target& target, Clock::time_point& deadline) {
  target = parse_target(request);
  deadline = o.total_timeout.count() > 0 ? Clock::now() + o.total_timeout : Clock::time_point::max();
  const RetryPolicy policy(o, random);
  const int max_attempts = 1 + std::max(o.max_retries, 0);
  auto watch = std::make_unique<StopWatch>(request.stop);
  const NetworkFailure cancelled{Failure::cancelled, "the call was cancelled"};

  for (int attempt = 1;; ++attempt) {
    attempts = attempt;
    std::exception_ptr error;      // the mapped error of this attempt
    HttpHeaders error_headers;     // response headers of a failed status, for the delay
    bool may_retry = false;
    if (watch->fired()) throw_network(request.provider, target, cancelled, attempt - 1);
    if (remaining(deadline).count() <= 0) {
      throw_network(request.provider, target,
                    {Failure::timeout, "total timeout of " + format_seconds(o.total_timeout.count() / 1000.0) +
                                           " s exceeded"},
                    attempt > 1 ? attempt - 1 : 1);
    }
    bool stale_retry_done = false;
    for (;;) {  // at most twice: once more on a fresh connection if a pooled one was stale
      Started s;
      Disarm disarm{watch.get()};  // destroyed before s: the socket is disarmed before it closes
      bool got_status = false;
      try {
        s.conn = acquire(target, o, effective_read_timeout(o, deadline));
        Poco::Net::HTTPRequest req(request.method, target.path_and_query, Poco::Net::HTTPMessage::HTTP_1_1);
        for (const auto& [k, v] : request.headers) req.add(k, v);
        if (!request.body.empty() || request.method == "POST" || request.method == "PUT")
          req.setContentLength64(static_cast<Poco::Int64>(request.body.size()));
        req.setKeepAlive(true);
        std::ostream& os = s.conn.session->sendRequest(req);
        watch->arm(*s.conn.session);  // connected now
        os.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
        s.response = std::make_unique<Poco::Net::HTTPResponse>();
        s.conn.session->receiveResponse(*s.response);
        got_status = true;
        s.body = std::make_unique<BodyReader>(s.conn, *s.response, request.method);
        const int status = static_cast<int>(s.response->getStatus());
        if (status >= 200 && status < 300) {
          s.headers = headers_of(*s.response);
          if (!out) {
            disarm.watch = nullptr;  // stays armed while the body stream reads
            s.watch = std::move(watch);
            return s;
          }
          out->body = read_all(*s.body, *s.response);
          watch->disarm();
          if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
          out->status = status;
          out->reason = s.response->getReason();
          out->headers = std::move(s.headers);
          out->attempts = attempt;
          release_after(std::move(s.conn), *s.body, *s.response);
          return {};
        }
        error_headers = headers_of(*s.response);
        const std::string body = read_all(*s.body, *s.response);
        watch->disarm();
        if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
        release_after(std::move(s.conn), *s.body, *s.response);
        error = make_http_error(request.provider, status, error_headers, body, attempt);
        may_retry = RetryPolicy::should_retry(status, error_headers);
      } catch (const Poco::Exception& e) {
        if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
        const bool stale = s.conn.reused && !got_status &&
                           (dynamic_cast<const Poco::Net::NoMessageException*>(&e) ||
                            dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) ||
                            dynamic_cast<const Poco::Net::ConnectionAbortedException*>(&e));
        if (stale && !stale_retry_done) {
          stale_retry_done = true;  // the server closed an idle pooled connection: not an attempt
          continue;
        }
        try {
          throw_network(request.provider, target, classify(e, got_status), attempt,
                        got_status && s.response ? static_cast<int>(s.response->getStatus()) : 0,
                        got_status && s.response ? request_id_of(headers_of(*s.response)) : std::string());
        } catch (...) {
          error = std::current_exception();
        }
        may_retry = true;
      } catch (const std::ios_base::failure& e) {
        if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
        try {
          throw_network(request.provider, target, {Failure::connection, std::string("I/O error: ") + e.what()},
                        attempt);
        } catch (...) {
          error = std::current_exception();
        }
        may_retry = true;
      }
      break;
    }

    if (!may_retry || attempt >= max_attempts) std::rethrow_exception(error);
    const auto delay = policy.compute_delay(attempt, error_headers);
    if (!delay) std::rethrow_exception(error);  // the server asked to wait longer than the cap
    if (deadline != Clock::time_point::max() &&
        Clock::now() + std::chrono::duration<double>(*delay) >= deadline)
      std::rethrow_exception(error);
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      notify(on_retry, attempt, e, *delay);
    }
    if (*delay > 0) sleep(*delay, request.stop);
  }
}

// ---------------------------------------------------------------- body stream

struct HttpBodyStream::Impl {
  std::shared_ptr<HttpClient::Impl> client;
  Connection conn;
  std::unique_ptr<Poco::Net::HTTPResponse> response;
  std::unique_ptr<BodyReader> body;  // null once the stream ended or was discarded
  HttpHeaders headers;
  std::string provider;
  Target target;
  TransportOptions options;
  Clock::time_point deadline;
  int attempts = 1;
  bool ended = false;
  std::unique_ptr<StopWatch> watch;  // armed on conn's socket until it closes or is pooled

  void discard() {
    if (watch) watch->disarm();
    if (conn.session) {
      try {
        conn.session->reset();
      } catch (...) {
      }
      conn.session.reset();
    }
    body.reset();
    ended = true;
  }
};

HttpBodyStream::HttpBodyStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpBodyStream::~HttpBodyStream() {
  if (impl_) impl_->discard();
}

int HttpBodyStream::status() const { return static_cast<int>(impl_->response->getStatus()); }
const HttpHeaders& HttpBodyStream::headers() const { return impl_->headers; }
std::string HttpBodyStream::request_id() const { return request_id_of(impl_->headers); }
int HttpBodyStream::attempts() const { return impl_->attempts; }

void HttpBodyStream::close() { impl_->discard(); }

std::optional<std::string_view> HttpBodyStream::read() {
  Impl& s = *impl_;
  if (s.ended || !s.body) return std::nullopt;
  const NetworkFailure cancelled{Failure::cancelled, "the stream was cancelled"};
  try {
    if (s.watch->fired()) throw_network(s.provider, s.target, cancelled, s.attempts, status(), request_id());
    if (remaining(s.deadline).count() <= 0)
      throw_network(s.provider, s.target, {Failure::timeout, "total timeout exceeded while reading the stream"},
                    s.attempts, status(), request_id());
    s.conn.set_receive_timeout(to_timespan(effective_read_timeout(s.options, s.deadline)));
    if (auto piece = s.body->next()) return piece;
    s.watch->disarm();
    if (s.watch->fired()) throw_network(s.provider, s.target, cancelled, s.attempts, status(), request_id());
    s.ended = true;
    s.client->release_after(std::move(s.conn), *s.body, *s.response);
    s.conn.session.reset();
    s.body.reset();
    return std::nullopt;
  } catch (const ProviderError&) {
    s.discard();
    throw;
  } catch (const Poco::Exception& e) {
    s.discard();
    if (s.watch->fired()) throw_network(s.provider, s.target, cancelled, s.attempts, status(), request_id());
    throw_network(s.provider, s.target, classify(e, true), s.attempts, status(), request_id());
  } catch (const std::ios_base::failure& e) {
    s.discard();
    if (s.watch->fired()) throw_network(s.provider, s.target, cancelled, s.attempts, status(), request_id());
    throw_network(s.provider, s.target, {Failure::connection, std::string("I/O error: ") + e.what()}, s.attempts,
                  status(), request_id());
  }
}

// ---------------------------------------------------------------- client

HttpClient::HttpClient() : impl_(std::make_shared<Impl>()) {}
HttpClient::~HttpClient() = default;

HttpClient& HttpClient::shared() {
  static HttpClient* client = new HttpClient();  // never destroyed: usable during static destruction
  return *client;
}

HttpResponse HttpClient::send(const HttpRequest& request, const TransportOptions& options,
                              const RetryObserver& on_retry) {
  HttpResponse out;
  int attempts = 0;
  Target target;
  Clock::time_point deadline;
  impl_->run(request, options, on_retry, &out, attempts, target, deadline);
  return out;
}

std::unique_ptr<HttpBodyStream> HttpClient::open(const HttpRequest& request, const TransportOptions& options,
                                                 const RetryObserver& on_retry) {
  auto s = std::make_unique<HttpBodyStream::Impl>();
  int attempts = 0;
  auto started = impl_->run(request, options, on_retry, nullptr, attempts, s->target, s->deadline);
  s->client = impl_;
  s->conn = std::move(started.conn);
  s->response = std::move(started.response);
  s->body = std::move(started.body);
  s->headers = std::move(started.headers);
  s->watch = std::move(started.watch);
  s->provider = request.provider;
  s->options = options;
  s->attempts = attempts;
  return std::make_unique<HttpBodyStream>(std::move(s));
}

std::size_t HttpClient::idle_connections() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& [key, list] : impl_->idle) n += list.size();
  return n;
}

void HttpClient::clear() {
  std::lock_guard lock(impl_->mutex);
  impl_->idle.clear();
}

void HttpClient::set_retry_hooks_for_test(std::function<void(double)> sleep, RetryPolicy::Random random) {
  if (sleep) impl_->sleep = [sleep = std::move(sleep)](double s, const std::stop_token&) { sleep(s); };
  impl_->random = std::move(random);
}

}  // namespace chainpp
