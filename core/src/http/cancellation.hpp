#pragma once
// Cancellation of a call in flight: the caller's std::stop_token wakes the
// transport out of a blocked connect, read, write or retry wait.
#include <Poco/Net/HTTPClientSession.h>

#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <stop_token>

namespace chainpp::http {

/// Cancels the I/O of a call when the caller requests a stop: the stop
/// callback shuts the armed socket down, which wakes a blocked read or write
/// at once. The descriptor is armed only while its owner keeps the socket
/// open and is disarmed (under the same lock) before the socket may be closed
/// or pooled, so the callback never touches a descriptor that was reused.
class StopWatch {
public:
  explicit StopWatch(const std::stop_token& token) : callback_(token, Fire{this}) {}
  StopWatch(const StopWatch&) = delete;
  StopWatch& operator=(const StopWatch&) = delete;

  /// Watches the socket of `session` (connected now).
  void arm(Poco::Net::HTTPClientSession& session) {
    std::lock_guard lock(mutex_);
    fd_ = session.socket().impl()->sockfd();
    if (fired_) ::shutdown(fd_, SHUT_RDWR);
  }
  /// Stops watching it: from now on it may be closed or pooled.
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

/// Disarms a watch when an attempt's scope ends, before its socket may close.
struct Disarm {
  StopWatch* watch;
  ~Disarm() {
    if (watch) watch->disarm();
  }
};

}  // namespace chainpp::http
