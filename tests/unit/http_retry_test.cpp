#include <chainpp/http.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

using namespace chainpp;
using std::chrono::system_clock;

namespace {

TransportOptions defaults() { return TransportOptions{}; }

RetryPolicy fixed(double random, const TransportOptions& o = defaults()) {
  return RetryPolicy(o, [random] { return random; });
}

// A loopback port nothing listens on.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("retryable statuses are 408, 409, 429 and 5xx") {
  for (int s : {408, 409, 429, 500, 502, 503, 504}) CHECK(RetryPolicy::retryable_status(s));
  for (int s : {200, 400, 401, 403, 404, 422}) CHECK_FALSE(RetryPolicy::retryable_status(s));
}

TEST_CASE("x-should-retry overrides the status rule") {
  CHECK(RetryPolicy::should_retry(400, {{"X-Should-Retry", "true"}}));
  CHECK_FALSE(RetryPolicy::should_retry(503, {{"x-should-retry", "false"}}));
  CHECK(RetryPolicy::should_retry(503, {{"x-should-retry", "maybe"}}));
}

TEST_CASE("exponential backoff without jitter doubles from 0.5 s up to 8 s") {
  const auto p = fixed(0.0);  // jitter factor 1.0
  CHECK(*p.compute_delay(1) == 0.5);
  CHECK(*p.compute_delay(2) == 1.0);
  CHECK(*p.compute_delay(3) == 2.0);
  CHECK(*p.compute_delay(4) == 4.0);
  CHECK(*p.compute_delay(5) == 8.0);
  CHECK(*p.compute_delay(9) == 8.0);
}

TEST_CASE("jitter scales the backoff into [0.75, 1.0]") {
  CHECK(*fixed(1.0).compute_delay(1) == 0.375);
  CHECK(*fixed(0.5).compute_delay(2) == 0.875);
  const RetryPolicy random_policy{};
  for (int retry = 1; retry <= 6; ++retry) {
    const double base = std::min(0.5 * (1 << (retry - 1)), 8.0);
    for (int i = 0; i < 50; ++i) {
      const double d = *random_policy.compute_delay(retry);
      CHECK(d >= 0.75 * base);
      CHECK(d <= base);
    }
  }
}

TEST_CASE("configured backoff bounds are used") {
  TransportOptions o;
  o.initial_backoff_seconds = 0.01;
  o.max_backoff_seconds = 0.02;
  const auto p = fixed(0.0, o);
  CHECK(*p.compute_delay(1) == 0.01);
  CHECK(*p.compute_delay(2) == 0.02);
  CHECK(*p.compute_delay(3) == 0.02);
}

TEST_CASE("retry-after-ms wins over retry-after") {
  const auto p = fixed(0.0);
  CHECK(*p.compute_delay(1, {{"retry-after", "7"}, {"retry-after-ms", "250"}}) == 0.25);
  CHECK(*p.compute_delay(1, {{"Retry-After", "7"}}) == 7.0);
  CHECK(*p.compute_delay(1, {{"retry-after", "1.5"}}) == 1.5);
  CHECK(*p.server_delay({{"retry-after-ms", "20"}, {"retry-after", "1"}}) == 0.02);
}

TEST_CASE("an invalid retry-after falls back to backoff") {
  const auto p = fixed(0.0);
  CHECK(*p.compute_delay(2, {{"retry-after", "soon"}}) == 1.0);
  CHECK(*p.compute_delay(2, {{"retry-after-ms", "x"}}) == 1.0);
  CHECK(*p.compute_delay(2, {{"retry-after", "-3"}}) == 1.0);
  CHECK_FALSE(p.server_delay({{"retry-after", "soon"}}).has_value());
}

TEST_CASE("retry-after as an HTTP date is relative to the injected clock") {
  const auto now = system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  RetryPolicy p(TransportOptions{}, [] { return 0.0; }, [now] { return now; });
  CHECK(*p.compute_delay(1, {{"retry-after", "Sun, 06 Nov 1994 08:49:49 GMT"}}) == 12.0);
  CHECK(*p.server_delay({{"retry-after", "Sun, 06 Nov 1994 08:49:49 GMT"}}) == 12.0);
}

TEST_CASE("a server delay beyond the cap ends the retries") {
  const auto p = fixed(0.0);
  CHECK(*p.compute_delay(1, {{"retry-after", "60"}}) == 60.0);
  CHECK_FALSE(p.compute_delay(1, {{"retry-after", "61"}}).has_value());
  CHECK_FALSE(p.compute_delay(1, {{"retry-after-ms", "120000"}}).has_value());
  TransportOptions o;
  o.max_retry_after_seconds = 120;
  CHECK(*fixed(0.0, o).compute_delay(1, {{"retry-after", "61"}}) == 61.0);
}

TEST_CASE("find_header is case-insensitive and returns the first match") {
  const HttpHeaders h{{"Content-Type", "a"}, {"content-type", "b"}};
  REQUIRE(find_header(h, "CONTENT-TYPE") != nullptr);
  CHECK(*find_header(h, "CONTENT-TYPE") == "a");
  CHECK(find_header(h, "x") == nullptr);
}

TEST_CASE("a 404 maps to NotFoundError with the deployment hint") {
  const auto e = make_http_error(
      "azure_openai", 404, {{"apim-request-id", "req-1"}, {"x-request-id", "other"}},
      R"({"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}})", 1);
  try {
    std::rethrow_exception(e);
  } catch (const NotFoundError& err) {
    CHECK(std::string(err.what()) ==
          "azure_openai: HTTP 404 DeploymentNotFound: The API deployment for this resource does not exist. "
          "(request id req-1, 1 attempt) Check the deployment name, the endpoint and the api-version.");
    CHECK(err.status() == 404);
    CHECK(err.code() == "DeploymentNotFound");
    CHECK(err.request_id() == "req-1");
    CHECK(err.info().provider_message == "The API deployment for this resource does not exist.");
    CHECK(err.info().body.at("error").at("code").as_string() == "DeploymentNotFound");
  }
}

TEST_CASE("a 429 maps to RateLimitError with retry_after_seconds") {
  try {
    std::rethrow_exception(make_http_error("azure_openai", 429, {{"x-request-id", "r9"}, {"retry-after", "2"}},
                                           R"({"error":{"code":"429","message":"Rate limit is exceeded."}})", 3));
  } catch (const RateLimitError& err) {
    CHECK(std::string(err.what()) ==
          "azure_openai: HTTP 429: Rate limit is exceeded. (request id r9, 3 attempts) Retry after 2 s.");
    CHECK(err.code() == "429");
    CHECK(err.attempts() == 3);
    REQUIRE(err.info().retry_after_seconds.has_value());
    CHECK(*err.info().retry_after_seconds == 2.0);
  }
}

TEST_CASE("a 400 content_filter maps to ContentFilterError with both spellings of the results") {
  const char* service =
      R"({"error":{"message":"filtered","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"violence":{"filtered":true,"severity":"medium"}}}}})";
  const char* spec =
      R"({"error":{"message":"filtered","code":"content_filter","inner_error":{"content_filter_results":{"hate":{"filtered":true,"severity":"high"}}}}})";
  try {
    std::rethrow_exception(make_http_error("azure_openai", 400, {}, service, 1));
  } catch (const ContentFilterError& err) {
    CHECK(std::string(err.what()) ==
          "azure_openai: HTTP 400 content_filter: filtered (triggered: violence (medium)) (1 attempt)");
    CHECK(err.filter_results().at("violence").at("severity").as_string() == "medium");
    CHECK(err.triggered() == std::vector<FilterCategory>{{"violence", "medium", true, false}});
    CHECK(err.partial_content().empty());
  }
  try {
    std::rethrow_exception(make_http_error("azure_openai", 400, {}, spec, 1));
  } catch (const ContentFilterError& err) {
    CHECK(std::string(err.what()) ==
          "azure_openai: HTTP 400 content_filter: filtered (triggered: hate (high)) (1 attempt)");
    CHECK(err.filter_results().at("hate").at("filtered").as_bool());
  }
}

TEST_CASE("a content filter error names every triggered category with its severity, in the server's order") {
  // Azure's prompt shape: every category, the triggered ones filtered; a detection category;
  // an error entry and malformed entries are not categories that triggered.
  const char* body =
      R"({"error":{"message":"The response was filtered.","code":"content_filter","status":400,)"
      R"("innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{)"
      R"("hate":{"filtered":true,"severity":"high"},"self_harm":{"filtered":false,"severity":"safe"},)"
      R"("sexual":{"filtered":false,"severity":"low"},"violence":{"filtered":true,"severity":"medium"},)"
      R"("jailbreak":{"filtered":true,"detected":true},"profanity":{"filtered":false,"detected":true},)"
      R"("custom_blocklists":{"filtered":true},"odd":{"filtered":"yes","severity":"high"},"error":{"code":"x"},)"
      R"("more":[1]}}}})";
  const HttpHeaders headers{{"apim-request-id", "req-42"}};
  try {
    std::rethrow_exception(make_http_error("azure_openai", 400, headers, body, 1));
    FAIL("no error");
  } catch (const ContentFilterError& err) {
    CHECK(std::string(err.what()) ==
          "azure_openai: HTTP 400 content_filter: The response was filtered. (triggered: hate (high), violence "
          "(medium), jailbreak (detected), custom_blocklists) (request id req-42, 1 attempt)");
    CHECK(err.triggered() == std::vector<FilterCategory>{{"hate", "high", true, false},
                                                        {"violence", "medium", true, false},
                                                        {"jailbreak", "", true, true},
                                                        {"custom_blocklists", "", true, false}});
  }
  // Per prompt, as prompt_filter_results carries them.
  const Json per_prompt = Json::parse(
      R"([{"prompt_index":0,"content_filter_results":{"sexual":{"filtered":true,"severity":"high"}}},)"
      R"({"prompt_index":1,"content_filter_results":{"violence":{"filtered":true,"severity":"low"}}},7])");
  CHECK(describe_filter_categories(triggered_filter_categories(per_prompt)) == "sexual (high), violence (low)");
  CHECK(triggered_filter_categories(Json("violence")).empty());
  CHECK(describe_filter_categories({}).empty());
  // A stream's error event says the same.
  try {
    std::rethrow_exception(make_stream_error(
        "azure_openai",
        Json::parse(R"({"error":{"code":"content_filter","message":"filtered","innererror":)"
                    R"({"content_filter_result":{"self_harm":{"filtered":true,"severity":"medium"}}}}})"),
        "req-5"));
    FAIL("no error");
  } catch (const ContentFilterError& err) {
    CHECK(std::string(err.what()) ==
          "azure_openai: error in stream content_filter: filtered (triggered: self_harm (medium)) (request id req-5)");
    CHECK(err.triggered() == std::vector<FilterCategory>{{"self_harm", "medium", true, false}});
  }
}

TEST_CASE("other statuses map to their error types") {
  CHECK_THROWS_AS(std::rethrow_exception(make_http_error("p", 401, {}, "", 1)), AuthenticationError);
  CHECK_THROWS_AS(std::rethrow_exception(make_http_error("p", 403, {}, "", 1)), AuthenticationError);
  CHECK_THROWS_AS(std::rethrow_exception(make_http_error("p", 400, {}, "{}", 1)), BadRequestError);
  CHECK_THROWS_AS(std::rethrow_exception(make_http_error("p", 422, {}, "{}", 1)), BadRequestError);
  CHECK_THROWS_AS(std::rethrow_exception(make_http_error("p", 503, {}, "oops", 1)), ServerError);
  CHECK_THROWS_WITH(std::rethrow_exception(make_http_error("p", 500, {}, "not json", 2)),
                    "p: HTTP 500: Internal Server Error (2 attempts) Response body: not json");
  CHECK_THROWS_WITH(
      std::rethrow_exception(make_http_error("", 400, {}, R"({"error":{"code":"BadRequest","message":"bad"}})", 1)),
      "http: HTTP 400 BadRequest: bad (1 attempt)");
}

TEST_CASE("connection failures are retried with the computed delays, then raised") {
  HttpClient client;
  std::vector<double> slept;
  client.set_retry_hooks_for_test([&](double s) { slept.push_back(s); }, [] { return 0.0; });
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x";
  req.provider = "azure_openai";
  req.headers = {{"api-key", "secret-key-123"}};
  std::vector<std::pair<int, double>> observed;
  TransportOptions o;
  o.connect_timeout = std::chrono::milliseconds(2000);
  try {
    client.send(req, o, [&](int attempt, const std::exception& e, double delay) {
      observed.emplace_back(attempt, delay);
      CHECK(dynamic_cast<const ConnectionError*>(&e) != nullptr);
    });
    FAIL("expected ConnectionError");
  } catch (const ConnectionError& e) {
    CHECK(e.attempts() == 3);
    CHECK(e.status() == 0);
    const std::string what = e.what();
    CHECK(what.find("azure_openai: connection refused (127.0.0.1:") == 0);
    CHECK(what.find("3 attempts)") != std::string::npos);
    CHECK(what.find("secret-key-123") == std::string::npos);
  }
  REQUIRE(observed.size() == 2);
  CHECK(observed[0] == std::make_pair(1, 0.5));
  CHECK(observed[1] == std::make_pair(2, 1.0));
  CHECK(slept == std::vector<double>{0.5, 1.0});
}

TEST_CASE("max_retries 0 makes one attempt") {
  HttpClient client;
  int retries = 0;
  client.set_retry_hooks_for_test([](double) {}, {});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/x";
  TransportOptions o;
  o.max_retries = 0;
  try {
    client.send(req, o, [&](int, const std::exception&, double) { ++retries; });
    FAIL("expected ConnectionError");
  } catch (const ConnectionError& e) {
    CHECK(e.attempts() == 1);
  }
  CHECK(retries == 0);
}

TEST_CASE("an invalid URL is a configuration error") {
  HttpRequest req;
  req.url = "ftp://example.com/x";
  CHECK_THROWS_AS(HttpClient().send(req), ConfigError);
}

TEST_CASE("url_without_secrets hides the values of query parameters that look like credentials") {
  CHECK(chainpp::url_without_secrets("https://h.invalid/openai/x?api-version=2024-10-21") ==
        "https://h.invalid/openai/x?api-version=2024-10-21");
  CHECK(chainpp::url_without_secrets("https://h.invalid/x?api-version=1&api_key=s3cr3t&sig=abc&Token=t&code=c&a=b") ==
        "https://h.invalid/x?api-version=1&api_key=***&sig=***&Token=***&code=***&a=b");
  CHECK(chainpp::url_without_secrets("https://h.invalid/x?key") == "https://h.invalid/x?key");
  CHECK(chainpp::url_without_secrets("https://h.invalid/x?") == "https://h.invalid/x?");
  CHECK(chainpp::url_without_secrets("https://h.invalid/x") == "https://h.invalid/x");
}
