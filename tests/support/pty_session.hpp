#pragma once
// A program run on a pseudo-terminal for a test, as a user's shell runs it:
// the terminal is its controlling terminal and its standard input, output and
// error, so line editing, Ctrl-C (byte 0x03, SIGINT) and Ctrl-D work. Every
// wait is bounded.
//
//   chainpp::test::PtySession chat({"env", "X=1", CHAINPP_CLI, "chat", "-m", "gpt-4o"});
//   REQUIRE(chat.read_until("> "));
//   chat.write("hello\r");
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace chainpp::test {

class PtySession {
public:
  /// Runs `argv` (argv[0] searched in PATH) on a new pseudo-terminal, 80x24.
  explicit PtySession(std::vector<std::string> argv) {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0)
      throw std::runtime_error("PtySession: no pseudo-terminal");
    const std::string slave_name = ::ptsname(master_);
    std::vector<char*> args;  // built before fork(): the child only calls async-signal-safe functions
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("PtySession: fork() failed");
    if (pid_ == 0) {
      ::setsid();  // the terminal opened next becomes the controlling terminal
      const int slave = ::open(slave_name.c_str(), O_RDWR);
      if (slave < 0) ::_exit(126);
      winsize size{24, 80, 0, 0};
      ::ioctl(slave, TIOCSWINSZ, &size);
      ::dup2(slave, STDIN_FILENO);
      ::dup2(slave, STDOUT_FILENO);
      ::dup2(slave, STDERR_FILENO);
      if (slave > STDERR_FILENO) ::close(slave);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~PtySession() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
  }
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  /// Types `bytes` on the terminal.
  void write(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(master_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) throw std::runtime_error("PtySession: write failed");
      done += static_cast<std::size_t>(n);
    }
  }

  /// Reads until what was printed since the last match holds `text` (at most
  /// `seconds`); whether it does. The text read is in output().
  bool read_until(const std::string& text, int seconds = 20) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (output_.find(text, mark_) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      pollfd p{master_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      char buf[4096];
      const ssize_t n = ::read(master_, buf, sizeof buf);
      if (n <= 0) return false;  // EIO: the program closed the terminal
      output_.append(buf, static_cast<std::size_t>(n));
    }
    mark_ = output_.find(text, mark_) + text.size();
    return true;
  }

  /// Everything printed so far.
  const std::string& output() const { return output_; }

  /// Reads what is left and waits for the program to end (at most `seconds`);
  /// its exit code, or -1 when it did not end or was killed by a signal.
  int wait(int seconds = 20) {
    read_until(std::string("\0never\0", 7), seconds);  // to the end of its output
    for (int i = 0; i < seconds * 50; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(20000);
    }
    return -1;
  }

private:
  int master_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string output_;
  std::size_t mark_ = 0;
};

}  // namespace chainpp::test
