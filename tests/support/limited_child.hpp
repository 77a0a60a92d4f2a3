#pragma once
// Runs a piece of a test in a child process (fork) under a hard address-space
// limit (setrlimit RLIMIT_AS), so that a client that holds more than it
// should fails there, with std::bad_alloc, instead of growing the test. The
// child sends back what the piece returned, or the exception it ended with,
// through a pipe; a child that takes longer than the timeout is killed.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <functional>
#include <new>
#include <string>

namespace chainpp::test {

struct ChildResult {
  std::string text;  ///< what the piece returned, "exception: <what()>", "std::bad_alloc", or "timed out"
  long max_rss_kib = 0;  ///< the child's peak resident set
};

/// Runs `piece` in a child limited to `address_space` bytes of address space,
/// for at most `timeout`. Under a sanitizer (ASan reserves terabytes of
/// shadow memory, and its runtime and TSan's can deadlock in a child forked
/// from a process with threads) the piece runs in this process, unlimited.
inline ChildResult run_limited(const std::function<std::string()>& piece, rlim_t address_space,
                               std::chrono::seconds timeout) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  (void)address_space;
  (void)timeout;
  ChildResult in_process;
  try {
    in_process.text = piece();
  } catch (const std::bad_alloc&) {
    in_process.text = "std::bad_alloc";
  } catch (const std::exception& e) {
    in_process.text = std::string("exception: ") + e.what();
  }
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  in_process.max_rss_kib = self.ru_maxrss;
  return in_process;
#else
  int fds[2];
  if (::pipe(fds) != 0) return {"pipe() failed"};
  const pid_t pid = ::fork();
  if (pid < 0) return {"fork() failed"};
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    const rlimit limit{address_space, address_space};
    ::setrlimit(RLIMIT_AS, &limit);
    try {
      out = piece();
    } catch (const std::bad_alloc&) {
      out = "std::bad_alloc";
    } catch (const std::exception& e) {
      out = std::string("exception: ") + e.what();
    }
    for (std::size_t at = 0; at < out.size();) {
      const ssize_t n = ::write(fds[1], out.data() + at, out.size() - at);
      if (n <= 0) break;
      at += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  ChildResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fds[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      timed_out = true;
      break;
    }
    char buffer[4096];
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;  // the child is done
    result.text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) {
    ::kill(pid, SIGKILL);
    result.text = "timed out";
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  result.max_rss_kib = usage.ru_maxrss;
  return result;
#endif
}

}  // namespace chainpp::test
