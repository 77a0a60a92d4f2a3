// HttpClient and SseParser against the emulator over loopback: plain calls,
// streams, every fault, error mapping and connection reuse.
#include "emulator_process.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/sse.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stop_token>
#include <thread>

using namespace chainpp;
using chainpp::test::EmulatorProcess;

namespace {

const char* kSeedBody =
    R"({"messages":[{"role":"system","content":"You are a helpful assistant that translates English to French. Translate the user sentence."},{"role":"user","content":"I love programming."}]})";
const char* kSeedStreamBody =
    R"({"messages":[{"role":"system","content":"You are a helpful assistant that translates English to French. Translate the user sentence."},{"role":"user","content":"I love programming."}],"stream":true,"stream_options":{"include_usage":true}})";

EmulatorProcess& emulator() {
  static EmulatorProcess emu({"--quiet"});
  return emu;
}

std::string request_id(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012x", n);
  return buf;
}

HttpRequest azure(const std::string& body, const std::string& fault = {}, const std::string& deployment = "gpt-35-turbo") {
  HttpRequest r;
  r.url = emulator().base_url() + "/openai/deployments/" + deployment + "/chat/completions?api-version=2024-10-21";
  r.headers = {{"api-key", "test-key"}, {"Content-Type", "application/json"}};
  if (!fault.empty()) r.headers.emplace_back("x-emulator-fault", fault);
  r.body = body;
  r.provider = "azure_openai";
  return r;
}

TransportOptions fast() {
  TransportOptions o;
  o.initial_backoff_seconds = 0.001;
  o.max_backoff_seconds = 0.002;
  o.read_timeout = std::chrono::milliseconds(5000);
  return o;
}

struct Streamed {
  std::vector<std::string> data;
  bool complete = false;
};

// Reads a whole SSE body; the events parsed before an error stay in `out`.
void read_events(HttpBodyStream& body, Streamed& out) {
  SseParser parser;
  while (auto bytes = body.read()) {
    parser.feed(*bytes);
    while (auto e = parser.next()) out.data.push_back(e->data);
  }
  out.complete = parser.finish();
  while (auto e = parser.next()) out.data.push_back(e->data);
}

// Requests a stop on `source` from another thread after `delay`.
struct StopLater {
  std::stop_source source;
  std::jthread thread;
  explicit StopLater(std::chrono::milliseconds delay)
      : thread([this, delay] {
          std::this_thread::sleep_for(delay);
          source.request_stop();
        }) {}
};

std::string authority() { return "(127.0.0.1:" + std::to_string(emulator().port()) + ")"; }

struct Retry {
  int attempt;
  double delay;
  std::string what;
};

}  // namespace

TEST_CASE("a plain call returns the Azure-shaped seed answer") {
  emulator().reset();
  HttpClient client;
  const auto r = client.send(azure(kSeedBody), fast());
  CHECK(r.status == 200);
  CHECK(r.attempts == 1);
  CHECK(r.request_id() == request_id(1));
  REQUIRE(r.header("x-ms-region") != nullptr);
  CHECK(*r.header("x-ms-region") == "East US");
  const auto j = Json::parse(r.body);
  CHECK(j.at("object").as_string() == "chat.completion");
  CHECK(j.at("model").as_string() == "gpt-35-turbo");
  CHECK(j.at("system_fingerprint").is_null());
  CHECK(j.at("choices")[0].at("message").at("content").as_string() == "J'adore la programmation.");
  CHECK(j.at("choices")[0].at("finish_reason").as_string() == "stop");
  CHECK(j.at("usage") == Json{{"completion_tokens", 8}, {"prompt_tokens", 31}, {"total_tokens", 39}});
  const Json safe{{"filtered", false}, {"severity", "safe"}};
  const Json filters{{"hate", safe}, {"self_harm", safe}, {"sexual", safe}, {"violence", safe}};
  CHECK(j.at("choices")[0].at("content_filter_results") == filters);
  CHECK(j.at("prompt_filter_results") ==
        Json::array({Json{{"prompt_index", 0}, {"content_filter_results", filters}}}));
}

TEST_CASE("a stream arrives in Azure's chunk order and ends with [DONE]") {
  HttpClient client;
  auto body = client.open(azure(kSeedStreamBody), fast());
  CHECK(body->status() == 200);
  REQUIRE(body->header("content-type") != nullptr);
  CHECK(*body->header("content-type") == "text/event-stream; charset=utf-8");
  Streamed s;
  read_events(*body, s);
  REQUIRE(s.complete);
  REQUIRE(s.data.size() == 7);
  std::vector<Json> chunks;
  for (const auto& d : s.data) chunks.push_back(Json::parse(d));
  CHECK(chunks[0].at("choices").empty());
  CHECK(chunks[0].at("id").as_string().empty());
  CHECK(chunks[0].at("created").as_int() == 0);
  CHECK(chunks[0].contains("prompt_filter_results"));
  CHECK(chunks[1].at("choices")[0].at("delta") == Json{{"content", ""}, {"refusal", nullptr}, {"role", "assistant"}});
  std::string text;
  for (int i = 2; i <= 4; ++i) {
    CHECK(chunks[i].at("choices")[0].at("content_filter_results").at("violence").at("severity").as_string() == "safe");
    text += chunks[i].at("choices")[0].at("delta").at("content").as_string();
  }
  CHECK(text == "J'adore la programmation.");
  CHECK(chunks[5].at("choices")[0].at("finish_reason").as_string() == "stop");
  CHECK(chunks[5].at("choices")[0].at("delta").empty());
  CHECK(chunks[6].at("choices").empty());
  CHECK(chunks[6].at("usage") == Json{{"completion_tokens", 8}, {"prompt_tokens", 31}, {"total_tokens", 39}});
  CHECK(client.idle_connections() == 1);  // read to the end: back in the pool
}

TEST_CASE("429 then ok is retried with retry-after-ms and succeeds") {
  for (const bool stream : {false, true}) {
    emulator().reset();
    HttpClient client;
    std::vector<Retry> retries;
    RetryObserver observer = [&](int attempt, const std::exception& e, double delay) {
      retries.push_back({attempt, delay, e.what()});
    };
    auto req = azure(stream ? kSeedStreamBody : kSeedBody, "429-then-ok:2");
    req.headers.emplace_back("x-emulator-retry-after-ms", "15");
    if (stream) {
      auto body = client.open(req, fast(), observer);
      CHECK(body->attempts() == 3);
      CHECK(body->request_id() == request_id(3));
      Streamed s;
      read_events(*body, s);
      CHECK(s.complete);
    } else {
      const auto r = client.send(req, fast(), observer);
      CHECK(r.attempts == 3);
      CHECK(r.request_id() == request_id(3));
    }
    REQUIRE(retries.size() == 2);
    CHECK(retries[0].attempt == 1);
    CHECK(retries[1].attempt == 2);
    CHECK(retries[0].delay == 0.015);  // retry-after-ms wins over retry-after: 1
    CHECK(retries[0].what.rfind("azure_openai: HTTP 429: Requests to the ChatCompletions_Create Operation", 0) == 0);
    CHECK(emulator().stats().at("requests").as_int() == 3);
  }
}

TEST_CASE("a persistent 500 ends as ServerError with the last request id and 3 attempts") {
  for (const bool stream : {false, true}) {
    emulator().reset();
    HttpClient client;
    int retries = 0;
    const auto req = azure(stream ? kSeedStreamBody : kSeedBody, "500");
    try {
      if (stream) client.open(req, fast(), [&](int, const std::exception&, double) { ++retries; });
      else client.send(req, fast(), [&](int, const std::exception&, double) { ++retries; });
      FAIL("expected ServerError");
    } catch (const ServerError& e) {
      CHECK(std::string(e.what()) ==
            "azure_openai: HTTP 500 InternalServerError: The server had an error while processing your request. "
            "Sorry about that! (request id " + request_id(3) + ", 3 attempts)");
      CHECK(e.status() == 500);
      CHECK(e.code() == "InternalServerError");
      CHECK(e.request_id() == request_id(3));
      CHECK(e.attempts() == 3);
    }
    CHECK(retries == 2);
  }
}

TEST_CASE("503 then ok succeeds on the second attempt") {
  emulator().reset();
  HttpClient client;
  const auto r = client.send(azure(kSeedBody, "503-then-ok:1"), fast());
  CHECK(r.attempts == 2);
  CHECK(r.request_id() == request_id(2));
}

TEST_CASE("a 429 asking for more than the cap is final and carries the delay") {
  emulator().reset();
  HttpClient client;
  auto req = azure(kSeedBody, "429");
  req.headers.emplace_back("x-emulator-retry-after", "120");
  req.headers.emplace_back("x-emulator-retry-after-ms", "none");
  try {
    client.send(req, fast());
    FAIL("expected RateLimitError");
  } catch (const RateLimitError& e) {
    CHECK(e.attempts() == 1);
    CHECK(e.code() == "429");
    CHECK(e.request_id() == request_id(1));
    REQUIRE(e.info().retry_after_seconds.has_value());
    CHECK(*e.info().retry_after_seconds == 120.0);
  }
}

TEST_CASE("a connection closed before the response is retried, then a ConnectionError") {
  for (const bool stream : {false, true}) {
    emulator().reset();
    HttpClient client;
    const auto req = azure(stream ? kSeedStreamBody : kSeedBody, "reset");
    try {
      if (stream) client.open(req, fast());
      else client.send(req, fast());
      FAIL("expected ConnectionError");
    } catch (const ConnectionError& e) {
      CHECK(e.attempts() == 3);
      CHECK(e.status() == 0);
      CHECK(std::string(e.what()).rfind("azure_openai: connection", 0) == 0);
    }
    CHECK(emulator().stats().at("requests").as_int() == 3);
  }
  emulator().reset();
  HttpClient client;
  CHECK(client.send(azure(kSeedBody, "reset-then-ok:1"), fast()).attempts == 2);
}

TEST_CASE("a connection closed mid-stream raises after the chunks that arrived") {
  HttpClient client;
  auto body = client.open(azure(kSeedStreamBody, "reset-mid-stream"), fast());
  CHECK(body->attempts() == 1);
  Streamed s;
  try {
    read_events(*body, s);
    // Some platforms report the reset as an end of body: then [DONE] is missing.
    CHECK_FALSE(s.complete);
  } catch (const ConnectionError& e) {
    CHECK(e.status() == 200);
    CHECK(e.attempts() == 1);
  }
  REQUIRE(s.data.size() == 3);  // prompt filter results, role, first content delta
  CHECK(Json::parse(s.data[2]).at("choices")[0].at("delta").at("content").as_string() == "J'adore");
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("a body cut mid-way in a plain call is retried and fails as ConnectionError") {
  HttpClient client;
  try {
    client.send(azure(kSeedBody, "reset-mid-stream"), fast());
    FAIL("expected ConnectionError");
  } catch (const ConnectionError& e) {
    CHECK(e.attempts() == 3);
  }
}

TEST_CASE("a stream without [DONE] is reported truncated with every chunk kept") {
  HttpClient client;
  auto body = client.open(azure(kSeedStreamBody, "no-done"), fast());
  Streamed s;
  read_events(*body, s);
  CHECK_FALSE(s.complete);
  CHECK(s.data.size() == 7);
}

TEST_CASE("SseEventReader: each event with data, then nullptr at [DONE], the connection pooled") {
  HttpClient client;
  SseEventReader events(client.open(azure(kSeedStreamBody), fast()), "azure_openai");
  std::vector<std::string> data;
  while (const SseEvent* e = events.next()) data.push_back(e->data);
  REQUIRE(data.size() == 7);
  CHECK(events.events() == 7);
  CHECK(Json::parse(data[0]).at("choices").as_array().empty());  // the prompt filter results
  CHECK(events.next() == nullptr);
  CHECK(events.response().status() == 200);
  CHECK(client.idle_connections() == 1);
}

TEST_CASE("SseEventReader: a body without [DONE] gives every event, then the truncation error") {
  HttpClient client;
  SseEventReader events(client.open(azure(kSeedStreamBody, "no-done"), fast()), "azure_openai");
  int n = 0;
  try {
    while (events.next()) ++n;
    FAIL("expected BadResponseError");
  } catch (const BadResponseError& e) {
    CHECK(n == 7);
    const std::string id = events.response().request_id();
    REQUIRE_FALSE(id.empty());
    CHECK(std::string(e.what()) ==
          "azure_openai: the stream ended without [DONE] after 7 events (truncated) (request id " + id + ")");
    CHECK(e.status() == 200);
    CHECK(e.request_id() == id);
    CHECK(e.attempts() == 1);
  }
}

TEST_CASE("an error event mid-stream arrives after the chunks before it") {
  HttpClient client;
  auto body = client.open(azure(kSeedStreamBody, "error-mid-stream"), fast());
  Streamed s;
  read_events(*body, s);
  CHECK_FALSE(s.complete);
  REQUIRE(s.data.size() == 4);
  CHECK(Json::parse(s.data[3]).at("error").at("code").as_string() == "server_error");
}

TEST_CASE("without include_usage there is no usage chunk") {
  HttpClient client;
  auto req = azure(kSeedStreamBody);
  req.body = R"({"messages":[{"role":"user","content":"hi"}],"stream":true})";
  auto body = client.open(req, fast());
  Streamed s;
  read_events(*body, s);
  CHECK(s.complete);
  REQUIRE(s.data.size() == 10);  // filter, role, 7 pieces, finish
  CHECK(Json::parse(s.data[9]).at("choices")[0].at("finish_reason").as_string() == "stop");
  CHECK(Json::parse(s.data[9]).at("usage").is_null());
}

TEST_CASE("malformed JSON arrives as the body for the provider to reject") {
  HttpClient client;
  const auto r = client.send(azure(kSeedBody, "malformed-json"), fast());
  CHECK(r.status == 200);
  CHECK_THROWS_AS(Json::parse(r.body), JsonError);
  auto body = client.open(azure(kSeedStreamBody, "malformed-json"), fast());
  Streamed s;
  read_events(*body, s);
  CHECK(s.complete);
  int bad = 0;
  for (const auto& d : s.data) {
    try {
      Json::parse(d);
    } catch (const JsonError&) {
      ++bad;
    }
  }
  CHECK(bad == 1);
}

TEST_CASE("a slow first byte beyond the read timeout is a TimeoutError after retries") {
  HttpClient client;
  auto o = fast();
  o.read_timeout = std::chrono::milliseconds(100);
  o.max_retries = 1;
  try {
    client.send(azure(kSeedBody, "slow-first-byte:400"), o);
    FAIL("expected TimeoutError");
  } catch (const TimeoutError& e) {
    CHECK(e.attempts() == 2);
    CHECK(e.status() == 0);
    CHECK(std::string(e.what()).rfind("azure_openai: timed out waiting for the response headers (127.0.0.1:", 0) == 0);
  }
  try {
    client.open(azure(kSeedStreamBody, "slow-first-byte:400"), o);
    FAIL("expected TimeoutError");
  } catch (const TimeoutError& e) {
    CHECK(e.attempts() == 2);
  }
  o.read_timeout = std::chrono::milliseconds(5000);
  CHECK(client.send(azure(kSeedBody, "slow-first-byte:50"), o).status == 200);
  auto body = client.open(azure(kSeedStreamBody, "slow-first-byte:50"), o);
  Streamed s;
  read_events(*body, s);
  CHECK(s.complete);
}

TEST_CASE("a total deadline bounds the call across retries") {
  HttpClient client;
  auto o = fast();
  o.total_timeout = std::chrono::milliseconds(150);
  const std::string authority = emulator().base_url().substr(7);
  CHECK_THROWS_MATCHES(client.send(azure(kSeedBody, "slow-first-byte:1000"), o), TimeoutError,
                       Catch::Matchers::Message("azure_openai: total_timeout of 0.15 s reached while waiting for the "
                                                "response headers (" + authority + ") (1 attempt)"));
}

TEST_CASE("a slow stream within the read timeout completes; a stalled one times out keeping its chunks") {
  HttpClient client;
  {
    auto body = client.open(azure(kSeedStreamBody, "slow-stream:20"), fast());
    Streamed s;
    read_events(*body, s);
    CHECK(s.complete);
    CHECK(s.data.size() == 7);
  }
  auto o = fast();
  o.read_timeout = std::chrono::milliseconds(100);
  auto body = client.open(azure(kSeedStreamBody, "slow-stream:500"), o);
  Streamed s;
  try {
    read_events(*body, s);
    FAIL("expected TimeoutError");
  } catch (const TimeoutError& e) {
    CHECK(e.status() == 200);
    CHECK(std::string(e.what()).rfind("azure_openai: timed out reading the response body", 0) == 0);
  }
  CHECK(s.data.size() == 1);  // the prompt filter chunk came before the first delay
}

TEST_CASE("status errors map to the chainpp error types with exact messages") {
  HttpClient client;
  emulator().reset();
  auto bad_key = azure(kSeedBody);
  bad_key.headers[0].second = "wrong-key-value";
  try {
    client.send(bad_key, fast());
    FAIL("expected AuthenticationError");
  } catch (const AuthenticationError& e) {
    CHECK(std::string(e.what()) ==
          "azure_openai: HTTP 401: Access denied due to invalid subscription key or wrong API endpoint. Make sure "
          "to provide a valid key for an active subscription and use a correct regional API endpoint for your "
          "resource. (request id " + request_id(1) + ", 1 attempt) Check the API key or token and the endpoint.");
    CHECK(e.code() == "401");
    CHECK(std::string(e.what()).find("wrong-key-value") == std::string::npos);
  }
  try {
    client.send(azure(kSeedBody, "", "no-such-deployment"), fast());
    FAIL("expected NotFoundError");
  } catch (const NotFoundError& e) {
    CHECK(std::string(e.what()) ==
          "azure_openai: HTTP 404 DeploymentNotFound: The API deployment for this resource does not exist. If you "
          "created the deployment within the last 5 minutes, please wait a moment and try again. (request id " +
              request_id(2) + ", 1 attempt) Check the deployment name, the endpoint and the api-version.");
    CHECK(e.attempts() == 1);
  }
  auto no_version = azure(kSeedBody);
  no_version.url = emulator().base_url() + "/openai/deployments/gpt-35-turbo/chat/completions";
  try {
    client.send(no_version, fast());
    FAIL("expected BadRequestError");
  } catch (const BadRequestError& e) {
    CHECK(e.status() == 400);
    CHECK(e.code() == "BadRequest");
    CHECK(e.info().provider_message ==
          "The api-version query parameter (?api-version=) is required for all requests.");
  }
  try {
    client.send(azure(R"({"messages":[{"role":"user","content":"Tell me something violent."}]})"), fast());
    FAIL("expected ContentFilterError");
  } catch (const ContentFilterError& e) {
    CHECK(e.status() == 400);
    CHECK(e.code() == "content_filter");
    CHECK(e.attempts() == 1);
    CHECK(e.filter_results().at("violence") == Json{{"filtered", true}, {"severity", "medium"}});
    CHECK(e.filter_results().at("hate") == Json{{"filtered", false}, {"severity", "safe"}});
    CHECK(e.triggered() == std::vector<FilterCategory>{{"violence", "medium", true, false}});
    CHECK(std::string(e.what()).find("policies please read our documentation: "
                                     "https://go.microsoft.com/fwlink/?linkid=2198766 (triggered: violence (medium)) "
                                     "(request id ") != std::string::npos);
  }
  CHECK(emulator().stats().at("requests").as_int() == 4);  // none of these is retried
}

TEST_CASE("the OpenAI layout answers with Bearer auth and OpenAI-shaped bodies") {
  HttpClient client;
  HttpRequest r;
  r.url = emulator().base_url() + "/v1/chat/completions";
  r.headers = {{"Authorization", "Bearer test-key"}, {"Content-Type", "application/json"}};
  r.body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]})";
  r.provider = "openai";
  const auto j = Json::parse(client.send(r, fast()).body);
  CHECK(j.at("model").as_string() == "gpt-4o-2024-08-06");
  CHECK_FALSE(j.contains("prompt_filter_results"));
  CHECK_FALSE(j.at("choices")[0].contains("content_filter_results"));
  CHECK(j.at("choices")[0].at("message").at("content").as_string() == "This is the emulator's answer to: hello");
  r.headers[0].second = "Bearer nope";
  try {
    client.send(r, fast());
    FAIL("expected AuthenticationError");
  } catch (const AuthenticationError& e) {
    CHECK(e.code() == "invalid_api_key");
  }
}

TEST_CASE("100 sequential calls reuse one connection") {
  emulator().reset();
  HttpClient client;
  for (int i = 0; i < 100; ++i) {
    if (i % 2) {
      auto body = client.open(azure(kSeedStreamBody), fast());
      Streamed s;
      read_events(*body, s);
      REQUIRE(s.complete);
    } else {
      REQUIRE(client.send(azure(kSeedBody), fast()).status == 200);
    }
  }
  const auto stats = emulator().stats();
  CHECK(stats.at("requests").as_int() == 100);
  CHECK(stats.at("connections").as_int() == 1);
  CHECK(client.idle_connections() == 1);
}

TEST_CASE("an abandoned stream closes its connection instead of pooling it") {
  emulator().reset();
  HttpClient client;
  {
    auto body = client.open(azure(kSeedStreamBody), fast());
    REQUIRE(body->read().has_value());
  }
  CHECK(client.idle_connections() == 0);
  CHECK(client.send(azure(kSeedBody), fast()).status == 200);
  CHECK(emulator().stats().at("connections").as_int() == 2);
}

TEST_CASE("32 concurrent calls complete with at most 32 connections") {
  emulator().reset();
  HttpClient client;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        try {
          if ((t + i) % 2) {
            auto body = client.open(azure(kSeedStreamBody), fast());
            Streamed s;
            read_events(*body, s);
            if (s.complete) ++ok;
          } else if (client.send(azure(kSeedBody), fast()).status == 200) {
            ++ok;
          }
        } catch (...) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 96);
  const auto stats = emulator().stats();
  CHECK(stats.at("requests").as_int() == 96);
  CHECK(stats.at("connections").as_int() <= 32);
  CHECK(client.idle_connections() <= 32);
}

TEST_CASE("the shared client pools across calls") {
  auto& shared = HttpClient::shared();
  CHECK(&shared == &HttpClient::shared());
  CHECK(shared.send(azure(kSeedBody), fast()).status == 200);
  CHECK(shared.idle_connections() >= 1);
}

TEST_CASE("an explicit proxy and HTTP_PROXY route requests through the proxy") {
  emulator().reset();
  HttpClient client;
  auto req = azure(kSeedBody);
  req.url = "http://upstream.example:9/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-10-21";
  auto o = fast();
  o.max_retries = 0;
  o.proxy = emulator().base_url();  // the emulator serves absolute-URI requests as a proxy would forward them
  CHECK(client.send(req, o).status == 200);
  CHECK(emulator().requests()[0].at("uri").as_string() ==
        "http://upstream.example:9/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-10-21");

  o.proxy.clear();
  ::setenv("HTTP_PROXY", emulator().base_url().c_str(), 1);
  const auto r = client.send(req, o);
  ::unsetenv("HTTP_PROXY");
  CHECK(r.status == 200);
  CHECK(emulator().stats().at("requests").as_int() == 2);
}

TEST_CASE("TLS to a plain HTTP server fails as a ConnectionError") {
  // A plain-text server that answers anything with an HTTP 400 and closes.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::thread server([listener] {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!::write(fd, reply, sizeof reply - 1);
    ::close(fd);
  });
  HttpClient client;
  auto req = azure(kSeedBody);
  req.url = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/openai/deployments/gpt-35-turbo/chat/completions";
  auto o = fast();
  o.max_retries = 0;
  o.read_timeout = std::chrono::milliseconds(20000);
  try {
    client.send(req, o);
    FAIL("expected an error");
  } catch (const ConnectionError& e) {
    CHECK(e.attempts() == 1);
    CHECK(std::string(e.what()).rfind("azure_openai: connection failed: ", 0) == 0);
  }
  server.join();
  ::close(listener);
}

// ------------------------------------------------------------------ cancellation
// Without cancellation each of these calls would end otherwise (a response
// after the slow first byte, a TimeoutError, a RateLimitError), so the
// CancelledError shows the stop took effect, without timing anything.

TEST_CASE("a stop while waiting for the response cancels the call and drops its connection") {
  for (const bool stream : {false, true}) {
    emulator().reset();
    HttpClient client;
    auto o = fast();
    o.read_timeout = std::chrono::milliseconds(20000);
    auto req = azure(stream ? kSeedStreamBody : kSeedBody, "slow-first-byte:3000");
    StopLater stop(std::chrono::milliseconds(100));
    req.stop = stop.source.get_token();
    try {
      if (stream) client.open(req, o);
      else client.send(req, o);
      FAIL("expected CancelledError");
    } catch (const CancelledError& e) {
      CHECK(std::string(e.what()) == "azure_openai: the call was cancelled " + authority() + " (1 attempt)");
      CHECK(e.attempts() == 1);
      CHECK(e.status() == 0);
    }
    CHECK(client.idle_connections() == 0);
    CHECK(client.send(azure(kSeedBody), fast()).status == 200);
    CHECK(emulator().stats().at("connections").as_int() == 2);
  }
}

TEST_CASE("a stop mid-stream ends the stream with CancelledError after the chunks that arrived") {
  emulator().reset();
  HttpClient client;
  auto o = fast();
  o.read_timeout = std::chrono::milliseconds(20000);
  auto req = azure(kSeedStreamBody, "slow-stream:3000");
  std::stop_source source;
  req.stop = source.get_token();
  auto body = client.open(req, o);
  Streamed s;
  SseParser parser;
  while (s.data.empty()) {  // the prompt-filter chunk; the next one is 3 s away
    auto bytes = body->read();
    REQUIRE(bytes.has_value());
    parser.feed(*bytes);
    while (auto e = parser.next()) s.data.push_back(e->data);
  }
  std::jthread stopper([&source] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the reader is waiting by then
    source.request_stop();
  });
  try {
    while (body->read()) {
    }
    FAIL("expected CancelledError");
  } catch (const CancelledError& e) {
    CHECK(std::string(e.what()) ==
          "azure_openai: the stream was cancelled " + authority() + " (request id " + request_id(1) + ", 1 attempt)");
    CHECK(e.status() == 200);
    CHECK(e.request_id() == request_id(1));
  }
  CHECK(s.data.size() == 1);  // the prompt filter chunk came before the first delay
  CHECK_FALSE(body->read().has_value());
  CHECK(client.idle_connections() == 0);
  CHECK(client.send(azure(kSeedBody), fast()).status == 200);
  CHECK(emulator().stats().at("connections").as_int() == 2);
}

TEST_CASE("a stop during the wait before a retry ends the call at once") {
  emulator().reset();
  HttpClient client;
  auto req = azure(kSeedBody, "429");
  req.headers.emplace_back("x-emulator-retry-after", "30");
  req.headers.emplace_back("x-emulator-retry-after-ms", "none");
  std::stop_source source;
  req.stop = source.get_token();
  int retries = 0;
  std::jthread stopper;
  const auto start = std::chrono::steady_clock::now();
  try {
    client.send(req, fast(), [&](int, const std::exception&, double delay) {
      ++retries;
      CHECK(delay == 30.0);
      stopper = std::jthread([&source] {  // a stop while the client waits out the 30 s
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        source.request_stop();
      });
    });
    FAIL("expected CancelledError");
  } catch (const CancelledError& e) {
    CHECK(std::string(e.what()) == "azure_openai: the call was cancelled " + authority() + " (1 attempt)");
  }
  // Not a speed check: an uninterruptible wait would have lasted the full 30 s.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(25));
  CHECK(retries == 1);
  CHECK(emulator().stats().at("requests").as_int() == 1);
}

TEST_CASE("a call whose stop was requested before it started sends nothing") {
  emulator().reset();
  HttpClient client;
  std::stop_source source;
  source.request_stop();
  auto req = azure(kSeedBody);
  req.stop = source.get_token();
  try {
    client.send(req, fast());
    FAIL("expected CancelledError");
  } catch (const CancelledError& e) {
    CHECK(std::string(e.what()) == "azure_openai: the call was cancelled " + authority() + " (0 attempts)");
    CHECK(e.attempts() == 0);
  }
  CHECK(emulator().stats().at("requests").as_int() == 0);
  // A stop source that is never used changes nothing.
  std::stop_source unused;
  req.stop = unused.get_token();
  CHECK(client.send(req, fast()).status == 200);
  CHECK(client.idle_connections() == 1);
}
