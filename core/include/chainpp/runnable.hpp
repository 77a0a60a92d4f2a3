#pragma once
// Runnable: the one composition mechanism. Prompts, models, parsers and
// whole chains are runnables over Value; `a | b` feeds a's output to b.
// YAML pipelines are built from the same objects.
#include <chainpp/callbacks.hpp>
#include <chainpp/export.hpp>
#include <chainpp/stream.hpp>
#include <chainpp/value.hpp>

#include <functional>
#include <future>
#include <memory>
#include <stop_token>
#include <string>
#include <type_traits>
#include <vector>

namespace chainpp {

/// Per-call settings that propagate from a chain to its steps.
struct CHAINPP_API RunConfig {
  Callbacks callbacks;       ///< handlers for this run and every nested run
  std::string run_name;      ///< overrides the runnable's name in callbacks
  std::string parent_run_id; ///< set by a parent run for its children
  int max_concurrency = 0;   ///< batch: calls at once (0: all inputs at once, up to 16)
  /// Cancels the run and every nested run: a step not yet started throws
  /// CancelledError, and a model call in flight (a stream included) ends at
  /// once with CancelledError, its connection closed. Pair with a
  /// std::stop_source: `config.stop = source.get_token(); ... source.request_stop();`
  std::stop_token stop;
};

/// Throws CancelledError "<who>: cancelled before it started" when `stop` was requested.
CHAINPP_API void throw_if_cancelled(const std::stop_token& stop, const std::string& who);

class Runnable;
using RunnablePtr = std::shared_ptr<const Runnable>;

/// Retry policy of with_retry(): attempts in all, exponential backoff in seconds,
/// and which errors to retry (default: every chainpp::Error).
struct CHAINPP_API RetryConfig {
  int max_attempts = 3;
  double initial_delay = 0.5;
  double max_delay = 8.0;
  std::function<bool(const std::exception&)> retry_if;
};

class CHAINPP_API Runnable : public std::enable_shared_from_this<Runnable> {
public:
  virtual ~Runnable();

  /// Name shown in callbacks and traces.
  virtual std::string name() const = 0;
  /// Run type reported to callbacks: "chain", "prompt", "parser", "chat_model", ...
  virtual std::string run_type() const { return "chain"; }

  /// Runs once; fires start/end/error callbacks around do_invoke.
  Value invoke(const Value& input, const RunConfig& config = {}) const;
  /// Runs once, yielding output pieces as they are produced.
  Stream<Value> stream(const Value& input, const RunConfig& config = {}) const;
  /// Runs on a stream of input pieces, yielding output pieces: a parser after a
  /// streaming model turns each chunk as it arrives. Used by stream() of sequences.
  Stream<Value> transform(Stream<Value> input, const RunConfig& config = {}) const;
  /// Runs over many inputs with at most `config.max_concurrency` at once; outputs in input order.
  /// The first error is rethrown after every call has ended.
  std::vector<Value> batch(const std::vector<Value>& inputs, const RunConfig& config = {}) const;
  /// Runs on another thread; the caller is not blocked.
  std::future<Value> ainvoke(Value input, RunConfig config = {}) const;

  /// A runnable that retries this one on failure.
  RunnablePtr with_retry(RetryConfig policy = {}) const;
  /// A runnable that tries `fallbacks` in order when this one fails.
  RunnablePtr with_fallbacks(std::vector<RunnablePtr> fallbacks) const;
  /// A runnable that always runs with these callbacks (added to the call's) and name.
  RunnablePtr with_config(RunConfig config) const;

  /// Starts a run for a call (used by implementations that fire their own events).
  RunManager start_run(const RunConfig& config) const;
  /// The config a child run gets: same callbacks, this run as parent.
  static RunConfig child_config(const RunConfig& config, const RunManager& run);

protected:
  /// The work of invoke. `config` is the child config (this run as parent).
  virtual Value do_invoke(const Value& input, const RunConfig& config) const = 0;
  /// The work of stream; by default yields do_invoke's result once.
  virtual Stream<Value> do_stream(const Value& input, const RunConfig& config) const;
  /// The work of transform; by default merges the whole input (see merge_values), then do_stream.
  virtual Stream<Value> do_transform(Stream<Value> input, const RunConfig& config) const;
  /// Whether invoke fires chain callbacks around do_invoke (chat models fire their own).
  virtual bool fires_chain_events() const { return true; }
};

/// Merges two pieces of a stream: chunks with `+`, texts concatenated, otherwise the later one.
CHAINPP_API Value merge_values(const Value& a, const Value& b);
/// merged = merge_values(merged, piece), in place: what was merged so far is
/// not copied again (a stream of n pieces merges in linear time).
CHAINPP_API void merge_into(Value& merged, const Value& piece);

/// A runnable from a function.
CHAINPP_API RunnablePtr make_lambda(std::string name, std::function<Value(const Value&)> fn);

/// Runs steps in order, each on the previous one's output.
CHAINPP_API RunnablePtr make_sequence(std::vector<RunnablePtr> steps);

/// `a | b`: a sequence (flattening sequences on either side).
CHAINPP_API RunnablePtr operator|(RunnablePtr a, RunnablePtr b);

/// `ptr | value`: lets a runnable value (e.g. `StrOutputParser()`) join a chain.
template <class R, class = std::enable_if_t<std::is_base_of_v<Runnable, std::decay_t<R>>>>
RunnablePtr operator|(RunnablePtr a, R&& b) {
  return std::move(a) | RunnablePtr(std::make_shared<std::decay_t<R>>(std::forward<R>(b)));
}
template <class A, class B,
          class = std::enable_if_t<std::is_base_of_v<Runnable, A> && std::is_base_of_v<Runnable, B>>>
RunnablePtr operator|(std::shared_ptr<A> a, std::shared_ptr<B> b) {
  return RunnablePtr(std::move(a)) | RunnablePtr(std::move(b));
}
template <class A, class R,
          class = std::enable_if_t<std::is_base_of_v<Runnable, A> && std::is_base_of_v<Runnable, std::decay_t<R>>>,
          class = void>
RunnablePtr operator|(std::shared_ptr<A> a, R&& b) {
  return RunnablePtr(std::move(a)) | std::forward<R>(b);
}

}  // namespace chainpp
