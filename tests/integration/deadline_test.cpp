// Deadlines of a call (total_timeout) in every phase, and the stall timeout of
// streams (stream_idle_timeout), against a raw server in this process that
// trickles its answer a byte at a time: a per-read timeout alone never ends
// such a call, the deadline must.
#include <chainpp/chat_model.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/registry.hpp>
#include <chainpp/sse.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace chainpp;

using std::chrono::milliseconds;

namespace {

auto says(const std::string& text) { return Catch::Matchers::Message(text); }

// The answer to one connection: `at_once`, then `trickle` a byte at a time,
// `gap` apart. The connection then stays open (a close-delimited body never
// ends) until the client closes it.
struct Reply {
  std::string at_once;
  std::string trickle;
  milliseconds gap{300};
  bool read_request = true;  // false: read nothing, answer nothing, until the client closes
};

// A listening socket on 127.0.0.1, port 0.
int listen_on_loopback(int backlog, unsigned short& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    FAIL("cannot listen on 127.0.0.1");
  port = ntohs(a.sin_port);
  return fd;
}

// A raw HTTP server: connection i is answered with replies[min(i, n - 1)],
// each on its own thread, once its request (headers and Content-Length body)
// arrived.
class TrickleServer {
public:
  explicit TrickleServer(std::vector<Reply> replies)
      : listener_(listen_on_loopback(16, port_)), replies_(std::move(replies)), thread_([this] { serve(); }) {}
  explicit TrickleServer(Reply reply) : TrickleServer(std::vector<Reply>{std::move(reply)}) {}
  ~TrickleServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  TrickleServer(const TrickleServer&) = delete;
  TrickleServer& operator=(const TrickleServer&) = delete;

  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + authority() + "/openai/deployments/d/chat/completions"; }
  /// Requests received so far.
  int requests() const { return requests_.load(); }

private:
  void serve() {
    std::vector<std::thread> connections;
    std::size_t accepted = 0;
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      const Reply& reply = replies_[std::min(accepted++, replies_.size() - 1)];
      connections.emplace_back([this, fd, &reply] { answer(fd, reply); });
    }
    for (auto& t : connections) t.join();
  }

  // Waits up to `ms` for the client; false once it closed (or stop_).
  bool wait(int fd, milliseconds ms) {
    const auto until = std::chrono::steady_clock::now() + ms;
    while (!stop_) {
      const auto left = std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return true;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 10))) > 0) {
        char c[512];
        if (::recv(fd, c, sizeof c, 0) <= 0) return false;  // closed (more bytes are ignored)
      }
    }
    return false;
  }

  void answer(int fd, const Reply& reply) {
    if (!reply.read_request) {
      while (!stop_) {
        pollfd p{fd, POLLRDHUP, 0};
        if (::poll(&p, 1, 10) > 0) break;  // the client closed
      }
      return (void)::close(fd);
    }
    std::string in;
    for (;;) {  // the request: headers, then Content-Length bytes
      const auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = in.substr(0, end);
        std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
        const auto cl = head.find("content-length:");
        const std::size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15));
        if (in.size() >= end + 4 + length) break;
      }
      pollfd p{fd, POLLIN, 0};
      if (stop_) return (void)::close(fd);
      if (::poll(&p, 1, 10) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return (void)::close(fd);
      in.append(buffer, static_cast<std::size_t>(n));
    }
    ++requests_;
    bool open = ::send(fd, reply.at_once.data(), reply.at_once.size(), MSG_NOSIGNAL) >= 0;
    for (std::size_t i = 0; open && i < reply.trickle.size(); ++i)
      open = wait(fd, reply.gap) && ::send(fd, &reply.trickle[i], 1, MSG_NOSIGNAL) == 1;
    while (open) open = wait(fd, milliseconds(1000));
    ::close(fd);
  }

  unsigned short port_ = 0;
  int listener_;
  std::vector<Reply> replies_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;  // last: starts once the rest is ready
};

HttpRequest request_to(const TrickleServer& server) {
  HttpRequest r;
  r.url = server.url();
  r.headers = {{"Content-Type", "application/json"}};
  r.body = R"({"messages":[]})";
  r.provider = "azure_openai";
  return r;
}

TransportOptions deadline_of(milliseconds total) {
  TransportOptions o;
  o.total_timeout = total;
  o.read_timeout = milliseconds(5000);  // never reached: a byte comes every 0.3 s
  o.initial_backoff_seconds = 0.001;
  o.max_backoff_seconds = 0.002;
  return o;
}

const std::string kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\napim-request-id: rid-sse\r\n";

// Every event of a stream until it ends or throws; the count arrives in `events`.
void drain(SseEventReader& reader, int& events) {
  while (reader.next()) ++events;
}

// The error of a stream of `server` that stalled for `seconds`.
std::string stall_text(const TrickleServer& server, const std::string& seconds) {
  return "azure_openai: no stream event for " + seconds + " s (stream_idle_timeout) (" + server.authority() +
         ") (request id rid-sse, 1 attempt)";
}

// Reads a stream of `server` with `idle` as its stream_idle_timeout until
// the stall error (`seconds`: `idle` as the message says it); the events before it.
int events_before_stall(const TrickleServer& server, milliseconds idle, const std::string& seconds) {
  HttpClient client;
  auto o = deadline_of(milliseconds(0));
  o.stream_idle_timeout = idle;
  SseEventReader reader(client.open(request_to(server), o), "azure_openai");
  int received = 0;
  CHECK_THROWS_MATCHES(drain(reader, received), TimeoutError, says(stall_text(server, seconds)));
  return received;
}

}  // namespace

TEST_CASE("a trickled status line ends at total_timeout, for a call and a stream") {
  TrickleServer server(Reply{"", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"});
  HttpClient client;
  const std::string expected = "azure_openai: total_timeout of 1 s reached while waiting for the response headers (" +
                               server.authority() + ") (1 attempt)";
  CHECK_THROWS_MATCHES(client.send(request_to(server), deadline_of(milliseconds(1000))), TimeoutError,
                       says(expected));
  CHECK_THROWS_MATCHES(client.open(request_to(server), deadline_of(milliseconds(1000))), TimeoutError,
                       says(expected));
  CHECK(server.requests() == 2);  // the deadline is final: no retry
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("trickled response headers end at total_timeout") {
  TrickleServer server(Reply{"HTTP/1.1 200 OK\r\n", "x-padding: " + std::string(40, 'a') + "\r\n\r\n"});
  HttpClient client;
  try {
    client.send(request_to(server), deadline_of(milliseconds(1000)));
    FAIL("expected TimeoutError");
  } catch (const TimeoutError& e) {
    CHECK(std::string(e.what()) == "azure_openai: total_timeout of 1 s reached while waiting for the response "
                                   "headers (" + server.authority() + ") (1 attempt)");
    CHECK(e.status() == 0);
  }
}

TEST_CASE("a trickled Content-Length body ends at total_timeout") {
  TrickleServer server(Reply{"HTTP/1.1 200 OK\r\nContent-Length: 64\r\napim-request-id: rid-body\r\n\r\n",
                             std::string(64, 'a')});
  HttpClient client;
  try {
    client.send(request_to(server), deadline_of(milliseconds(1000)));
    FAIL("expected TimeoutError");
  } catch (const TimeoutError& e) {
    CHECK(std::string(e.what()) == "azure_openai: total_timeout of 1 s reached while reading the response body (" +
                                       server.authority() + ") (request id rid-body, 1 attempt)");
    CHECK(e.status() == 200);
    CHECK(e.request_id() == "rid-body");
  }
  CHECK(server.requests() == 1);
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("a trickled stream ends at total_timeout after the events that arrived") {
  std::string events;
  for (int i = 2; i < 12; ++i) events += "data: {\"n\":" + std::to_string(i) + "}\n\n";
  // Close-delimited: the shutdown at the deadline must not pass for the end of the body.
  TrickleServer server(Reply{kSseHead + "\r\ndata: {\"n\":1}\n\n", events});
  HttpClient client;
  SseEventReader reader(client.open(request_to(server), deadline_of(milliseconds(1000))), "azure_openai");
  int received = 0;
  CHECK_THROWS_MATCHES(drain(reader, received), TimeoutError,
                       says("azure_openai: total_timeout of 1 s reached while reading the response body (" +
                               server.authority() + ") (request id rid-sse, 1 attempt)"));
  CHECK(received == 1);  // the second event needs 4 s at this pace
}

TEST_CASE("a request body the server does not read ends at total_timeout while sending") {
  TrickleServer server(Reply{"", "", milliseconds(0), false});
  HttpClient client;
  HttpRequest r = request_to(server);
  r.body.assign(64 << 20, 'a');  // more than the socket buffers of both ends hold
  CHECK_THROWS_MATCHES(client.send(r, deadline_of(milliseconds(1000))), TimeoutError,
                       says("azure_openai: total_timeout of 1 s reached while sending the request (" +
                            server.authority() + ") (1 attempt)"));
}

TEST_CASE("a retry wait longer than the time left is not begun") {
  int sleeps = 0;
  HttpClient client;
  client.set_retry_hooks_for_test([&](double) { ++sleeps; }, [] { return 0.0; });
  auto o = deadline_of(milliseconds(1000));
  const std::string unavailable = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n";
  {
    TrickleServer server(Reply{unavailable + "retry-after: 3\r\n\r\n", ""});
    CHECK_THROWS_MATCHES(client.send(request_to(server), o), ServerError,
                         says("azure_openai: HTTP 503: Service Unavailable (1 attempt)"));
    CHECK(sleeps == 0);
    CHECK(server.requests() == 1);
  }
  // A wait within the time left is made.
  TrickleServer server(Reply{unavailable + "retry-after-ms: 10\r\n\r\n", ""});
  CHECK_THROWS_MATCHES(client.send(request_to(server), o), ServerError,
                       says("azure_openai: HTTP 503: Service Unavailable (3 attempts)"));
  CHECK(sleeps == 2);
  CHECK(server.requests() == 3);
}

TEST_CASE("a connect that never completes is named as the connect") {
  // A loopback listener whose backlog is full: further connects are never answered.
  unsigned short port = 0;
  const int listener = listen_on_loopback(0, port);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(fd);
  }
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  r.provider = "azure_openai";
  const std::string at = " (127.0.0.1:" + std::to_string(port) + ")";
  HttpClient client;
  auto o = deadline_of(milliseconds(0));
  o.connect_timeout = milliseconds(300);
  o.max_retries = 0;
  CHECK_THROWS_MATCHES(client.send(r, o), TimeoutError,
                       says("azure_openai: timed out connecting" + at + " (1 attempt)"));
  o = deadline_of(milliseconds(300));  // shorter than the connect timeout, and final: no retry
  CHECK_THROWS_MATCHES(client.send(r, o), TimeoutError,
                       says("azure_openai: total_timeout of 0.3 s reached while connecting" + at + " (1 attempt)"));
  for (const int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST_CASE("stream_idle_timeout ends a stream that sends only keep-alive comments") {
  std::string comments;
  for (int i = 0; i < 10; ++i) comments += ": keep-alive\n\n";
  TrickleServer server(Reply{kSseHead + "\r\ndata: {\"n\":1}\n\n", comments, milliseconds(100)});
  CHECK(events_before_stall(server, milliseconds(1000), "1") == 1);
}

TEST_CASE("stream_idle_timeout ends a stream that sends nothing") {
  TrickleServer server(Reply{kSseHead + "\r\n", ""});
  CHECK(events_before_stall(server, milliseconds(500), "0.5") == 0);
}

TEST_CASE("a stream whose events come faster than stream_idle_timeout completes") {
  std::string body;
  for (int i = 1; i <= 5; ++i) body += "data: {\"n\":" + std::to_string(i) + "}\n\n";
  body += "data: [DONE]\n\n";
  TrickleServer server(
      Reply{kSseHead + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n", body, milliseconds(10)});
  HttpClient client;
  auto o = deadline_of(milliseconds(0));
  o.stream_idle_timeout = milliseconds(2000);  // an event every ~0.15 s, a byte every 10 ms
  SseEventReader reader(client.open(request_to(server), o), "azure_openai");
  int received = 0;
  drain(reader, received);
  CHECK(received == 5);
  CHECK(client.idle_connections() == 1);  // read to its end: pooled
}

TEST_CASE("stream_idle_timeout from a model's configuration ends its stream") {
  static PluginRegistry registry;
  static const bool loaded = (registry.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so"), true);
  (void)loaded;
  TrickleServer server(Reply{kSseHead + "\r\n", ""});
  const auto model = registry.create(
      "azure_openai",
      ConfigNode::parse_yaml("provider: azure_openai\nazure_deployment: d\nazure_endpoint: http://" +
                                 server.authority() + "\napi_version: 2024-10-21\napi_key: test-key\n"
                                                      "stream_idle_timeout: 0.5\n",
                             "app.yaml"));
  const Messages messages = messages_from_pairs({{"human", "hi"}});
  CHECK_THROWS_MATCHES(
      [&] {
        for (const auto& chunk : model->stream(messages)) (void)chunk;
      }(),
      TimeoutError, says(stall_text(server, "0.5")));
}
