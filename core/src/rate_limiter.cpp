#include <chainpp/errors.hpp>
#include <chainpp/rate_limiter.hpp>

#include <algorithm>
#include <thread>

namespace chainpp {

TokenBucket::TokenBucket(double rate_per_second, double capacity, double initial)
    : rate_(rate_per_second), capacity_(capacity), level_(initial), last_(Clock::now()) {}

double TokenBucket::wait_seconds(double cost, Clock::time_point now) {
  refill(now);
  const double need = std::min(cost, capacity_);
  return level_ >= need ? 0.0 : (need - level_) / rate_;
}

void TokenBucket::adjust(double amount) { level_ = std::min(capacity_, level_ + amount); }

void TokenBucket::refill(Clock::time_point now) {
  level_ = std::min(capacity_, level_ + rate_ * std::chrono::duration<double>(now - last_).count());
  last_ = now;
}

namespace {

double checked_rate(double requests_per_second, double max_bucket_size) {
  if (!(requests_per_second > 0)) throw InputError("rate limiter: requests_per_second must be positive");
  if (!(max_bucket_size >= 1)) throw InputError("rate limiter: max_bucket_size must be at least 1");
  return requests_per_second;
}

}  // namespace

RateLimiter::RateLimiter(double requests_per_second, double max_bucket_size, std::chrono::milliseconds check_every)
    : bucket_(checked_rate(requests_per_second, max_bucket_size), max_bucket_size, 0.0), check_every_(check_every) {}

bool RateLimiter::try_acquire() {
  std::lock_guard lock(mutex_);
  if (bucket_.wait_seconds(1, TokenBucket::Clock::now()) > 0) return false;
  bucket_.take(1);
  return true;
}

void RateLimiter::acquire() {
  while (!try_acquire()) std::this_thread::sleep_for(check_every_);
}

}  // namespace chainpp
