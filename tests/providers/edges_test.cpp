// Trust at the edges (issue #16, items 1-3 and 8): where a credential may
// go, what may be put in a header line, how a path segment reaches the
// wire, and the smaller findings of the same probe. The raw bytes that
// reached a loopback server are asserted; hosts that are not loopback are
// names under .invalid, reached only through a loopback proxy, or not at all.
#include "openai_plugins.hpp"
#include "raw_server.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/diagnostics.hpp>
#include <chainpp/endpoint.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/json.hpp>
#include <chainpp/registry.hpp>

#include <cstdlib>
#include <string>
#include <vector>

using namespace chainpp;
using chainpp::test::RawServer;
using chainpp::test::Reply;

namespace {

PluginRegistry& registry() { return chainpp::test::openai_plugins(); }
using chainpp::test::CleanEnv;

std::shared_ptr<ChatModel> make(const std::string& provider, const std::string& yaml, const ProviderContext& ctx = {}) {
  ConfigNode root = ConfigNode::parse_yaml(yaml, "app.yaml");
  return registry().create(provider, root.at("m"), ctx);
}

// The message of the ConfigError that making the model raises, "" if none.
std::string load_error(const std::string& provider, const std::string& yaml, const ProviderContext& ctx = {}) {
  try {
    make(provider, yaml, ctx);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// An Azure model "m" with `lines` (indented by four) after its provider.
std::string azure(const std::string& lines) { return "m:\n    provider: azure_openai\n" + lines; }

const std::string kCompletion =
    R"({"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]})";

std::string ok_reply(const std::string& body = kCompletion, const std::string& extra_headers = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const Messages kHi = {HumanMessage("hi")};

// The request line and headers of a raw request (the part before the body).
std::string head_of(const std::string& request) { return request.substr(0, request.find("\r\n\r\n") + 4); }

}  // namespace

// ---------------------------------------------------------------- 1. where a credential may go

TEST_CASE("edges: parse_url splits a URL as the transport sends it") {
  const Url u = parse_url("HTTP://Gateway.EXAMPLE.invalid:8443/a%2Fb/../c?x=%2F&y=1");
  CHECK(u.scheme == "http");
  CHECK(u.host == "gateway.example.invalid");
  CHECK(u.port == 8443);
  CHECK(u.path_and_query == "/a%2Fb/../c?x=%2F&y=1");  // exactly as written: nothing decoded or resolved
  CHECK(u.authority() == "gateway.example.invalid:8443");
  const Url v6 = parse_url("https://[::1]");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 443);
  CHECK(v6.path_and_query == "/");
  CHECK(v6.authority() == "[::1]:443");
  CHECK(parse_url("http://h.invalid?q=1").path_and_query == "/?q=1");

  struct Row {
    const char* url;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"ftp://h.invalid/", "URL 'ftp://h.invalid/' must start with http:// or https://"},
      {"h.invalid/v1", "URL 'h.invalid/v1' must start with http:// or https://"},
      {"http://127.0.0.1@evil.invalid/",
       "URL must not hold a user name or password ('...@' before the host): give credentials in the provider's "
       "settings, never in the URL"},
      {"http://user:hunter2@127.0.0.1:8080/",
       "URL must not hold a user name or password ('...@' before the host): give credentials in the provider's "
       "settings, never in the URL"},
      {"http:///x", "URL 'http:///x' is not a valid URL: no host"},
      {"http://h.invalid:0/", "URL 'http://h.invalid:0/' is not a valid URL: the port is not a number from 1 to 65535"},
      {"http://h.invalid:65536/",
       "URL 'http://h.invalid:65536/' is not a valid URL: the port is not a number from 1 to 65535"},
      {"http://h.invalid:/", "URL 'http://h.invalid:/' is not a valid URL: empty port"},
      {"http://h%2e.invalid/", "URL 'http://h%2e.invalid/' is not a valid URL: the host holds '%'"},
      {"http://[::g]/", "URL 'http://[::g]/' is not a valid URL: malformed IPv6 address"},
      {"http://h.invalid/#frag", "URL 'http://h.invalid/#frag' holds a fragment ('#'), which is never sent"},
      {"http://h.invalid/a b", "URL holds a space, a control character or a byte beyond ASCII (percent-encode it)"},
      {"http://h.invalid/\x1b[2J", "URL holds a space, a control character or a byte beyond ASCII (percent-encode it)"},
  };
  for (const auto& row : rows) {
    INFO(row.url);
    REQUIRE_THROWS_MATCHES(parse_url(row.url), ConfigError, Catch::Matchers::Message(row.message));
  }
}

TEST_CASE("edges: loopback is localhost, 127.0.0.0/8 literals and ::1, never a name starting with 127.") {
  for (const char* host : {"localhost", "LocalHost", "127.0.0.1", "127.1.2.3", "127.255.255.254", "::1"}) {
    INFO(host);
    CHECK(is_loopback_host(host));
  }
  for (const char* host : {"127.0.0.1.evil.invalid", "127.attacker.invalid", "127.1", "0177.0.0.1", "127.0.0.1.",
                           "128.0.0.1", "::ffff:127.0.0.1", "::2", "localhost.invalid", "127.0.0.256", ""}) {
    INFO(host);
    CHECK_FALSE(is_loopback_host(host));
  }
}

TEST_CASE("edges: an endpoint that would send the key elsewhere is refused at load") {
  CleanEnv env;
  const std::string key = "    azure_deployment: d\n    api_version: v\n    api_key: sk-secret\n";
  CHECK(load_error("azure_openai", azure(key + "    azure_endpoint: http://127.0.0.1@evil.invalid/\n")) ==
        "app.yaml:6:21: azure_openai: azure_endpoint must not hold a user name or password ('...@' before the "
        "host): give credentials in the provider's settings, never in the URL");
  const std::string with_password =
      load_error("azure_openai", azure(key + "    azure_endpoint: http://admin:hunter2@127.0.0.1:8080\n"));
  CHECK(with_password ==
        "app.yaml:6:21: azure_openai: azure_endpoint must not hold a user name or password ('...@' before the "
        "host): give credentials in the provider's settings, never in the URL");
  CHECK(with_password.find("hunter2") == std::string::npos);
  CHECK(load_error("azure_openai", azure(key + "    azure_endpoint: http://127.0.0.1.evil.invalid/\n")) ==
        "app.yaml:6:21: azure_openai: refusing to send the credential over plain http:// to "
        "'127.0.0.1.evil.invalid', which is not loopback; use https://, or set allow_insecure_http: true");
  CHECK(load_error("azure_openai", azure(key + "    azure_endpoint: http://127.attacker.invalid:8080/\n")) ==
        "app.yaml:6:21: azure_openai: refusing to send the credential over plain http:// to "
        "'127.attacker.invalid', which is not loopback; use https://, or set allow_insecure_http: true");
  // From the environment: the error names the variable.
  setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1@evil.invalid", 1);
  CHECK(load_error("azure_openai", azure(key)) ==
        "app.yaml:2:5: azure_openai: AZURE_OPENAI_ENDPOINT must not hold a user name or password ('...@' before "
        "the host): give credentials in the provider's settings, never in the URL");
  // The openai plugin's Bearer token, by the same rule.
  CHECK(load_error("openai", "m:\n    provider: openai\n    model: x\n    api_key: sk-secret\n"
                             "    base_url: http://127.0.0.1.evil.invalid/v1\n") ==
        "app.yaml:5:15: openai: refusing to send the credential over plain http:// to '127.0.0.1.evil.invalid', "
        "which is not loopback; use https://, or set allow_insecure_http: true");
  CHECK(load_error("openai", "m:\n    provider: openai\n    model: x\n    base_url: http://u:p@127.0.0.1:1/v1\n") ==
        "app.yaml:4:15: openai: base_url must not hold a user name or password ('...@' before the host): give "
        "credentials in the provider's settings, never in the URL");
  // A proxy may carry credentials, but they are never repeated.
  const std::string bad_proxy = load_error(
      "azure_openai", azure(key + "    azure_endpoint: https://x.invalid\n    proxy: http://u:hunter2@[::g]:3128\n"));
  CHECK(bad_proxy == "app.yaml:7:12: the proxy is not a valid URL: malformed IPv6 address");
}

TEST_CASE("edges: proxy bypass is decided by the same loopback rule") {
  CleanEnv env;
  RawServer proxy({{ok_reply()}});
  RawServer direct({{ok_reply()}});
  setenv("HTTP_PROXY", proxy.authority().c_str(), 1);
  TransportOptions o;
  o.max_retries = 0;
  HttpRequest r;
  r.headers = {{"api-key", "k"}};
  r.body = "{}";
  // A name that starts with "127." is not loopback: it goes to the proxy.
  r.url = "http://127.attacker.invalid:8080/x?y=%2F";
  HttpClient client;
  client.send(r, o);
  REQUIRE(proxy.requests().size() == 1);
  CHECK(proxy.requests()[0] ==
        "POST http://127.attacker.invalid:8080/x?y=%2F HTTP/1.1\r\napi-key: k\r\nContent-Length: 2\r\n"
        "Connection: Keep-Alive\r\nHost: 127.attacker.invalid:8080\r\nProxy-Connection: Keep-Alive\r\n\r\n{}");
  // A loopback literal goes direct, whatever HTTP_PROXY says.
  r.url = direct.url();
  client.send(r, o);
  CHECK(proxy.requests().size() == 1);
  REQUIRE(direct.requests().size() == 1);
  CHECK(head_of(direct.requests()[0]) == "POST /framing HTTP/1.1\r\napi-key: k\r\nContent-Length: 2\r\n"
                                         "Connection: Keep-Alive\r\nHost: " + direct.authority() + "\r\n\r\n");
  // NO_PROXY matches hosts in any case.
  setenv("NO_PROXY", "EXAMPLE.invalid", 1);
  r.url = "http://api.example.invalid:9/x";
  r.stop = {};
  o.connect_timeout = std::chrono::milliseconds(500);
  CHECK_THROWS_AS(client.send(r, o), ConnectionError);  // not resolvable: tried direct, never sent to the proxy
  CHECK(proxy.requests().size() == 1);
}

TEST_CASE("edges: a proxy without credentials gets no Proxy-Authorization; one with them gets Basic") {
  CleanEnv env;
  RawServer proxy({{ok_reply()}, {ok_reply()}});
  TransportOptions o;
  o.max_retries = 0;
  o.proxy = proxy.base();
  HttpRequest r;
  r.url = "http://gateway.invalid/v1";
  r.body = "{}";
  HttpClient client;
  client.send(r, o);
  o.proxy = "http://u%40corp:p%3Ass@" + proxy.authority();
  client.send(r, o);
  REQUIRE(proxy.requests().size() == 2);
  CHECK(proxy.requests()[0] == "POST http://gateway.invalid:80/v1 HTTP/1.1\r\nContent-Length: 2\r\n"
                               "Connection: Keep-Alive\r\nHost: gateway.invalid\r\nProxy-Connection: Keep-Alive\r\n"
                               "\r\n{}");
  // base64("u@corp:p:ss")
  CHECK(proxy.requests()[1] == "POST http://gateway.invalid:80/v1 HTTP/1.1\r\nContent-Length: 2\r\n"
                               "Connection: Keep-Alive\r\nHost: gateway.invalid\r\nProxy-Connection: Keep-Alive\r\n"
                               "Proxy-Authorization: Basic dUBjb3JwOnA6c3M=\r\n\r\n{}");
}

// ---------------------------------------------------------------- 2. header injection

TEST_CASE("edges: header names and values that would forge a header line are refused at load") {
  CleanEnv env;
  const std::string base = "    azure_deployment: d\n    api_version: v\n    azure_endpoint: https://x.invalid\n";
  CHECK(load_error("azure_openai", azure(base + "    api_key: k\n    default_headers: {X-A: \"b\\r\\nInjected: 1\"}\n")) ==
        "app.yaml:7:28: the value of header 'X-A' holds a carriage return (CR), which would end the header line");
  CHECK(load_error("azure_openai", azure(base + "    api_key: k\n    default_headers: {\"X A\": b}\n")) ==
        "app.yaml:7:30: the header name 'X A' holds ' ', which a header name cannot hold");
  CHECK(load_error("azure_openai", azure(base + "    api_key: k\n    default_headers: {\"X:\\n\": b}\n")) ==
        "app.yaml:7:31: the header name 'X:\\x0A' holds ':', which a header name cannot hold");
  const std::string key_error = load_error("azure_openai", azure(base + "    api_key: \"sk-secret\\nX-Evil: 1\"\n"));
  CHECK(key_error ==
        "app.yaml:6:14: 'api_key' holds a line feed (LF), which cannot be sent in a header (value not shown)");
  CHECK(key_error.find("sk-secret") == std::string::npos);
  setenv("AZURE_OPENAI_API_KEY", "sk-secret\r", 1);
  CHECK(load_error("azure_openai", azure(base)) ==
        "app.yaml:2:5: the environment variable AZURE_OPENAI_API_KEY (for 'api_key') holds a carriage return (CR), "
        "which cannot be sent in a header (value not shown)");
  unsetenv("AZURE_OPENAI_API_KEY");
  CHECK(load_error("azure_openai", azure(base + "    azure_ad_token: \"t\\u0000\"\n")) ==
        "app.yaml:6:21: 'azure_ad_token' holds a NUL byte, which cannot be sent in a header (value not shown)");
  setenv("OPENAI_API_KEY", "sk-secret\n", 1);
  CHECK(load_error("openai", "m:\n    provider: openai\n    model: x\n") ==
        "app.yaml:2:5: the environment variable OPENAI_API_KEY (for 'api_key') holds a line feed (LF), which cannot "
        "be sent in a header (value not shown)");
}

TEST_CASE("edges: headers that arrive later (a call's, a token provider's) are refused before anything is sent") {
  CleanEnv env;
  RawServer server({{ok_reply()}});
  const std::string yaml = azure("    azure_deployment: d\n    api_version: v\n    max_retries: 0\n"
                                 "    azure_endpoint: " + server.base() + "\n");
  auto model = make("azure_openai", yaml + "    api_key: k\n");
  CallOptions call;
  call.headers = {{"X-Trace", "1\nInjected: yes"}};
  REQUIRE_THROWS_MATCHES(model->invoke(kHi, call), InputError,
                         Catch::Matchers::Message("azure_openai: the value of header 'X-Trace' holds a line feed (LF), "
                                                  "which would end the header line; nothing was sent"));
  call.headers = {{"X Trace", "1"}};
  REQUIRE_THROWS_MATCHES(model->invoke(kHi, call), InputError,
                         Catch::Matchers::Message("azure_openai: the header name 'X Trace' holds ' ', which a header "
                                                  "name cannot hold; nothing was sent"));
  ProviderContext ctx;
  ctx.azure_ad_token_provider = [] { return std::string("tok-secret\r\nX-Evil: 1"); };
  auto entra = make("azure_openai", yaml, ctx);
  try {
    entra->invoke(kHi);
    FAIL("expected InputError");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "azure_openai: the value of header 'Authorization' holds a carriage return (CR), "
                                   "which would end the header line; nothing was sent");
  }
  CHECK(server.connections() == 0);
  CHECK(server.requests().empty());
}

// ---------------------------------------------------------------- 3. path segments

TEST_CASE("edges: a deployment name reaches the wire as one encoded segment; '.', '..' and '' are refused") {
  CleanEnv env;
  RawServer server({{ok_reply()}, {ok_reply()}});
  const std::string base = "    api_version: 2024-10-21\n    api_key: k\n    max_retries: 0\n"
                           "    azure_endpoint: " + server.base() + "\n";
  make("azure_openai", azure(base + "    azure_deployment: ../../x\n"))->invoke(kHi);
  make("azure_openai", azure(base + "    azure_deployment: \"a b/c?d#e%2F\"\n"))->invoke(kHi);
  REQUIRE(server.requests().size() == 2);
  CHECK(server.requests()[0].substr(0, server.requests()[0].find("\r\n")) ==
        "POST /openai/deployments/..%2F..%2Fx/chat/completions?api-version=2024-10-21 HTTP/1.1");
  CHECK(server.requests()[1].substr(0, server.requests()[1].find("\r\n")) ==
        "POST /openai/deployments/a%20b%2Fc%3Fd%23e%252F/chat/completions?api-version=2024-10-21 HTTP/1.1");
  CHECK(load_error("azure_openai", azure(base + "    azure_deployment: ..\n")) ==
        "app.yaml:7:23: azure_openai: the deployment name '..' cannot be a URL path segment");
  CHECK(load_error("azure_openai", azure(base + "    azure_deployment: .\n")) ==
        "app.yaml:7:23: azure_openai: the deployment name '.' cannot be a URL path segment");
  CHECK(load_error("azure_openai", azure(base + "    azure_deployment: ''\n")) ==
        "app.yaml:2:5: azure_openai needs 'azure_deployment' (the name of your deployment)");
  CHECK(path_segment("batch_1/../x", "batch id") == "batch_1%2F..%2Fx");
  REQUIRE_THROWS_MATCHES(path_segment("..", "azure_openai: batch id"), InputError,
                         Catch::Matchers::Message("azure_openai: batch id '..' cannot be a URL path segment (empty, "
                                                  "'.' and '..' are refused)"));
}

// ---------------------------------------------------------------- 8. smaller findings

TEST_CASE("edges: a 204 is reported as HTTP 204, with its request id") {
  CleanEnv env;
  RawServer server({{"HTTP/1.1 204 No Content\r\nx-request-id: rid-204\r\n\r\n"}});
  auto model = make("azure_openai", azure("    azure_deployment: d\n    api_version: v\n    api_key: k\n"
                                          "    max_retries: 0\n    azure_endpoint: " + server.base() + "\n"));
  try {
    model->invoke(kHi);
    FAIL("expected BadResponseError");
  } catch (const BadResponseError& e) {
    CHECK(std::string(e.what()) == "azure_openai: malformed response: the body is empty (HTTP 204) (request id rid-204)");
    CHECK(e.info().status == 204);
    CHECK(e.info().request_id == "rid-204");
  }
}

TEST_CASE("edges: a response that is not UTF-8 is reported with its request id, whole or streamed") {
  CleanEnv env;
  const std::string body =
      "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
      "\"message\":{\"role\":\"assistant\",\"content\":\"h\xc3\"},\"finish_reason\":\"stop\"}]}";
  const std::string events =
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":"
      "[{\"index\":0,\"delta\":{\"content\":\"h\xff\"},\"finish_reason\":null}]}\n\ndata: [DONE]\n\n";
  RawServer server({{ok_reply(body, "apim-request-id: rid-utf8\r\n")},
                    {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\napim-request-id: rid-sse\r\n"
                     "Content-Length: " + std::to_string(events.size()) + "\r\n\r\n" + events}});
  auto model = make("azure_openai", azure("    azure_deployment: d\n    api_version: v\n    api_key: k\n"
                                          "    max_retries: 0\n    azure_endpoint: " + server.base() + "\n"));
  REQUIRE_THROWS_MATCHES(model->invoke(kHi), BadResponseError,
                         Catch::Matchers::Message("azure_openai: malformed response: invalid JSON at offset 131: "
                                                  "Invalid encoding in string. (request id rid-utf8)"));
  auto stream = model->stream(kHi);
  REQUIRE_THROWS_MATCHES(stream.next(), BadResponseError,
                         Catch::Matchers::Message("azure_openai: malformed response: invalid JSON at offset 116: "
                                                  "Invalid encoding in string. (request id rid-sse)"));
}

TEST_CASE("edges: a repeated key in a completion takes its last value, through the scanner") {
  // In a completion, through the scanner and through the general path.
  CleanEnv env;
  const std::string body =
      R"({"id":"c1","object":"chat.completion","created":1,"model":"first","model":"gpt-4o","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"first","content":"last"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"total_tokens":4}})";
  RawServer server({{ok_reply(body)}});
  auto model = make("azure_openai", azure("    azure_deployment: d\n    api_version: v\n    api_key: k\n"
                                          "    max_retries: 0\n    azure_endpoint: " + server.base() + "\n"));
  const AIMessage m = model->invoke(kHi);
  CHECK(m.text() == "last");
  CHECK(m.response_metadata["model_name"].as_string() == "gpt-4o");
  CHECK(m.response_metadata["token_usage"]["total_tokens"].as_int() == 4);
}
