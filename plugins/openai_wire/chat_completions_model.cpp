#include "chat_completions_model.hpp"

#include <chainpp/endpoint.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/sse.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <iomanip>
#include <limits>
#include <mutex>
#include <sstream>

namespace chainpp::openai_wire {

const std::vector<std::string>& common_setting_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k = {"model", "model_name", "model_version", "model_profiles"};
    for (auto& option : generation_option_keys()) k.push_back(std::move(option));
    for (const char* other : {"streaming", "stream_usage", "timeout", "connect_timeout", "total_timeout",
                              "stream_idle_timeout", "max_retries", "max_retry_after", "default_headers",
                              "default_query", "verify_tls", "ca_file", "proxy", "allow_insecure_http",
                              "max_response_bytes", "max_sse_event_bytes", "max_stream_bytes", "use_responses_api"})
      k.emplace_back(other);
    return k;
  }();
  return keys;
}

namespace {

constexpr double kMaxSeconds = 1e6;  // about 11.5 days: longer is a mistake (and would overflow)

std::chrono::milliseconds seconds_setting(const ConfigNode& node, const char* key) {
  double s = node.at(key).as_double();
  if (!(s > 0) || !(s <= kMaxSeconds))
    node.at(key).fail(std::string("'") + key + "' must be a positive number of seconds, at most 1000000");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
}

// Fails at `key` unless the value read is within [lo, hi] (the API's range).
template <typename T>
void check_range(const ConfigNode& node, const char* key, const std::optional<T>& value, T lo, T hi) {
  if (!value || (*value >= lo && *value <= hi)) return;
  std::ostringstream text;
  text << std::setprecision(15) << "'" << key << "' must be between " << lo << " and " << hi;
  node.at(key).fail(text.str());
}

// A size limit in bytes: an integer within [1 KiB, 1 TiB].
void bytes_setting(const ConfigNode& node, const char* key, std::int64_t& out) {
  if (!node.contains(key)) return;
  const std::int64_t n = node.get_int(key);
  if (n < 1024 || n > (std::int64_t{1} << 40))
    node.at(key).fail(std::string("'") + key + "' must be a number of bytes between 1024 and 1099511627776");
  out = n;
}

std::vector<std::pair<std::string, std::string>> string_map(const ConfigNode& node, const char* key) {
  std::vector<std::pair<std::string, std::string>> out;
  const ConfigNode* m = node.find(key);
  if (!m) return out;
  if (!m->is_map()) m->fail(std::string("'") + key + "' must be a map of names to strings");
  for (const auto& [k, v] : m->entries()) out.emplace_back(k, v.as_string());
  return out;
}

std::optional<std::int64_t> count_header(const HttpHeaders& headers, std::string_view name) {
  const std::string* v = find_header(headers, name);
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 0) return std::nullopt;
  return n;
}

// Passes each retry of a call to the run's handlers.
RetryObserver retries_to(const RunManager& run) {
  return [&run](int attempt, const std::exception& e, double delay) { run.retry(attempt, e, delay); };
}

// Tells the run's handlers the quota the response reported, if it did.
void report_rate_limit(const RunManager& run, const HttpHeaders& headers) {
  if (!run.active()) return;
  RateLimitStatus status{count_header(headers, "x-ratelimit-remaining-requests"),
                         count_header(headers, "x-ratelimit-remaining-tokens")};
  if (status.remaining_requests || status.remaining_tokens) run.rate_limit_status(status);
}

}  // namespace

CommonSettings parse_common_settings(const ConfigNode& node) {
  CommonSettings s;
  CallOptions& o = s.defaults;
  if (node.contains("model") && node.contains("model_name"))
    node.at("model_name").fail("set either 'model' or 'model_name', not both");
  s.model_name = node.get_string("model", node.get_string("model_name", ""));
  s.model_version = node.get_string("model_version", "");
  read_generation_options(node, o);
  // The configured model (never an Azure deployment name): what it accepts.
  s.model_profiles = node.get_string("model_profiles", "");
  s.profile = configured_model_profile(
      node, s.model_name.empty() ? std::string() : versioned_model_name(s.model_name, s.model_version));
  s.streaming = node.get_bool("streaming", false);
  s.stream_usage = node.get_bool("stream_usage", false);
  if (node.contains("timeout")) s.transport.read_timeout = seconds_setting(node, "timeout");
  if (node.contains("connect_timeout")) s.transport.connect_timeout = seconds_setting(node, "connect_timeout");
  if (node.contains("total_timeout")) s.transport.total_timeout = seconds_setting(node, "total_timeout");
  if (node.contains("stream_idle_timeout"))
    s.transport.stream_idle_timeout = seconds_setting(node, "stream_idle_timeout");
  if (node.contains("max_retries")) {
    std::int64_t r = node.get_int("max_retries");
    if (r < 0 || r > 100) node.at("max_retries").fail("'max_retries' must be between 0 and 100");
    s.transport.max_retries = static_cast<int>(r);
  }
  if (node.contains("max_retry_after")) {
    s.transport.max_retry_after_seconds = node.get_double("max_retry_after");
    check_range(node, "max_retry_after", std::optional<double>(s.transport.max_retry_after_seconds), 0.0, kMaxSeconds);
  }
  s.transport.verify_tls = node.get_bool("verify_tls", true);
  s.transport.ca_file = node.get_string("ca_file", "");
  s.transport.proxy = node.get_string("proxy", "");
  if (!s.transport.proxy.empty()) {
    try {
      (void)parse_proxy_url(s.transport.proxy);
    } catch (const ConfigError& e) {
      node.at("proxy").fail(e.what());
    }
  }
  bytes_setting(node, "max_response_bytes", s.transport.max_response_bytes);
  bytes_setting(node, "max_sse_event_bytes", s.transport.max_sse_event_bytes);
  bytes_setting(node, "max_stream_bytes", s.transport.max_stream_bytes);
  s.default_headers = string_map(node, "default_headers");
  for (const auto& [name, value] : s.default_headers)
    if (auto problem = header_problem(name, value)) node.at("default_headers").at(name).fail(*problem);
  s.default_query = string_map(node, "default_query");
  if (const ConfigNode* use = node.find("use_responses_api")) {
    const std::string v = use->is_scalar() ? use->as_string() : std::string();
    if (v == "auto") s.use_responses_api = UseResponsesApi::automatic;
    else if (v == "true") s.use_responses_api = UseResponsesApi::yes;
    else if (v == "false") s.use_responses_api = UseResponsesApi::no;
    else use->fail("'use_responses_api' must be true, false or auto");
  }
  if (o.reasoning)
    if (const auto problem = reasoning_problem(*o.reasoning))
      (problem->first.empty() ? node.at("reasoning") : node.at("reasoning").at(problem->first)).fail(problem->second);
  if (s.use_responses_api == UseResponsesApi::no)  // fails here rather than at the first call
    if (const auto features = responses_only_features(o); !features.empty())
      node.at(features.front())
          .fail("'" + features.front() + "' needs the Responses API, which 'use_responses_api: false' turns off");
  return s;
}

std::string from_env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

Json common_settings_config(const CommonSettings& s) {
  Json j = Json::object();
  const CallOptions& o = s.defaults;
  if (!s.model_name.empty()) j.set("model", s.model_name);
  if (!s.model_version.empty()) j.set("model_version", s.model_version);
  if (!s.model_profiles.empty()) j.set("model_profiles", s.model_profiles);
  const Json options = generation_options_json(o);
  for (const auto& [name, value] : options.as_object()) j.set(name, value);
  j.set("streaming", s.streaming);
  j.set("stream_usage", s.stream_usage);
  j.set("timeout", static_cast<double>(s.transport.read_timeout.count()) / 1000.0);
  j.set("max_retries", s.transport.max_retries);
  if (s.use_responses_api != UseResponsesApi::automatic)
    j.set("use_responses_api", s.use_responses_api == UseResponsesApi::yes);
  if (!s.default_headers.empty()) {
    // Header values may carry credentials: names only.
    Json h = Json::object();
    for (const auto& [k, v] : s.default_headers) h.set(k, "***");
    j.set("default_headers", h);
  }
  if (!s.default_query.empty()) {
    Json q = Json::object();
    for (const auto& [k, v] : s.default_query) q.set(k, v);
    j.set("default_query", q);
  }
  return j;
}

Json ChatCompletionsModel::invocation_params(const CallOptions& options) const {
  Json p = ChatModel::invocation_params(options);
  p.set("model_name", settings_.model_name);
  if (!body_model().empty()) p.set("model", body_model());
  if (!options.tools.empty()) p.set("tools", static_cast<std::int64_t>(options.tools.size()));
  return p;
}

CallOptions ChatCompletionsModel::configured_options(const CommonSettings& settings) {
  CallOptions o = settings.defaults;
  o.headers = settings.default_headers;
  return o;
}

TransportOptions ChatCompletionsModel::transport_for(const CallOptions& options) const {
  TransportOptions t = settings_.transport;
  if (options.timeout_seconds && *options.timeout_seconds > 0)
    t.read_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(*options.timeout_seconds * 1000));
  return t;
}

std::string ChatCompletionsModel::describe_call(const CallOptions& options) const {
  const bool responses = uses_responses_api(options);
  const std::string url = responses ? responses_url() : endpoint_url();
  std::string out = provider();
  try {
    out += " at " + parse_url(url).authority();  // never the path's query or a user name
  } catch (const ConfigError&) {
  }
  if (const std::string target = call_target(); !target.empty()) out += ", " + target;
  for (const char* key : {"?api-version=", "&api-version="}) {
    if (const auto at = url.find(key); at != std::string::npos) {
      const std::size_t begin = at + std::string_view(key).size();
      out += ", api-version " + url.substr(begin, url.find('&', begin) - begin);
      break;
    }
  }
  if (responses) out += ", Responses API";
  return out;
}

bool ChatCompletionsModel::uses_responses_api(const CallOptions& options) const {
  const bool only_responses = settings_.profile && settings_.profile->responses_api_only.value_or(false);
  return choose_responses_api(settings_.use_responses_api, responses_only_features(options), provider(),
                              only_responses);
}

HttpRequest ChatCompletionsModel::make_request(const Messages& messages, const CallOptions& options, bool stream,
                                               const CallContext& ctx) const {
  const bool usage = options.stream_usage.value_or(settings_.stream_usage);
  return request_to(endpoint_url(), build_request_body(messages, options, RequestShape{body_model(), stream, usage}),
                    options, stream, ctx);
}

HttpRequest ChatCompletionsModel::make_responses_request(const Messages& messages, const CallOptions& options,
                                                         bool stream, const CallContext& ctx) const {
  return request_to(responses_url(), build_responses_body(messages, options, responses_model(), stream), options,
                    stream, ctx);
}

HttpRequest ChatCompletionsModel::request_to(std::string url, std::string body, const CallOptions& options,
                                             bool stream, const CallContext& ctx) const {
  HttpRequest r;
  r.stop = ctx.stop;
  r.provider = provider();
  r.url = std::move(url);
  for (const auto& [k, v] : settings_.default_query) {
    r.url += r.url.find('?') == std::string::npos ? '?' : '&';
    r.url += url_encode(k) + "=" + url_encode(v);
  }
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Accept", stream ? "text/event-stream" : "application/json");
  r.headers.emplace_back("User-Agent", "chainpp/0.1.0");
  for (const auto& h : options.headers) r.headers.push_back(h);  // default_headers, then the call's
  add_credentials(r.headers);
  r.body = std::move(body);
  return r;
}

HttpResponse ChatCompletionsModel::send(const HttpRequest& request, const CallOptions& options,
                                        const CallContext& ctx) const {
  HttpResponse response = HttpClient::shared().send(request, transport_for(options), retries_to(ctx.run));
  report_rate_limit(ctx.run, response.headers);
  return response;
}

std::unique_ptr<HttpBodyStream> ChatCompletionsModel::open(const HttpRequest& request,
                                                           const TransportOptions& transport,
                                                           const CallContext& ctx) const {
  auto body = HttpClient::shared().open(request, transport, retries_to(ctx.run));
  report_rate_limit(ctx.run, body->headers());
  return body;
}

AIMessage ChatCompletionsModel::generate(const Messages& messages, const CallOptions& options,
                                         const CallContext& ctx) const {
  if (uses_responses_api(options)) return generate_responses(messages, options, ctx);
  const HttpResponse response = send(make_request(messages, options, false, ctx), options, ctx);
  return parse_completion(response.body, response_shape(response.request_id(), response.status));
}

Stream<AIMessageChunk> ChatCompletionsModel::generate_stream(const Messages& messages, const CallOptions& options,
                                                             const CallContext& ctx) const {
  if (uses_responses_api(options)) return stream_responses(messages, options, ctx);
  const TransportOptions transport = transport_for(options);
  auto body = open(make_request(messages, options, true, ctx), transport, ctx);
  struct State {
    StreamDecoder decoder;
    SseEventReader events;
  };
  auto st = std::make_shared<State>(
      State{StreamDecoder(response_shape(body->request_id(), body->status()), transport.max_stream_bytes),
            SseEventReader(std::move(body), provider(), transport.max_sse_event_bytes)});
  return Stream<AIMessageChunk>([st]() -> std::optional<AIMessageChunk> {
    if (const SseEvent* event = st->events.next()) return st->decoder.decode(event->data);
    return std::nullopt;
  });
}

AIMessage ChatCompletionsModel::generate_responses(const Messages& messages, const CallOptions& options,
                                                   const CallContext& ctx) const {
  const HttpResponse response = send(make_responses_request(messages, options, false, ctx), options, ctx);
  return parse_response(response.body, response_shape(response.request_id(), response.status));
}

Stream<AIMessageChunk> ChatCompletionsModel::stream_responses(const Messages& messages, const CallOptions& options,
                                                              const CallContext& ctx) const {
  const TransportOptions transport = transport_for(options);
  auto body = open(make_responses_request(messages, options, true, ctx), transport, ctx);
  struct State {
    ResponsesStreamDecoder decoder;
    SseEventReader events;
  };
  // The stream ends at its terminal event; a body that ends before one is an
  // error (SseEventReader's, naming response.completed).
  auto st = std::make_shared<State>(
      State{ResponsesStreamDecoder(response_shape(body->request_id(), body->status()), transport.max_stream_bytes),
            SseEventReader(std::move(body), provider(), transport.max_sse_event_bytes, "response.completed")});
  return Stream<AIMessageChunk>([st, provider = provider()]() -> std::optional<AIMessageChunk> {
    while (!st->decoder.finished()) {
      const SseEvent* event = st->events.next();
      if (!event) {  // data: [DONE], which this API does not send, before the terminal event
        const HttpBodyStream& r = st->events.response();
        ProviderErrorInfo info{provider, r.status(), "", "", r.request_id(), r.attempts(), {}, {}, {}};
        std::string message = provider + ": the stream ended without response.completed after " +
                              std::to_string(st->events.events()) +
                              (st->events.events() == 1 ? " event" : " events") + " (truncated)";
        if (!info.request_id.empty()) message += " (request id " + info.request_id + ")";
        throw BadResponseError(message, std::move(info));
      }
      AIMessageChunk chunk = st->decoder.decode(event->data);
      if (st->decoder.finished()) {
        st->events.finish();
        return chunk;
      }
      // Events that carry nothing (response.created, content_part.added, ...) make no chunk.
      if (!chunk.content.empty() || !chunk.tool_call_chunks.empty() || !chunk.response_metadata.empty())
        return chunk;
    }
    return std::nullopt;
  });
}

ResponseShape ChatCompletionsModel::response_shape(const std::string& request_id, int status) const {
  return ResponseShape{provider(), settings_.model_version, request_id, settings_.model_name, status};
}

}  // namespace chainpp::openai_wire
