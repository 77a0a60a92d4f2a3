// The HTTP client: the one retry loop of chainpp (HttpClient::Impl::run),
// whole responses (send) and streamed bodies (open, HttpBodyStream).
#include "http/transport.hpp"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/NetException.h>

#include <algorithm>
#include <condition_variable>

namespace chainpp {

namespace http {

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
  auto watch = std::make_unique<StopWatch>(request.stop);
  const NetworkFailure cancelled{Failure::cancelled, "the call was cancelled"};

  for (int attempt = 1;; ++attempt) {
    x.attempts = attempt;
    std::exception_ptr error;   // the mapped error of this attempt
    HttpHeaders error_headers;  // response headers of a failed status, for the delay
    bool may_retry = false;
    if (watch->fired()) throw_network(request.provider, target, cancelled, attempt - 1);
    if (remaining(x.deadline).count() <= 0) {
      throw_network(request.provider, target,
                    {Failure::timeout, "total timeout of " + format_seconds(o.total_timeout.count() / 1000.0) +
                                           " s exceeded"},
                    attempt > 1 ? attempt - 1 : 1);
    }
    bool stale_retry_done = false;
    for (;;) {  // at most twice: once more on a fresh connection if a pooled one was stale
      Connection conn;
      std::unique_ptr<Poco::Net::HTTPResponse> head;
      std::unique_ptr<BodyReader> body;
      Disarm disarm{watch.get()};  // destroyed before conn: the socket is disarmed before it closes
      bool got_status = false;
      try {
        conn = pool.acquire(target, o, effective_read_timeout(o, x.deadline));
        Poco::Net::HTTPRequest req(request.method, target.path_and_query, Poco::Net::HTTPMessage::HTTP_1_1);
        for (const auto& [k, v] : request.headers) req.add(k, v);
        if (!request.body.empty() || request.method == "POST" || request.method == "PUT")
          req.setContentLength64(static_cast<Poco::Int64>(request.body.size()));
        req.setKeepAlive(true);
        std::ostream& os = conn.session->sendRequest(req);
        watch->arm(*conn.session);  // connected now
        os.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
        head = std::make_unique<Poco::Net::HTTPResponse>();
        conn.session->receiveResponse(*head);
        got_status = true;
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
          watch->disarm();
          if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
          pool.release_after(std::move(conn), *body, *head);
          return x;
        }
        error_headers = headers_of(*head);
        const std::string error_body = read_whole_body(*body, *head, request.provider, o, attempt);
        watch->disarm();
        if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
        pool.release_after(std::move(conn), *body, *head);
        error = make_http_error(request.provider, status, error_headers, error_body, attempt);
        may_retry = RetryPolicy::should_retry(status, error_headers);
      } catch (const Poco::Exception& e) {
        if (watch->fired()) throw_network(request.provider, target, cancelled, attempt);
        const bool stale = conn.reused && !got_status &&
                           (dynamic_cast<const Poco::Net::NoMessageException*>(&e) ||
                            dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) ||
                            dynamic_cast<const Poco::Net::ConnectionAbortedException*>(&e));
        if (stale && !stale_retry_done) {
          stale_retry_done = true;  // the server closed an idle pooled connection: not an attempt
          continue;
        }
        try {
          throw_network(request.provider, target, classify(e, got_status), attempt,
                        got_status && head ? static_cast<int>(head->getStatus()) : 0,
                        got_status && head ? request_id_of(headers_of(*head)) : std::string());
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

std::optional<std::string_view> HttpBodyStream::read() {
  Impl& s = *impl_;
  Exchange& x = s.x;
  if (s.ended || !x.body) return std::nullopt;
  const NetworkFailure cancelled{Failure::cancelled, "the stream was cancelled"};
  try {
    if (x.watch->fired()) throw_network(s.provider, x.target, cancelled, x.attempts, status(), request_id());
    if (remaining(x.deadline).count() <= 0)
      throw_network(s.provider, x.target, {Failure::timeout, "total timeout exceeded while reading the stream"},
                    x.attempts, status(), request_id());
    x.conn.set_receive_timeout(to_timespan(effective_read_timeout(s.options, x.deadline)));
    if (auto piece = x.body->next()) return piece;
    x.watch->disarm();
    if (x.watch->fired()) throw_network(s.provider, x.target, cancelled, x.attempts, status(), request_id());
    s.ended = true;
    s.client->pool.release_after(std::move(x.conn), *x.body, *x.head);
    x.conn.session.reset();
    x.body.reset();
    return std::nullopt;
  } catch (const ProviderError&) {
    s.discard();
    throw;
  } catch (const Poco::Exception& e) {
    s.discard();
    if (x.watch->fired()) throw_network(s.provider, x.target, cancelled, x.attempts, status(), request_id());
    throw_network(s.provider, x.target, classify(e, true), x.attempts, status(), request_id());
  } catch (const std::ios_base::failure& e) {
    s.discard();
    if (x.watch->fired()) throw_network(s.provider, x.target, cancelled, x.attempts, status(), request_id());
    throw_network(s.provider, x.target, {Failure::connection, std::string("I/O error: ") + e.what()}, x.attempts,
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
  return impl_->run(request, options, on_retry, BodyMode::whole).response;
}

std::unique_ptr<HttpBodyStream> HttpClient::open(const HttpRequest& request, const TransportOptions& options,
                                                 const RetryObserver& on_retry) {
  auto s = std::make_unique<HttpBodyStream::Impl>();
  s->x = impl_->run(request, options, on_retry, BodyMode::stream);
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
