#pragma once
// A loopback HTTP server (127.0.0.1, port 0) with one thread that answers
// every request with a fixed head and then a body it generates: one unit
// repeated for ever (until the client closes), or nothing more while the
// connection stays open. For the memory limits: bodies of any size without
// holding them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

namespace chainpp::test {

class GeneratingServer {
public:
  /// Answers with `head` (status line, headers, blank line, perhaps a body's
  /// start), then `unit` again and again; an empty `unit` sends nothing more
  /// and waits for the client to close.
  GeneratingServer(std::string head, std::string unit) : head_(std::move(head)), unit_(std::move(unit)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_, 8) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &size) != 0)
      throw std::runtime_error("GeneratingServer: no loopback socket");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~GeneratingServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  GeneratingServer(const GeneratingServer&) = delete;
  GeneratingServer& operator=(const GeneratingServer&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
  /// Connections accepted so far.
  int connections() const { return connections_.load(); }

private:
  // Waits up to 50 ms for `fd` to be ready for `events`; false on stop.
  bool ready(int fd, short events) const {
    while (!stop_) {
      pollfd p{fd, events, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  void serve() {
    while (ready(listener_, POLLIN)) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      answer(fd);
      ::close(fd);
    }
  }

  // Reads the request (its head and Content-Length body), then answers it.
  void answer(int fd) {
    std::string in;
    char buffer[4096];
    for (;;) {
      const auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto at = in.find("Content-Length: ");
        const std::size_t length = at < end ? std::stoul(in.substr(at + 16)) : 0;
        if (in.size() >= end + 4 + length) break;
      }
      if (!ready(fd, POLLIN)) return;
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      in.append(buffer, static_cast<std::size_t>(n));
    }
    if (!send_all(fd, head_)) return;
    if (unit_.empty()) {
      while (ready(fd, POLLIN) && ::recv(fd, buffer, sizeof buffer, 0) > 0) {
      }
      return;
    }
    while (send_all(fd, unit_)) {
    }
  }

  bool send_all(int fd, const std::string& bytes) const {
    for (std::size_t at = 0; at < bytes.size();) {
      if (!ready(fd, POLLOUT)) return false;
      const ssize_t n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;  // the client closed
      at += static_cast<std::size_t>(n);
    }
    return true;
  }

  std::string head_;
  std::string unit_;
  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace chainpp::test
