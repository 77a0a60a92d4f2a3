// The `template_echo` provider: a small but complete chainpp provider plugin
// to copy when writing your own (see docs/writing-a-provider.md). It answers
// with the last message of the conversation, optionally upper-cased and
// prefixed, streamed word by word, with a token usage estimate (one token per
// word) so that cost tracking works.
//
//   plugins: {paths: [path/to/build], load: [template_echo]}
//   models:
//     echo:
//       provider: template_echo
//       prefix: "Echo: "        # put before the answer (default: none)
//       uppercase: false        # upper-case the echoed text (default: false)
//       model_name: echo-1      # reported in response_metadata, used for pricing
//                               # (default: template_echo)
//
// A real provider replaces generate_stream() (or generate()) with a call to
// its service through chainpp::HttpClient::shared(), which brings the
// connection pool, timeouts and the retry loop.
#include <chainpp/plugin.hpp>

#include <cctype>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace chainpp;

// 1. The provider's typed configuration, parsed once when the YAML is loaded.
struct EchoConfig {
  std::string prefix;
  bool uppercase = false;
  std::string model_name = "template_echo";
};

EchoConfig parse_config(const ConfigNode& node) {
  // Unknown keys are errors that point at the key and suggest the closest one:
  // "app.yaml:7:5: unknown key 'uppercse' in models.echo (did you mean 'uppercase'?)"
  node.check_keys({"provider", "prefix", "uppercase", "model_name"});
  EchoConfig c;
  c.prefix = node.get_string("prefix", "");
  c.uppercase = node.get_bool("uppercase", false);  // "yes please" -> located type error
  c.model_name = node.get_string("model_name", c.model_name);
  if (c.model_name.empty()) node.at("model_name").fail("template_echo: 'model_name' must not be empty");
  return c;
}

// "a  b c" -> "a", "  b", " c": each word with the spaces before it.
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::int64_t count_words(const std::string& text) {
  std::int64_t n = 0;
  for (const auto& word : split_words(text))
    if (word.find_first_not_of(" \t\r\n") != std::string::npos) ++n;
  return n;
}

// 2. The model: immutable after construction, safe to call from many threads.
class EchoChatModel final : public ChatModel {
public:
  explicit EchoChatModel(EchoConfig config) : config_(std::move(config)) {}

  std::string provider() const override { return "template_echo"; }
  std::string name() const override { return "TemplateEchoChatModel"; }

  Json invocation_params(const CallOptions& options) const override {
    Json p = ChatModel::invocation_params(options);
    p.set("model_name", config_.model_name);
    return p;
  }

protected:
  // bind(), bind_tools(), with_rate_limiter() copy the model through clone().
  std::shared_ptr<ChatModel> clone() const override { return std::make_shared<EchoChatModel>(*this); }

  // One streamed call. The base class fires the callbacks around it, and
  // builds invoke() from it (generate() drains this stream by default).
  Stream<AIMessageChunk> generate_stream(const Messages& messages, const CallOptions& options,
                                         const CallContext&) const override {
    std::string answer = messages.empty() ? std::string() : messages.back().text();
    if (config_.uppercase)
      for (char& ch : answer) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    answer = config_.prefix + answer;
    if (options.stop) {
      for (const auto& stop : *options.stop)
        if (auto pos = answer.find(stop); !stop.empty() && pos != std::string::npos) answer.resize(pos);
    }

    UsageMetadata usage;
    for (const auto& m : messages) usage.input_tokens += count_words(m.text());
    usage.output_tokens = count_words(answer);
    usage.total_tokens = usage.input_tokens + usage.output_tokens;

    std::vector<AIMessageChunk> chunks;
    for (auto& word : split_words(answer)) {
      AIMessageChunk chunk;
      chunk.content = std::move(word);
      chunks.push_back(std::move(chunk));
    }
    // The last chunk carries what the callbacks need: model name (pricing),
    // finish reason and usage.
    AIMessageChunk last;
    last.response_metadata = Json{{"model_name", config_.model_name}, {"finish_reason", "stop"}};
    last.usage_metadata = usage;
    chunks.push_back(std::move(last));
    return Stream<AIMessageChunk>::from_vector(std::move(chunks));
  }

private:
  EchoConfig config_;
};

// 3. The factory: configuration node in, model out (ConfigError on bad settings).
std::shared_ptr<ChatModel> make_echo(const ConfigNode& config, const ProviderContext&) {
  return std::make_shared<EchoChatModel>(parse_config(config));
}

// 4. The descriptor: plugin name and version, the ABI it was built for, its providers.
PluginDescriptor describe() {
  return {"template_echo", "0.1.0", CHAINPP_ABI_VERSION, {{"template_echo", &make_echo}}};
}

}  // namespace

// 5. The one exported entry symbol.
CHAINPP_PLUGIN(describe)
