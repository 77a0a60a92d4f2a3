// The memory limits of a call (max_response_bytes, max_sse_event_bytes,
// max_stream_bytes) against a loopback server that sends without end: each
// case runs the client in a child process limited to 1 GiB of address space
// and checks the error that names the limit (never std::bad_alloc), with the
// defaults and with the settings of a model's configuration.
#include "generating_server.hpp"
#include "limited_child.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/registry.hpp>
#include <chainpp/sse.hpp>

#include <cstring>

using namespace chainpp;
using chainpp::test::GeneratingServer;

namespace {

constexpr rlim_t kAddressSpace = rlim_t{1} << 30;
constexpr std::chrono::seconds kChildTimeout{60};

// The error of `call`, as the child saw it: "<type>: <what()>".
std::string in_child(const std::function<void()>& call) {
  return chainpp::test::run_limited(
             [&]() -> std::string {
               try {
                 call();
                 return "no error";
               } catch (const ResponseTooLargeError& e) {
                 return "ResponseTooLargeError: " + std::string(e.what());
               }
             },
             kAddressSpace, kChildTimeout)
      .text;
}

TransportOptions options() {
  TransportOptions o;
  o.read_timeout = std::chrono::seconds(30);  // longer than the child may take: a read that waits fails the test
  o.use_environment_proxy = false;
  return o;
}

HttpRequest request(const GeneratingServer& server) {
  HttpRequest r;
  r.url = server.base_url() + "/limits";
  r.body = "{}";
  r.provider = "limits";
  return r;
}

std::string too_large(const std::string& what, const std::string& setting, std::int64_t limit) {
  return "ResponseTooLargeError: limits: " + what + " exceeds " + setting + " (" + std::to_string(limit) +
         " bytes); raise " + setting + " to accept it (request id req-1)";
}

const std::string kChunkedHead =
    "HTTP/1.1 200 OK\r\nx-request-id: req-1\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string kChunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";  // 64 KiB

void read_stream(const GeneratingServer& server, TransportOptions o = options()) {
  SseEventReader events(HttpClient().open(request(server), o), "limits", o.max_sse_event_bytes);
  while (events.next()) {
  }
}

PluginRegistry& registry() {
  static PluginRegistry r;
  static bool loaded = (r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_openai.so"), true);
  (void)loaded;
  return r;
}

std::shared_ptr<ChatModel> model(const GeneratingServer& server, const std::string& extra = "") {
  return registry().create("openai", ConfigNode::parse_yaml("provider: openai\nmodel: gpt-4o-mini\nbase_url: " +
                                                                server.base_url() + "/v1/\napi_key: test-key\n" +
                                                                extra,
                                                            "limits.yaml"));
}

// Streams a model's reply and merges its chunks, as the CLI does.
void stream_and_merge(const GeneratingServer& server, const std::string& extra = "") {
  AIMessageChunk merged;
  for (auto& chunk : model(server, extra)->stream(messages_from_pairs({{"human", "hi"}}))) merged += chunk;
}

std::string sse_event(const std::string& delta) {
  return "data: {\"choices\":[{\"index\":0,\"delta\":" + delta + "}]}\n\n";
}

const std::string kSseHead =
    "HTTP/1.1 200 OK\r\nx-request-id: req-1\r\nContent-Type: text/event-stream\r\n\r\n";  // ends with the connection

}  // namespace

TEST_CASE("a Content-Length beyond max_response_bytes is refused before the body is read") {
  // The server sends the head only: reading the body would wait for the 30 s read timeout.
  GeneratingServer server("HTTP/1.1 200 OK\r\nx-request-id: req-1\r\nContent-Length: 1000000000000\r\n\r\n", "");
  CHECK(in_child([&] { HttpClient().send(request(server), options()); }) ==
        too_large("response body of 1000000000000 bytes (Content-Length)", "max_response_bytes", 67108864));
  CHECK(server.connections() == 1);  // not retried
}

TEST_CASE("a fast endless body of a huge Content-Length ends at max_response_bytes") {
  GeneratingServer server("HTTP/1.1 200 OK\r\nx-request-id: req-1\r\nContent-Length: 1000000000000\r\n\r\n",
                          std::string(0x10000, 'x'));
  CHECK(in_child([&] { HttpClient().send(request(server), options()); }) ==
        too_large("response body of 1000000000000 bytes (Content-Length)", "max_response_bytes", 67108864));
}

TEST_CASE("a chunked body growing past max_response_bytes ends the call") {
  GeneratingServer server(kChunkedHead, kChunk);
  CHECK(in_child([&] { HttpClient().send(request(server), options()); }) ==
        too_large("response body", "max_response_bytes", 67108864));
  CHECK(server.connections() == 1);
}

TEST_CASE("a close-delimited body growing past max_response_bytes ends the call") {
  GeneratingServer server("HTTP/1.1 200 OK\r\nx-request-id: req-1\r\n\r\n", std::string(0x10000, 'x'));
  TransportOptions o = options();
  o.max_response_bytes = 1 << 20;
  CHECK(in_child([&] { HttpClient().send(request(server), o); }) ==
        too_large("response body", "max_response_bytes", 1 << 20));
}

TEST_CASE("the body of an error status is bounded by max_response_bytes too, and not retried") {
  SECTION("chunked") {
    GeneratingServer server("HTTP/1.1 500 Internal Server Error\r\nx-request-id: req-1\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n",
                            kChunk);
    CHECK(in_child([&] { HttpClient().send(request(server), options()); }) ==
          too_large("HTTP 500 error body", "max_response_bytes", 67108864));
    CHECK(server.connections() == 1);
  }
  SECTION("by Content-Length, on a stream") {
    GeneratingServer server("HTTP/1.1 503 Service Unavailable\r\nx-request-id: req-1\r\n"
                            "Content-Length: 100000000\r\n\r\n",
                            "");
    CHECK(in_child([&] { read_stream(server); }) ==
          too_large("HTTP 503 error body of 100000000 bytes (Content-Length)", "max_response_bytes", 67108864));
    CHECK(server.connections() == 1);
  }
}

TEST_CASE("one SSE line or event beyond max_sse_event_bytes ends the stream") {
  SECTION("a data: line that never ends, chunked") {
    GeneratingServer server(kChunkedHead + "6\r\ndata: \r\n", kChunk);
    CHECK(in_child([&] { read_stream(server); }) == too_large("a stream line", "max_sse_event_bytes", 8388608));
  }
  SECTION("a comment that never ends, close-delimited") {
    GeneratingServer server(kSseHead + ":", std::string(0x10000, 'x'));
    TransportOptions o = options();
    o.max_sse_event_bytes = 100000;
    CHECK(in_child([&] { read_stream(server, o); }) == too_large("a stream line", "max_sse_event_bytes", 100000));
  }
  SECTION("an event of data: lines that never ends") {
    GeneratingServer server(kSseHead, "data: " + std::string(1000, 'x') + "\n");
    CHECK(in_child([&] { read_stream(server); }) == too_large("a stream event", "max_sse_event_bytes", 8388608));
  }
}

TEST_CASE("an endless stream of small chunks ends at max_stream_bytes, text or tool arguments") {
  SECTION("text, the default limit") {
    GeneratingServer server(kSseHead, sse_event("{\"content\":\"" + std::string(1000, 'x') + "\"}"));
    CHECK(in_child([&] { stream_and_merge(server); }) ==
          "ResponseTooLargeError: openai: streamed content (text and tool arguments) exceeds max_stream_bytes "
          "(33554432 bytes); raise max_stream_bytes to accept it (request id req-1)");
  }
  SECTION("tool arguments, the limit of the configuration") {
    GeneratingServer server(
        kSseHead + sse_event(R"({"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":""}}]})"),
        sse_event(R"({"tool_calls":[{"index":0,"function":{"arguments":"0123456789abcdef"}}]})"));
    CHECK(in_child([&] { stream_and_merge(server, "max_stream_bytes: 1048576\n"); }) ==
          "ResponseTooLargeError: openai: streamed content (text and tool arguments) exceeds max_stream_bytes "
          "(1048576 bytes); raise max_stream_bytes to accept it (request id req-1)");
  }
}

TEST_CASE("a model's limits come from its configuration") {
  GeneratingServer server("HTTP/1.1 200 OK\r\nx-request-id: req-1\r\n\r\n", std::string(0x10000, 'x'));
  CHECK(in_child([&] { model(server, "max_response_bytes: 200000\n")->invoke(messages_from_pairs({{"human", "hi"}})); }) ==
        "ResponseTooLargeError: openai: response body exceeds max_response_bytes (200000 bytes); raise "
        "max_response_bytes to accept it (request id req-1)");
  GeneratingServer sse(kSseHead + "data: ", std::string(0x10000, 'x'));
  CHECK(in_child([&] { stream_and_merge(sse, "max_sse_event_bytes: 4096\n"); }) ==
        "ResponseTooLargeError: openai: a stream line exceeds max_sse_event_bytes (4096 bytes); raise "
        "max_sse_event_bytes to accept it (request id req-1)");
}

TEST_CASE("a size limit out of range is a configuration error at its place") {
  GeneratingServer server("HTTP/1.1 200 OK\r\n\r\n", "");
  for (const char* key : {"max_response_bytes", "max_sse_event_bytes", "max_stream_bytes"}) {
    CAPTURE(key);
    const std::string expected = std::string("limits.yaml:5:") + std::to_string(std::strlen(key) + 3) + ": '" + key +
                                 "' must be a number of bytes between 1024 and 1099511627776";
    CHECK_THROWS_MATCHES(model(server, std::string(key) + ": 1023\n"), ConfigError, Catch::Matchers::Message(expected));
    CHECK_THROWS_MATCHES(model(server, std::string(key) + ": 1099511627777\n"), ConfigError,
                         Catch::Matchers::Message(expected));
    CHECK_THROWS_AS(model(server, std::string(key) + ": 64MiB\n"), ConfigError);
  }
  CHECK_NOTHROW(model(server, "max_response_bytes: 1024\nmax_sse_event_bytes: 1099511627776\n"));
}
