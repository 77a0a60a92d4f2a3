#pragma once
// Rate limits: one token bucket, used by models (RateLimiter, like LangChain's
// InMemoryRateLimiter) and by batches (requests and tokens per minute).
#include <chainpp/export.hpp>

#include <chrono>
#include <mutex>

namespace chainpp {

/// A token bucket: `rate_per_second` tokens accrue up to `capacity`. A take
/// may exceed what the bucket holds (a call larger than the bucket), leaving
/// a debt that later takes wait out. Not thread-safe: its owner locks.
class CHAINPP_API TokenBucket {
public:
  using Clock = std::chrono::steady_clock;

  /// A bucket holding `initial` tokens now.
  TokenBucket(double rate_per_second, double capacity, double initial);

  /// Seconds to wait from `now` before `cost` tokens (at most `capacity`) are there; 0: now.
  double wait_seconds(double cost, Clock::time_point now);
  /// Takes `cost` tokens (the level may go below zero).
  void take(double cost) { level_ -= cost; }
  /// Gives back (or, negative, charges) tokens once the real cost is known.
  void adjust(double amount);

private:
  void refill(Clock::time_point now);

  double rate_;
  double capacity_;
  double level_;
  Clock::time_point last_;
};

/// A token bucket like LangChain's InMemoryRateLimiter: `requests_per_second`
/// tokens accrue up to `max_bucket_size` (starting empty); each call takes
/// one, waiting if none. Thread-safe.
class CHAINPP_API RateLimiter {
public:
  RateLimiter(double requests_per_second, double max_bucket_size = 1.0,
              std::chrono::milliseconds check_every = std::chrono::milliseconds(10));
  /// Blocks until a token is available, then takes it.
  void acquire();
  /// Takes a token if one is available now.
  bool try_acquire();

private:
  std::mutex mutex_;
  TokenBucket bucket_;
  std::chrono::milliseconds check_every_;
};

}  // namespace chainpp
