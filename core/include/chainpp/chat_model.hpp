#pragma once
// ChatModel: the interface every provider implements. The public calls are
// non-virtual and do the work common to all providers (callbacks, rate
// limiting, run ids, invoke built from stream); providers override the
// protected generate hooks only.
#include <chainpp/call_options.hpp>
#include <chainpp/callbacks.hpp>
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/model_profiles.hpp>
#include <chainpp/rate_limiter.hpp>
#include <chainpp/runnable.hpp>
#include <chainpp/stream.hpp>
#include <chainpp/structured_output.hpp>
#include <chainpp/tools.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainpp {

/// What a provider's generate hooks get besides messages and options.
struct CHAINPP_API CallContext {
  const RunManager& run;  ///< fire retry events through this
  std::stop_token stop;   ///< the caller's cancellation (RunConfig::stop): pass it to HttpRequest::stop
};

class CHAINPP_API ChatModel : public Runnable {
public:
  // The model's own calls take messages; as a chain step (through a
  // RunnablePtr) it takes a Value of messages, one message or text.
  std::string name() const override;
  std::string run_type() const override { return "chat_model"; }

  /// Provider name, e.g. "azure_openai".
  virtual std::string provider() const = 0;
  /// The invocation parameters shown to callbacks (model name, temperature, ...).
  virtual Json invocation_params(const CallOptions& options) const;

  AIMessage invoke(const Messages& messages, const CallOptions& options = {},
                   const RunConfig& config = {}) const;
  Stream<AIMessageChunk> stream(const Messages& messages, const CallOptions& options = {},
                                const RunConfig& config = {}) const;
  /// invoke() of one human message `text`, as LangChain takes a string:
  /// `llm->invoke("hello")`.
  AIMessage invoke(std::string_view text, const CallOptions& options = {}, const RunConfig& config = {}) const;
  /// stream() of one human message `text`.
  Stream<AIMessageChunk> stream(std::string_view text, const CallOptions& options = {},
                                const RunConfig& config = {}) const;
  std::vector<AIMessage> batch(const std::vector<Messages>& inputs, const CallOptions& options = {},
                               const RunConfig& config = {}) const;
  std::future<AIMessage> ainvoke(Messages messages, CallOptions options = {}, RunConfig config = {}) const;
  /// batch() on another thread; the caller is not blocked.
  std::future<std::vector<AIMessage>> abatch(std::vector<Messages> inputs, CallOptions options = {},
                                             RunConfig config = {}) const;
  /// Streams on another thread, calling `on_chunk` with each chunk as it arrives;
  /// the future holds the merged message (or the call's error).
  std::future<AIMessage> astream(Messages messages, std::function<void(const AIMessageChunk&)> on_chunk,
                                 CallOptions options = {}, RunConfig config = {}) const;

  /// A copy of this model with `options` bound as its defaults.
  std::shared_ptr<const ChatModel> bind(const CallOptions& options) const;
  /// A copy with tools bound (and optionally tool_choice / parallel_tool_calls / strict on each).
  std::shared_ptr<const ChatModel> bind_tools(std::vector<ToolDefinition> tools,
                                              std::optional<Json> tool_choice = std::nullopt,
                                              std::optional<bool> parallel_tool_calls = std::nullopt,
                                              std::optional<bool> strict = std::nullopt) const;
  /// A copy that takes a rate-limiter token before each call.
  std::shared_ptr<const ChatModel> with_rate_limiter(std::shared_ptr<RateLimiter> limiter) const;
  /// A runnable returning JSON that validates against `schema` (see StructuredOutputOptions).
  RunnablePtr with_structured_output(const Json& schema, StructuredOutputOptions options = {}) const;

  /// The model's settings as they would be written under `models.<name>` in
  /// YAML, secrets left out (LangChain's "Serializable"); see to_yaml().
  virtual Json to_config() const;

  const CallOptions& bound_options() const { return bound_; }
  /// Whether invoke() should stream internally (the provider's `streaming: true`).
  virtual bool prefers_streaming() const { return false; }
  /// What the model accepts, from the model profile table (model_profiles.hpp);
  /// nullopt when the table has no entry for it (or the provider has none).
  virtual std::optional<ModelProfile> profile() const { return std::nullopt; }
  /// What a call with `options` is sent to, for errors (ProviderErrorInfo::call):
  /// "azure_openai at HOST:PORT, deployment D, api-version V", never a secret.
  /// The default, "", names nothing (an offline provider).
  virtual std::string describe_call(const CallOptions& options) const;

protected:
  /// A model whose bound options start as `configured` (a provider's
  /// configured generation options and default headers): every call's
  /// options are merged over them once, here.
  explicit ChatModel(CallOptions configured = {}) : bound_(std::move(configured)) {}

  /// A copy of the concrete model (used by bind and friends).
  virtual std::shared_ptr<ChatModel> clone() const = 0;
  /// One complete call. The default drains generate_stream and merges the chunks.
  virtual AIMessage generate(const Messages& messages, const CallOptions& options, const CallContext& ctx) const;
  /// One streamed call. The default yields generate's result as one chunk.
  virtual Stream<AIMessageChunk> generate_stream(const Messages& messages, const CallOptions& options,
                                                 const CallContext& ctx) const;

  Value do_invoke(const Value& input, const RunConfig& config) const override;
  Stream<Value> do_stream(const Value& input, const RunConfig& config) const override;
  bool fires_chain_events() const override { return false; }

private:
  friend class PluginRegistry;
  /// A copy made by bind() and friends, owning the plugin library as the original does.
  std::shared_ptr<ChatModel> keep_library(std::shared_ptr<ChatModel> copy) const;

  CallOptions bound_;
  std::shared_ptr<RateLimiter> limiter_;
  /// Set by the registry for a model made by a plugin: keeps its library loaded.
  std::shared_ptr<const void> library_;
};

using ChatModelPtr = std::shared_ptr<const ChatModel>;

/// Messages from a runnable input: messages, one message, or text (a human message).
CHAINPP_API Messages to_messages(const Value& input);

}  // namespace chainpp
