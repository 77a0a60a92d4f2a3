// The HTTP client: the one retry loop of chainpp (HttpClient::Impl::run),
// whole responses (send) and streamed bodies (open, HttpBodyStream).
#include "http/transport.hpp"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/NetException.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>

namespace chainpp {

namespace http {

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return std::chrono::milliseconds::max();
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
}

std::chrono::milliseconds bounded(std::chrono::milliseconds timeout, Clock::time_point deadline) {
  auto t = timeout.count() > 0 ? timeout : std::chrono::milliseconds(24 * 3600 * 1000);
  const auto left = remaining(deadline);
  if (left < t) t = std::max(left, std::chrono::milliseconds(1));
  return t;
}

}  // namespace http

using namespace http;

namespace {

void notify(const RetryObserver& on_retry, int attempt, const std::exception& e, double delay) {
  if (!on_retry) return;
  try {
    on_retry(attempt, e, delay);
  } catch (...) {
    // An observer never fails the request.
  }
}

}  // namespace

HttpClient::Impl::Impl()
    : sleep([](double s, const std::stop_token& stop) {
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        cv.wait_for(lock, stop, std::chrono::duration<double>(s), [] { return false; });
      }) {}

Exchange HttpClient::Impl::run(const HttpRequest& request, const TransportOptions& o, const RetryObserver& on_retry,
                               BodyMode mode) {
  Exchange x;
  x.target = parse_target(request);
  const Target& target = x.target;
  // Headers that arrive after the configuration was checked (a call's own,
  // a token provider's) are checked here: nothing is sent if one is refused.
  for (const auto& [name, value] : request.headers)
    if (auto problem = header_problem(name, value))
      throw InputError(provider_name(request.provider) + ": " + *problem + "; nothing was sent");
  x.deadline = o.total_timeout.count() > 0 ? Clock::now() + o.total_timeout : Clock::time_point::max();
  const RetryPolicy policy(o, random);
  const int max_attempts = 1 + std::max(o.max_retries, 0);
  // Shuts the armed socket down on a stop and at the deadline (reads and
  // writes are bounded by it so, however slowly the server trickles bytes).
  auto watch = std::make_unique<StopWatch>(request.stop, x.deadline);
  const NetworkFailure cancelled{Failure::cancelled, "the call was cancelled"};

  for (int attempt = 1;; ++attempt) {
    x.attempts = attempt;
    std::exception_ptr error;   // the mapped error of this attempt
    HttpHeaders error_headers;  // response headers of a failed status, for the delay
    bool may_retry = false;
    if (watch->fired()) throw_network(request.provider, target, cancelled, attempt - 1);
    if (passed(x.deadline))
      throw_network(request.provider, target, deadline_failure(o, attempt > 1 ? "waiting to retry" : "connecting"),
                    attempt > 1 ? attempt - 1 : 1);
    bool stale_retry_done = false;
    for (;;) {  // at most twice: once more on a fresh connection if a pooled one was stale
      Connection conn;
      std::unique_ptr<Poco::Net::HTTPResponse> head;
      std::unique_ptr<BodyReader> body;
      Disarm disarm{watch.get()};  // destroyed before conn: the socket is disarmed before it closes
      Phase phase = Phase::connecting;
      // The connect is not watched: its timeout is shortened to the time left.
      const auto connect_timeout = bounded(o.connect_timeout, x.deadline);
      const bool connect_by_deadline = connect_timeout < bounded(o.connect_timeout, Clock::time_point::max());
      // The response is read whole, or positioned at a 2xx body for a stream.
      // Whole: its connection goes back to the pool, unless the call was
      // stopped or its deadline passed (its socket may be shut down then).
      const auto settle = [&] {
        watch->disarm();
        if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
        if (!watch->expired()) pool.release_after(std::move(conn), *body, *head);
        else if (body->ended_by_close())  // the shutdown may have cut it short
          throw_network(request.provider, target, deadline_failure(o, phase_text(Phase::body)), attempt,
                        static_cast<int>(head->getStatus()), request_id_of(headers_of(*head)));
      };
      try {
        conn = pool.acquire(target, o, connect_timeout, bounded(o.read_timeout, Clock::time_point::max()));
        Poco::Net::HTTPRequest req(request.method, target.path_and_query, Poco::Net::HTTPMessage::HTTP_1_1);
        for (const auto& [k, v] : request.headers) req.add(k, v);
        if (!request.body.empty() || request.method == "POST" || request.method == "PUT")
          req.setContentLength64(static_cast<Poco::Int64>(request.body.size()));
        req.setKeepAlive(true);
        phase = conn.session->connected() ? Phase::sending : Phase::connecting;
        std::ostream& os = conn.session->sendRequest(req);
        phase = Phase::sending;
        watch->arm(*conn.session);  // connected now
        os.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
        os.flush();
        if (os) phase = Phase::headers;  // else the write failed: reading the response tells how
        head = std::make_unique<Poco::Net::HTTPResponse>();
        conn.session->receiveResponse(*head);
        phase = Phase::body;
        body = std::make_unique<BodyReader>(conn, *head, request.method);
        const int status = static_cast<int>(head->getStatus());
        if (status >= 200 && status < 300) {
          x.response.status = status;
          x.response.reason = head->getReason();
          x.response.headers = headers_of(*head);
          x.response.attempts = attempt;
          if (mode == BodyMode::stream) {
            disarm.watch = nullptr;  // stays armed while the body stream reads
            x.watch = std::move(watch);
            x.conn = std::move(conn);
            x.head = std::move(head);
            x.body = std::move(body);
            return x;
          }
          x.response.body = read_whole_body(*body, *head, request.provider, o, attempt);
          settle();
          return x;
        }
        error_headers = headers_of(*head);
        const std::string error_body = read_whole_body(*body, *head, request.provider, o, attempt);
        settle();
        error = make_http_error(request.provider, status, error_headers, error_body, attempt);
        may_retry = RetryPolicy::should_retry(status, error_headers) ||
                    std::find(o.retry_statuses.begin(), o.retry_statuses.end(), status) != o.retry_statuses.end();
      } catch (const Poco::Exception& e) {
        if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
        const bool got_status = phase == Phase::body;
        const int status = got_status && head ? static_cast<int>(head->getStatus()) : 0;
        const std::string id = got_status && head ? request_id_of(headers_of(*head)) : std::string();
        if (watch->expired() ||
            (phase == Phase::connecting && connect_by_deadline && dynamic_cast<const Poco::TimeoutException*>(&e)))
          throw_network(request.provider, target, deadline_failure(o, phase_text(phase)), attempt, status, id);
        const bool stale = conn.reused && !got_status &&
                           (dynamic_cast<const Poco::Net::NoMessageException*>(&e) ||
                            dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) ||
                            dynamic_cast<const Poco::Net::ConnectionAbortedException*>(&e));
        if (stale && !stale_retry_done) {
          stale_retry_done = true;  // the server closed an idle pooled connection: not an attempt
          continue;
        }
        try {
          throw_network(request.provider, target, classify(e, phase), attempt, status, id);
        } catch (...) {
          error = std::current_exception();
        }
        may_retry = true;
      } catch (const std::ios_base::failure& e) {
        if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
        if (watch->expired()) throw_network(request.provider, target, deadline_failure(o, phase_text(phase)), attempt);
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
    // A wait that would pass the deadline is not begun: the call ends now, with this attempt's error.
    if (x.deadline != Clock::time_point::max() && Clock::now() + std::chrono::duration<double>(*delay) >= x.deadline)
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
  Exchange x;  // conn, head, body (null once the stream ended or was discarded), watch
  std::string provider;
  TransportOptions options;
  bool ended = false;

  /// The next bytes of the body; `idle_deadline`: see read_since_event().
  std::optional<std::string_view> read(Clock::time_point idle_deadline);
  void discard() {
    if (x.watch) x.watch->disarm();
    if (x.conn.session) {
      try {
        x.conn.session->reset();
      } catch (...) {
      }
      x.conn.session.reset();
    }
    x.body.reset();
    ended = true;
  }
};

HttpBodyStream::HttpBodyStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpBodyStream::~HttpBodyStream() {
  if (impl_) impl_->discard();
}

int HttpBodyStream::status() const { return impl_->x.response.status; }
const HttpHeaders& HttpBodyStream::headers() const { return impl_->x.response.headers; }
std::string HttpBodyStream::request_id() const { return request_id_of(impl_->x.response.headers); }
int HttpBodyStream::attempts() const { return impl_->x.attempts; }

void HttpBodyStream::close() { impl_->discard(); }

std::optional<std::string_view> HttpBodyStream::read() { return impl_->read(Clock::time_point::max()); }

std::optional<std::string_view> HttpBodyStream::read_since_event(std::chrono::steady_clock::time_point last_event) {
  const auto idle = impl_->options.stream_idle_timeout;
  return impl_->read(idle.count() > 0 ? last_event + idle : Clock::time_point::max());
}

std::optional<std::string_view> HttpBodyStream::Impl::read(Clock::time_point idle_deadline) {
  if (ended || !x.body) return std::nullopt;
  const NetworkFailure stopped{Failure::cancelled, "the stream was cancelled"};
  const auto fail = [&](const NetworkFailure& f) {
    throw_network(provider, x.target, f, x.attempts, x.response.status, request_id_of(x.response.headers));
  };
  const auto read_timeout = bounded(options.read_timeout, Clock::time_point::max());
  // The wait for a byte ends at the idle deadline when that comes first
  // (the total deadline is the watch's: it shuts the socket down).
  const auto idle_left = remaining(idle_deadline);
  const bool idle_bound = idle_left < read_timeout;
  try {
    if (x.watch->fired()) fail(stopped);
    if (x.watch->expired() || passed(x.deadline)) fail(deadline_failure(options, phase_text(Phase::body)));
    if (passed(idle_deadline)) fail(idle_failure(options.stream_idle_timeout));
    x.conn.set_receive_timeout(
        to_timespan(idle_bound ? std::max(idle_left, std::chrono::milliseconds(1)) : read_timeout));
    if (auto piece = x.body->next()) return piece;
    x.watch->disarm();
    if (x.watch->fired()) fail(stopped);
    if (x.watch->expired() && x.body->ended_by_close()) fail(deadline_failure(options, phase_text(Phase::body)));
    ended = true;
    if (!x.watch->expired()) client->pool.release_after(std::move(x.conn), *x.body, *x.head);
    x.conn.session.reset();
    x.body.reset();
    return std::nullopt;
  } catch (const ProviderError&) {
    discard();
    throw;
  } catch (const Poco::Exception& e) {
    discard();
    if (x.watch->fired()) fail(stopped);
    if (x.watch->expired()) fail(deadline_failure(options, phase_text(Phase::body)));
    if (idle_bound && dynamic_cast<const Poco::TimeoutException*>(&e)) fail(idle_failure(options.stream_idle_timeout));
    fail(classify(e, Phase::body));
  } catch (const std::ios_base::failure& e) {
    discard();
    if (x.watch->fired()) fail(stopped);
    if (x.watch->expired()) fail(deadline_failure(options, phase_text(Phase::body)));
    fail({Failure::connection, std::string("I/O error: ") + e.what()});
  }
  return std::nullopt;  // not reached: fail() throws
}

// ---------------------------------------------------------------- client

HttpClient::HttpClient() : impl_(std::make_shared<Impl>()) {}
HttpClient::~HttpClient() = default;

HttpClient& HttpClient::shared() {
  static HttpClient* client = new HttpClient();  // never destroyed: usable during static destruction
  return *client;
}

// ---------------------------------------------------------------- call log

namespace {

std::atomic<bool> call_log_set{false};
std::mutex call_log_mutex;
std::shared_ptr<const HttpCallLog> call_log;  // guarded by call_log_mutex

std::shared_ptr<const HttpCallLog> current_call_log() {
  if (!call_log_set.load(std::memory_order_relaxed)) return nullptr;
  std::lock_guard lock(call_log_mutex);
  return call_log;
}

bool secret_name(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"key", "token", "sig", "secret", "password", "code"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

// Runs `call` (an Exchange maker) and, when a call log is set, tells it how the call ended.
template <class Call>
Exchange logged(const HttpRequest& request, Call&& call) {
  const auto log = current_call_log();
  if (!log) return call();
  const auto start = Clock::now();
  HttpCallRecord record;
  record.method = request.method;
  record.url = url_without_secrets(request.url);
  const auto finish = [&] {
    record.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    (*log)(record);
  };
  try {
    Exchange x = call();
    record.status = x.response.status;
    record.attempts = x.attempts;
    finish();
    return x;
  } catch (const ProviderError& e) {
    record.status = e.info().status;
    record.attempts = e.info().attempts;
    record.error = e.what();
    finish();
    throw;
  } catch (const std::exception& e) {
    record.error = e.what();
    finish();
    throw;
  }
}

}  // namespace

void set_http_call_log(HttpCallLog log) {
  std::lock_guard lock(call_log_mutex);
  call_log = log ? std::make_shared<const HttpCallLog>(std::move(log)) : nullptr;
  call_log_set.store(call_log != nullptr, std::memory_order_relaxed);
}

std::string url_without_secrets(std::string_view url) {
  const std::size_t q = url.find('?');
  if (q == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, q + 1));
  std::string_view query = url.substr(q + 1);
  for (bool first = true; !query.empty() || first; first = false) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!first) out += '&';
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && secret_name(pair.substr(0, eq)))
      out.append(pair.substr(0, eq)).append("=***");
    else
      out.append(pair);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

HttpResponse HttpClient::send(const HttpRequest& request, const TransportOptions& options,
                              const RetryObserver& on_retry) {
  return logged(request, [&] { return impl_->run(request, options, on_retry, BodyMode::whole); }).response;
}

std::unique_ptr<HttpBodyStream> HttpClient::open(const HttpRequest& request, const TransportOptions& options,
                                                 const RetryObserver& on_retry) {
  auto s = std::make_unique<HttpBodyStream::Impl>();
  s->x = logged(request, [&] { return impl_->run(request, options, on_retry, BodyMode::stream); });
  s->client = impl_;
  s->provider = request.provider;
  s->options = options;
  return std::unique_ptr<HttpBodyStream>(new HttpBodyStream(std::move(s)));
}

std::size_t HttpClient::idle_connections() const { return impl_->pool.idle(); }

void HttpClient::clear() { impl_->pool.clear(); }

void HttpClient::set_retry_hooks_for_test(std::function<void(double)> sleep, RetryPolicy::Random random) {
  if (sleep) impl_->sleep = [sleep = std::move(sleep)](double s, const std::stop_token&) { sleep(s); };
  impl_->random = std::move(random);
}

}  // namespace chainpp
