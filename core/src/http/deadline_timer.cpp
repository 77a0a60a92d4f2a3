// The DeadlineTimer: one thread that shuts down the sockets of calls whose
// total_timeout passed (see cancellation.hpp).
#include "http/cancellation.hpp"

#include <thread>

namespace chainpp::http {

DeadlineTimer& DeadlineTimer::instance() {
  static DeadlineTimer* timer = new DeadlineTimer();  // never destroyed: usable during static destruction
  return *timer;
}

DeadlineTimer::DeadlineTimer() { std::thread([this] { run(); }).detach(); }

void DeadlineTimer::add(Clock::time_point deadline, StopWatch* watch) {
  std::lock_guard lock(mutex_);
  const bool first = due_.empty() || deadline < due_.begin()->first;
  watch->entry_ = due_.emplace(deadline, watch);
  watch->due_ = true;
  if (first) wake_.notify_one();
}

void DeadlineTimer::remove(StopWatch* watch) {
  std::lock_guard lock(mutex_);  // run() expires watches under this lock
  if (watch->due_) due_.erase(watch->entry_);
  watch->due_ = false;
}

void DeadlineTimer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (due_.empty()) {
      wake_.wait(lock);
      continue;
    }
    const auto next = due_.begin()->first;
    if (Clock::now() < next) {
      wake_.wait_until(lock, next);
      continue;
    }
    StopWatch* watch = due_.begin()->second;
    due_.erase(due_.begin());
    watch->due_ = false;
    watch->shut(watch->expired_);
  }
}

}  // namespace chainpp::http
