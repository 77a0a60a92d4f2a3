#pragma once
// A raw HTTP/1.1 server on 127.0.0.1 (port 0) for transport tests: it
// answers each request with the next canned byte string of a script and
// keeps the exact bytes of every request it received.
#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chainpp::test {

// One canned answer of the server.
struct Reply {
  std::string bytes;   // written as is: status line, headers and (part of) a body
  bool split = false;  // write it in pieces of 1, 2, 3, 1, 2, 3... bytes, 1 ms apart
  bool close = false;  // then close the connection (FIN): in the middle of a response when `bytes` stops there
};

// A raw HTTP/1.1 server on 127.0.0.1 with one thread. It reads each request
// (headers and Content-Length body) before answering it with the next reply
// of the script; a connection that asks for more than the script holds is
// closed. Closing shuts the sending side down (a clean FIN) and drops the
// socket once the client closed its side too, so the client never sees a
// reset.
class RawServer {
public:
  explicit RawServer(std::vector<Reply> script)
      : listener_(Poco::Net::SocketAddress("127.0.0.1", 0)), script_(std::move(script)), thread_([this] { serve(); }) {}
  ~RawServer() {
    stop_ = true;
    thread_.join();
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(listener_.address().port()) + "/framing"; }
  std::string authority() const { return "127.0.0.1:" + std::to_string(listener_.address().port()); }
  std::string base() const { return "http://" + authority(); }
  unsigned short port() const { return listener_.address().port(); }
  /// Connections accepted so far.
  int connections() const { return connections_.load(); }
  /// The exact bytes of each complete request received so far, in order.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

private:
  struct Conn {
    Poco::Net::StreamSocket socket;
    std::string in;        // received bytes not yet answered
    bool closing = false;  // shut down for sending: waits for the client to close
  };

  void serve() {
    while (!stop_) {
      Poco::Net::Socket::SocketList readable{listener_}, writable, failed;
      for (const auto& c : conns_) readable.push_back(c.socket);
      try {
        if (Poco::Net::Socket::select(readable, writable, failed, Poco::Timespan(0, 10000)) == 0) continue;
      } catch (const Poco::Exception&) {
        continue;
      }
      for (const auto& s : readable) {
        if (s == listener_) {
          accept();
          continue;
        }
        const auto it = std::find_if(conns_.begin(), conns_.end(), [&](const Conn& c) { return c.socket == s; });
        if (it != conns_.end() && !receive(*it)) conns_.erase(it);
      }
    }
  }

  void accept() {
    try {
      Conn c;
      c.socket = listener_.acceptConnection();
      c.socket.setNoDelay(true);  // each piece of a split reply leaves at once
      c.socket.setSendTimeout(Poco::Timespan(2, 0));
      c.socket.setReceiveTimeout(Poco::Timespan(2, 0));
      conns_.push_back(std::move(c));
      ++connections_;
    } catch (const Poco::Exception&) {
    }
  }

  // Reads what arrived and answers every complete request; false when the
  // connection is over (the client closed it, or it failed).
  bool receive(Conn& c) {
    try {
      char buffer[4096];
      const int n = c.socket.receiveBytes(buffer, sizeof buffer);
      if (n <= 0) return false;
      if (c.closing) return true;  // ignored
      c.in.append(buffer, static_cast<std::size_t>(n));
      while (const std::size_t size = request_size(c.in)) {
        {
          std::lock_guard lock(mutex_);
          requests_.push_back(c.in.substr(0, size));
        }
        c.in.erase(0, size);
        if (next_ == script_.size()) {
          close(c);
          break;
        }
        const Reply& reply = script_[next_++];
        write(c.socket, reply);
        if (reply.close) {
          close(c);
          break;
        }
      }
      return true;
    } catch (const Poco::Exception&) {
      return false;
    }
  }

  // The size of the complete request at the start of `in`, 0 while incomplete.
  static std::size_t request_size(const std::string& in) {
    const auto head = in.find("\r\n\r\n");
    if (head == std::string::npos) return 0;
    std::string lower = in.substr(0, head);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    std::size_t length = 0;
    if (const auto at = lower.find("\r\ncontent-length:"); at != std::string::npos)
      length = std::stoul(lower.substr(at + 17));
    const std::size_t total = head + 4 + length;
    return in.size() >= total ? total : 0;
  }

  static void write_all(Poco::Net::StreamSocket& socket, const char* data, std::size_t size) {
    while (size > 0) {
      const int n = socket.sendBytes(data, static_cast<int>(size));
      if (n <= 0) throw Poco::IOException("send failed");
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  static void write(Poco::Net::StreamSocket& socket, const Reply& reply) {
    if (!reply.split) return write_all(socket, reply.bytes.data(), reply.bytes.size());
    std::size_t piece = 1;
    for (std::size_t at = 0; at < reply.bytes.size(); at += piece, piece = piece % 3 + 1) {
      write_all(socket, reply.bytes.data() + at, std::min(piece, reply.bytes.size() - at));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  static void close(Conn& c) {
    c.socket.shutdownSend();
    c.closing = true;
  }

  Poco::Net::ServerSocket listener_;
  std::vector<Reply> script_;
  std::size_t next_ = 0;
  std::vector<Conn> conns_;
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once everything it uses exists
};

}  // namespace chainpp::test
