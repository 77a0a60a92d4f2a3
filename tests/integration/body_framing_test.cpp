// How HttpClient reads response bodies (the BodyReader of core/src/http/body_reader.cpp),
// against a raw TCP server in this process that answers each request with the
// next canned byte string of a script: chunked bodies (chunk extensions, hex
// case, trailers, size lines split across reads, large bodies), bodies the
// server cuts off, malformed chunked framing, and when a connection may go
// back to the pool.
#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>

#include "raw_server.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <string>

using namespace chainpp;
using Catch::Matchers::Message;
using chainpp::test::RawServer;
using chainpp::test::Reply;

namespace {

HttpRequest post(const RawServer& server) {
  HttpRequest r;
  r.url = server.url();
  r.headers = {{"Content-Type", "application/json"}};
  r.body = R"({"question":"framing"})";
  r.provider = "framing";
  return r;
}

// No retries, so that a failure is reported by the attempt that saw it.
TransportOptions no_retries() {
  TransportOptions o;
  o.max_retries = 0;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.read_timeout = std::chrono::milliseconds(2000);
  o.use_environment_proxy = false;
  return o;
}

std::string read_all(HttpBodyStream& stream) {
  std::string out;
  while (const auto piece = stream.read()) out.append(*piece);
  return out;
}

// The message of a ConnectionError for a body that broke off after a response with status 200 began.
std::string broke(const RawServer& server, const std::string& what) {
  return "framing: connection broke mid-response: " + what + " (" + server.authority() + ") (1 attempt)";
}

// The message of a ConnectionError for a body whose chunked framing is malformed.
std::string malformed(const RawServer& server, const std::string& what) {
  return "framing: malformed response body: " + what + " (" + server.authority() + ") (1 attempt)";
}

const std::string kChunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";

// A chunk extension, an upper- and a lower-case hex size, then a trailer.
const std::string kChunkedReply = kChunkedHead +
                                  "5;name=value\r\nHello\r\n"
                                  "1A\r\n, upper-case hex size 1A..\r\n"
                                  "1b\r\n and lower-case hex size 1b\r\n"
                                  "0\r\nX-Checksum: 1234\r\n\r\n";
const std::string kChunkedBody = "Hello, upper-case hex size 1A.. and lower-case hex size 1b";

// Bytes 0..255 in a scrambled order (CR and LF included) that differ from chunk to chunk.
std::string varied(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

}  // namespace

TEST_CASE("chunked body with a chunk extension, upper- and lower-case hex sizes and a trailer is read and its "
          "connection reused",
          "[framing]") {
  RawServer server({{kChunkedReply}, {kChunkedReply}});
  HttpClient client;

  const auto first = client.send(post(server), no_retries());
  CHECK(first.status == 200);
  CHECK(first.body == kChunkedBody);
  CHECK(client.idle_connections() == 1);

  const auto second = client.send(post(server), no_retries());
  CHECK(second.body == kChunkedBody);
  CHECK(server.connections() == 1);
  CHECK(client.idle_connections() == 1);
}

TEST_CASE("chunked body arriving 1 to 3 bytes at a time with size lines split across reads", "[framing]") {
  RawServer server({{kChunkedReply, true}, {kChunkedReply, true}});
  HttpClient client;

  CHECK(client.send(post(server), no_retries()).body == kChunkedBody);

  const auto stream = client.open(post(server), no_retries());
  CHECK(stream->status() == 200);
  CHECK(read_all(*stream) == kChunkedBody);
  CHECK(server.connections() == 1);
  CHECK(client.idle_connections() == 1);
}

TEST_CASE("large chunked body of 100000-byte chunks and a last odd-sized one", "[framing]") {
  std::string reply = kChunkedHead;
  std::string body;
  for (std::uint32_t i = 0; i < 10; ++i) {
    const std::string data = varied(100000, i + 1);
    reply += (i % 2 ? "186a0\r\n" : "186A0\r\n") + data + "\r\n";  // 0x186a0 = 100000
    body += data;
  }
  const std::string last = varied(12345, 99);
  reply += "3039\r\n" + last + "\r\n0\r\n\r\n";  // 0x3039 = 12345
  body += last;
  REQUIRE(body.size() == 1012345);
  RawServer server({{reply}, {reply}});
  HttpClient client;

  const auto whole = client.send(post(server), no_retries());
  CHECK(whole.body.size() == body.size());
  CHECK(whole.body == body);

  const auto stream = client.open(post(server), no_retries());
  const std::string streamed = read_all(*stream);
  CHECK(streamed.size() == body.size());
  CHECK(streamed == body);
  CHECK(server.connections() == 1);
  CHECK(client.idle_connections() == 1);
}

TEST_CASE("the server closes in the middle of the data of a chunk", "[framing]") {
  const std::string cut = kChunkedHead + "5\r\nHello\r\na\r\nabc";  // 3 of the 10 bytes of the second chunk
  RawServer server({{cut, false, true}, {cut, false, true}});
  HttpClient client;
  const std::string expected =
      broke(server, "connection closed in the middle of a chunk, after 8 body bytes");

  CHECK_THROWS_MATCHES(client.send(post(server), no_retries()), ConnectionError, Message(expected));

  // A stream hands out the bytes that arrived, then the error.
  const auto stream = client.open(post(server), no_retries());
  std::string got;
  try {
    while (const auto piece = stream->read()) got.append(*piece);
    FAIL("read() reached the end of a body that was cut off");
  } catch (const ConnectionError& e) {
    CHECK(std::string(e.what()) == expected);
    CHECK(e.status() == 200);
  }
  CHECK(got == "Helloabc");
  CHECK(server.connections() == 2);
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("the server closes after a chunk and before the next size line", "[framing]") {
  RawServer server({{kChunkedHead + "5\r\nHello\r\n", false, true}});
  HttpClient client;
  CHECK_THROWS_MATCHES(
      client.send(post(server), no_retries()), ConnectionError,
      Message(broke(server, "connection closed before the end of a chunked body, after 5 body bytes")));
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("an invalid chunk size line", "[framing]") {
  RawServer server({{kChunkedHead + "5\r\nHello\r\nzz\r\nmore\r\n0\r\n\r\n"}});
  HttpClient client;
  CHECK_THROWS_MATCHES(client.send(post(server), no_retries()), ConnectionError,
                       Message(malformed(server, "invalid chunk size line in a chunked body")));
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("a Content-Length body cut short by the server closing", "[framing]") {
  RawServer server({{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHello", false, true}});
  HttpClient client;
  CHECK_THROWS_MATCHES(
      client.send(post(server), no_retries()), ConnectionError,
      Message(broke(server, "connection closed after 5 of 10 body bytes")));
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("a body that ends when the server closes is read whole and its connection is not pooled", "[framing]") {
  const Reply until_close{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                          "no length, not chunked: the body ends with the connection",
                          false, true};
  RawServer server({until_close, until_close});
  HttpClient client;

  CHECK(client.send(post(server), no_retries()).body == "no length, not chunked: the body ends with the connection");
  CHECK(client.idle_connections() == 0);

  CHECK(client.send(post(server), no_retries()).body == "no length, not chunked: the body ends with the connection");
  CHECK(server.connections() == 2);
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("a 204 response without a body keeps its connection", "[framing]") {
  const Reply no_content{"HTTP/1.1 204 No Content\r\nX-Request-Id: req-204\r\n\r\n"};
  RawServer server({no_content, no_content});
  HttpClient client;

  const auto first = client.send(post(server), no_retries());
  CHECK(first.status == 204);
  CHECK(first.body.empty());
  CHECK(client.idle_connections() == 1);

  const auto second = client.send(post(server), no_retries());
  CHECK(second.status == 204);
  CHECK(second.body.empty());
  CHECK(server.connections() == 1);
  CHECK(client.idle_connections() == 1);
}

TEST_CASE("bytes after a Content-Length body leave the body exact and the connection unpooled", "[framing]") {
  RawServer server({{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHelloGARBAGE"},
                    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nWorld"}});
  HttpClient client;

  CHECK(client.send(post(server), no_retries()).body == "Hello");
  CHECK(client.idle_connections() == 0);

  CHECK(client.send(post(server), no_retries()).body == "World");  // on a new connection
  CHECK(server.connections() == 2);
  CHECK(client.idle_connections() == 1);
}

TEST_CASE("chunk data not followed by CRLF", "[framing]") {
  RawServer server({{kChunkedHead + "5\r\nHelloXX\r\n0\r\n\r\n"}});
  HttpClient client;
  CHECK_THROWS_MATCHES(client.send(post(server), no_retries()), ConnectionError,
                       Message(malformed(server, "no line break after a chunk of a chunked body")));
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("bytes after a response without a body leave the connection unpooled", "[framing]") {
  // The bytes arrive with the headers, in the session's own buffer.
  RawServer server({{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nbogus!"},
                    {"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nbogus!"},
                    {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmine"}});
  HttpClient client;

  CHECK(client.send(post(server), no_retries()).body.empty());
  CHECK(client.idle_connections() == 0);
  const auto no_content = client.send(post(server), no_retries());  // its own answer, on a new connection
  CHECK(no_content.status == 204);
  CHECK(no_content.body.empty());
  CHECK(client.idle_connections() == 0);
  CHECK(client.send(post(server), no_retries()).body == "mine");
  CHECK(server.connections() == 3);
}

TEST_CASE("a huge Content-Length cut short is a ConnectionError, not an allocation failure", "[framing]") {
  RawServer server({{"HTTP/1.1 200 OK\r\nContent-Length: 999999999999999\r\n\r\nHello", false, true}});
  HttpClient client;
  TransportOptions unlimited = no_retries();  // the default max_response_bytes refuses it before reading
  unlimited.max_response_bytes = std::numeric_limits<std::int64_t>::max();
  CHECK_THROWS_MATCHES(client.send(post(server), unlimited), ConnectionError,
                       Message(broke(server, "connection closed after 5 of 999999999999999 body bytes")));
}

TEST_CASE("chunk sizes with leading zeros, and framing lines too long", "[framing]") {
  const std::string long_trailer = "X-Long: " + std::string(5000, 'x') + "\r\n";
  RawServer server({{kChunkedHead + "0000000000000000000005\r\nHello\r\n0\r\n\r\n"},
                    {kChunkedHead + "5\r\nHello\r\n0\r\n" + long_trailer + "\r\n"},
                    {kChunkedHead + "5\r\nHello\r\n0\r\n" + long_trailer + "\r\n", true},
                    {kChunkedHead + "10000000000000000\r\nHello\r\n0\r\n\r\n"}});
  HttpClient client;
  CHECK(client.send(post(server), no_retries()).body == "Hello");
  // A trailer line beyond 4096 bytes, arriving whole or in pieces.
  const std::string too_long = malformed(server, "a line of the chunked framing longer than 4096 bytes");
  CHECK_THROWS_MATCHES(client.send(post(server), no_retries()), ConnectionError, Message(too_long));
  CHECK_THROWS_MATCHES(client.send(post(server), no_retries()), ConnectionError, Message(too_long));
  CHECK_THROWS_MATCHES(client.send(post(server), no_retries()), ConnectionError,
                       Message(malformed(server, "chunk size too large in a chunked body")));
}
