// The `fake` provider: a deterministic scripted chat model for offline use and
// for testing host applications (the analogue of LangChain's fake chat models).
//
//   models:
//     scripted:
//       provider: fake
//       model_name: gpt-35-turbo          # reported in response_metadata (pricing)
//       usage: {input_tokens: 31, output_tokens: 8}   # every response, unless its own
//       responses:                         # cycled, one per call
//         - "J'adore la programmation."
//         - content: ""
//           tool_calls: [{name: get_weather, args: {city: Paris}, id: call_1}]
//         - error: {status: 429, code: "429", message: "Rate limit", request_id: req-1}  # raised
//     parrot: {provider: fake, echo: true} # answers with the last message's text
//                                          # (response_metadata.message_count: messages received)
//
// Streaming splits the response into words, each with the spaces before it.
#include <chainpp/plugin.hpp>

#include <atomic>
#include <cctype>

namespace {

using namespace chainpp;

struct ScriptedResponse {
  std::optional<std::size_t> message_count;  ///< echo mode: how many messages the call got
  std::optional<ProviderErrorInfo> error;  ///< raise this instead of answering
  std::string content;
  std::vector<ToolCall> tool_calls;
  std::optional<UsageMetadata> usage;
};

struct FakeConfig {
  std::vector<ScriptedResponse> responses;
  bool echo = false;
  bool streaming = false;
  std::string model_name = "fake";
  std::optional<UsageMetadata> usage;
};

UsageMetadata parse_usage(const ConfigNode& node) {
  node.check_keys({"input_tokens", "output_tokens", "total_tokens"});
  // Bounded so that sums of counts stay far from overflowing.
  constexpr std::int64_t max_tokens = 1'000'000'000'000;
  auto count = [&](const char* key, std::int64_t fallback) {
    const std::int64_t n = node.get_int(key, fallback);
    if (n < 0 || n > max_tokens)
      node.at(key).fail(std::string("'") + key + "' must be a token count from 0 to 1000000000000");
    return n;
  };
  UsageMetadata u;
  u.input_tokens = count("input_tokens", 0);
  u.output_tokens = count("output_tokens", 0);
  u.total_tokens = count("total_tokens", u.input_tokens + u.output_tokens);
  return u;
}

ScriptedResponse parse_response(const ConfigNode& node) {
  ScriptedResponse r;
  if (node.is_scalar()) {
    r.content = node.as_string();
    return r;
  }
  if (!node.is_map()) node.fail(node.path() + " must be a string or a map with content/tool_calls/usage");
  node.check_keys({"content", "tool_calls", "usage", "error"});
  if (const ConfigNode* error = node.find("error")) {
    error->check_keys({"status", "code", "message", "request_id"});
    ProviderErrorInfo info;
    info.provider = "fake";
    info.status = static_cast<int>(error->get_int("status", 500));
    info.code = error->get_string("code", "");
    info.provider_message = error->get_string("message", "scripted error");
    info.request_id = error->get_string("request_id", "");
    r.error = std::move(info);
  }
  r.content = node.get_string("content", "");
  if (const ConfigNode* calls = node.find("tool_calls")) {
    if (!calls->is_list()) calls->fail(calls->path() + " must be a list");
    int index = 0;
    for (const auto& call : calls->items()) {
      call.check_keys({"name", "args", "id"});
      ToolCall tc;
      tc.name = call.get_string("name");
      tc.args = call.contains("args") ? call.at("args").to_json() : Json::object();
      if (!tc.args.is_object()) call.at("args").fail(call.path() + ".args must be a map");
      tc.id = call.get_string("id", "call_" + std::to_string(index));
      r.tool_calls.push_back(std::move(tc));
      ++index;
    }
  }
  if (const ConfigNode* usage = node.find("usage")) r.usage = parse_usage(*usage);
  return r;
}

FakeConfig parse_config(const ConfigNode& node) {
  node.check_keys({"provider", "responses", "echo", "streaming", "model_name", "usage"});
  FakeConfig c;
  c.echo = node.get_bool("echo", false);
  c.streaming = node.get_bool("streaming", false);
  c.model_name = node.get_string("model_name", "fake");
  if (const ConfigNode* usage = node.find("usage")) c.usage = parse_usage(*usage);
  if (const ConfigNode* responses = node.find("responses")) {
    if (!responses->is_list()) responses->fail(responses->path() + " must be a list");
    for (const auto& item : responses->items()) c.responses.push_back(parse_response(item));
  }
  if (c.responses.empty() && !c.echo) node.fail(node.path() + ": the fake provider needs `responses:` or `echo: true`");
  return c;
}

// "a  b c" -> "a", "  b", " c"
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    out.push_back(text.substr(start, i - start));
  }
  return out;
}

class FakeChatModel final : public ChatModel {
public:
  explicit FakeChatModel(FakeConfig config)
      : config_(std::make_shared<const FakeConfig>(std::move(config))),
        next_(std::make_shared<std::atomic<std::size_t>>(0)) {}

  std::string provider() const override { return "fake"; }

  Json invocation_params(const CallOptions& options) const override {
    Json p = ChatModel::invocation_params(options);
    p.set("model_name", config_->model_name);
    return p;
  }

  bool prefers_streaming() const override { return config_->streaming; }

protected:
  std::shared_ptr<ChatModel> clone() const override { return std::make_shared<FakeChatModel>(*this); }

  AIMessage generate(const Messages& messages, const CallOptions& options, const CallContext&) const override {
    ScriptedResponse r = next_response(messages, options);
    AIMessage message(r.content, r.tool_calls);
    message.response_metadata = metadata(r);
    message.usage_metadata = r.usage;
    return message;
  }

  Stream<AIMessageChunk> generate_stream(const Messages& messages, const CallOptions& options,
                                         const CallContext&) const override {
    ScriptedResponse r = next_response(messages, options);
    std::vector<AIMessageChunk> chunks;
    for (auto& word : split_words(r.content)) {
      AIMessageChunk c;
      c.content = std::move(word);
      chunks.push_back(std::move(c));
    }
    int index = 0;
    for (const auto& call : r.tool_calls) {
      AIMessageChunk c;
      c.tool_call_chunks.push_back(ToolCallChunk{call.name, call.args.dump(), call.id, index++});
      chunks.push_back(std::move(c));
    }
    AIMessageChunk last;
    last.response_metadata = metadata(r);
    last.usage_metadata = r.usage;
    chunks.push_back(std::move(last));
    return Stream<AIMessageChunk>::from_vector(std::move(chunks));
  }

private:
  ScriptedResponse next_response(const Messages& messages, const CallOptions& options) const {
    ScriptedResponse r;
    if (config_->echo) {
      if (!messages.empty()) r.content = messages.back().text();
      r.message_count = messages.size();
    } else {
      r = config_->responses[next_->fetch_add(1) % config_->responses.size()];
    }
    if (r.error) raise(*r.error);
    if (!r.usage) r.usage = config_->usage;
    if (options.stop) {
      for (const auto& stop : *options.stop) {
        if (auto pos = r.content.find(stop); !stop.empty() && pos != std::string::npos) r.content.resize(pos);
      }
    }
    return r;
  }

  // Throws the ProviderError subclass a real provider would for this status.
  [[noreturn]] static void raise(const ProviderErrorInfo& info) {
    std::string message = "fake: HTTP " + std::to_string(info.status) + ": " + info.provider_message;
    if (!info.request_id.empty()) message += " (request id " + info.request_id + ")";
    if (info.status == 401 || info.status == 403) throw AuthenticationError(message, info);
    if (info.status == 404) throw NotFoundError(message, info);
    if (info.status == 429) throw RateLimitError(message, info);
    if (info.status >= 500) throw ServerError(message, info);
    throw BadRequestError(message, info);
  }

  Json metadata(const ScriptedResponse& r) const {
    Json m{{"model_name", config_->model_name}, {"finish_reason", r.tool_calls.empty() ? "stop" : "tool_calls"}};
    if (r.message_count) m.set("message_count", *r.message_count);
    return m;
  }

  std::shared_ptr<const FakeConfig> config_;
  std::shared_ptr<std::atomic<std::size_t>> next_;  // shared by copies: one script
};

std::shared_ptr<ChatModel> make_fake(const ConfigNode& config, const ProviderContext&) {
  return std::make_shared<FakeChatModel>(parse_config(config));
}

PluginDescriptor describe() { return {"fake", "0.1.0", CHAINPP_ABI_VERSION, {{"fake", &make_fake}}}; }

}  // namespace

CHAINPP_PLUGIN(describe)
