#pragma once
// Callbacks: handlers observe runs (chains, prompts, parsers, chat models)
// as LangChain's callback handlers do. Handlers are passed per call in a
// RunConfig or attached to a runnable, and propagate to every nested run.
// A handler that throws never fails the run: the error is reported and ignored.
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/value.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chainpp {

/// Identity of one run: its id (a UUID), its parent's id (empty at the top), its name and type.
struct CHAINPP_API RunInfo {
  std::string id;
  std::string parent_id;
  std::string name;
  std::string type;  ///< "chain", "prompt", "parser", "chat_model", ...
};

/// The quota left that a provider's response reported (Azure and OpenAI send
/// `x-ratelimit-remaining-requests` and `x-ratelimit-remaining-tokens`).
struct CHAINPP_API RateLimitStatus {
  std::optional<std::int64_t> remaining_requests;
  std::optional<std::int64_t> remaining_tokens;
};

/// Base of every callback handler. Override what you need; handlers must be thread-safe.
class CHAINPP_API CallbackHandler {
public:
  virtual ~CallbackHandler();
  virtual void on_chain_start(const RunInfo& run, const Value& inputs);
  virtual void on_chain_end(const RunInfo& run, const Value& outputs);
  virtual void on_chain_error(const RunInfo& run, const std::exception& error);
  /// `params` holds the call's invocation parameters (model, temperature, ...).
  virtual void on_chat_model_start(const RunInfo& run, const Messages& messages, const Json& params);
  virtual void on_llm_new_token(const RunInfo& run, const std::string& token, const AIMessageChunk& chunk);
  virtual void on_llm_end(const RunInfo& run, const AIMessage& result);
  virtual void on_llm_error(const RunInfo& run, const std::exception& error);
  /// Before retry number `attempt` (1-based), after `error`, waiting `delay_seconds`.
  virtual void on_retry(const RunInfo& run, int attempt, const std::exception& error, double delay_seconds);
  /// A response reported the quota left (before on_llm_end, or as a stream starts).
  virtual void on_rate_limit_status(const RunInfo& run, const RateLimitStatus& status);
};

using Callbacks = std::vector<std::shared_ptr<CallbackHandler>>;

/// Fires events of one run to its handlers. Does nothing, cheaply, when there are none.
class CHAINPP_API RunManager {
public:
  RunManager() = default;
  RunManager(Callbacks handlers, RunInfo info) : handlers_(std::move(handlers)), info_(std::move(info)) {}

  const RunInfo& info() const { return info_; }
  const Callbacks& handlers() const { return handlers_; }
  bool active() const { return !handlers_.empty(); }

  void chain_start(const Value& inputs) const;
  void chain_end(const Value& outputs) const;
  void chain_error(const std::exception& error) const;
  void chat_model_start(const Messages& messages, const Json& params) const;
  void new_token(const std::string& token, const AIMessageChunk& chunk) const;
  void llm_end(const AIMessage& result) const;
  void llm_error(const std::exception& error) const;
  void retry(int attempt, const std::exception& error, double delay_seconds) const;
  void rate_limit_status(const RateLimitStatus& status) const;

private:
  Callbacks handlers_;
  RunInfo info_;
};

/// A new random (version 4) UUID in canonical text form.
CHAINPP_API std::string new_uuid();

}  // namespace chainpp
