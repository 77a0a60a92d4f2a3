// The retry rules of the OpenAI SDKs (RetryPolicy): which statuses are
// retried, the server's delay, and exponential backoff with jitter.
#include "http/transport.hpp"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

namespace chainpp {

namespace {

std::optional<double> parse_double(const std::string& text) {
  const std::string t = http::trim(text);
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

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
  if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, http::trim(*v), when, tzd)) return std::nullopt;
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

}  // namespace chainpp
