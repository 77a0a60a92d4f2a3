#pragma once
// Cancellation and deadlines of a call in flight: the caller's
// std::stop_token, or the call's total_timeout passing, wakes the transport
// out of a blocked read or write by shutting the socket down.
#include <Poco/Net/HTTPClientSession.h>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>

namespace chainpp::http {

class StopWatch;

/// One thread for the whole process that expires the StopWatches whose
/// deadline passed (started with the first deadline, never stopped).
class DeadlineTimer {
public:
  using Clock = std::chrono::steady_clock;
  using Entry = std::multimap<Clock::time_point, StopWatch*>::iterator;

  static DeadlineTimer& instance();
  /// Expires `watch` at `deadline` unless removed before.
  void add(Clock::time_point deadline, StopWatch* watch);
  /// Forgets `watch`; once it returns, the watch is not being expired.
  void remove(StopWatch* watch);

private:
  DeadlineTimer();
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<Clock::time_point, StopWatch*> due_;
};

/// Ends the I/O of a call when the caller requests a stop or its deadline
/// passes: the stop callback (or the DeadlineTimer) shuts the armed socket
/// down, which wakes a blocked read or write at once. The descriptor is armed
/// only while its owner keeps the socket open and is disarmed (under the same
/// lock) before the socket may be closed or pooled, so neither ever touches a
/// descriptor that was reused.
class StopWatch {
public:
  using Clock = std::chrono::steady_clock;

  /// Watches `token` and, unless it is max(), `deadline`.
  explicit StopWatch(const std::stop_token& token, Clock::time_point deadline = Clock::time_point::max())
      : callback_(token, Fire{this}) {
    if (deadline != Clock::time_point::max()) {
      DeadlineTimer::instance().add(deadline, this);
      timer_ = true;
    }
  }
  ~StopWatch() {
    if (timer_) DeadlineTimer::instance().remove(this);
  }
  StopWatch(const StopWatch&) = delete;
  StopWatch& operator=(const StopWatch&) = delete;

  /// Watches the socket of `session` (connected now).
  void arm(Poco::Net::HTTPClientSession& session) {
    std::lock_guard lock(mutex_);
    fd_ = session.socket().impl()->sockfd();
    if (fired_ || expired_) ::shutdown(fd_, SHUT_RDWR);
  }
  /// Stops watching it: from now on it may be closed or pooled.
  void disarm() {
    std::lock_guard lock(mutex_);
    fd_ = -1;
  }
  /// Whether a stop was requested while this watch existed.
  bool fired() const { return fired_.load(); }
  /// Whether the deadline passed (and the armed socket, if any, was shut down).
  bool expired() const { return expired_.load(); }

private:
  friend class DeadlineTimer;
  struct Fire {
    StopWatch* watch;
    void operator()() noexcept { watch->shut(watch->fired_); }
  };
  void shut(std::atomic<bool>& flag) {
    std::lock_guard lock(mutex_);
    flag = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  std::mutex mutex_;
  int fd_ = -1;
  std::atomic<bool> fired_{false};
  std::atomic<bool> expired_{false};
  bool timer_ = false;           // registered with the DeadlineTimer (set once, by the constructor)
  bool due_ = false;             // the timer holds entry_ (under the timer's lock)
  DeadlineTimer::Entry entry_;
  std::stop_callback<Fire> callback_;  // last: unregistered (waiting for a running fire()) first
};

/// Disarms a watch when an attempt's scope ends, before its socket may close.
struct Disarm {
  StopWatch* watch;
  ~Disarm() {
    if (watch) watch->disarm();
  }
};

}  // namespace chainpp::http
