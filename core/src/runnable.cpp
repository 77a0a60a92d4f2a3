#include "run_concurrently.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/runnable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

namespace chainpp {

namespace detail {

void run_concurrently(std::size_t count, int max_concurrency, const std::function<void(std::size_t)>& job) {
  if (count == 0) return;
  std::size_t workers = max_concurrency > 0 ? static_cast<std::size_t>(max_concurrency) : 16;
  workers = std::min(workers, count);
  std::vector<std::exception_ptr> errors(count);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      try {
        job(i);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  if (workers == 1) {
    work();
  } else {
    std::vector<std::thread> threads;
    threads.reserve(workers - 1);
    for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace detail

Runnable::~Runnable() = default;

RunManager Runnable::start_run(const RunConfig& config) const {
  return RunManager(config.callbacks, RunInfo{new_uuid(), config.parent_run_id,
                                              config.run_name.empty() ? name() : config.run_name, run_type()});
}

RunConfig Runnable::child_config(const RunConfig& config, const RunManager& run) {
  RunConfig child = config;
  child.run_name.clear();
  child.parent_run_id = run.info().id;
  return child;
}

void throw_if_cancelled(const std::stop_token& stop, const std::string& who) {
  if (!stop.stop_requested()) return;
  ProviderErrorInfo info;
  info.provider = who;
  info.attempts = 0;
  throw CancelledError(who + ": cancelled before it started", std::move(info));
}

Value Runnable::invoke(const Value& input, const RunConfig& config) const {
  throw_if_cancelled(config.stop, name());
  if (!fires_chain_events() || config.callbacks.empty()) return do_invoke(input, config);
  RunManager run = start_run(config);
  run.chain_start(input);
  try {
    Value out = do_invoke(input, child_config(config, run));
    run.chain_end(out);
    return out;
  } catch (const std::exception& e) {
    run.chain_error(e);
    throw;
  }
}

namespace {

// Wraps a stream so that the run's end (with the merged output) or error fires
// when the stream finishes.
Stream<Value> observed(Stream<Value> inner, std::shared_ptr<RunManager> run) {
  struct State {
    Stream<Value> inner;
    std::shared_ptr<RunManager> run;
    Value merged;
    bool any = false;
  };
  auto st = std::make_shared<State>(State{std::move(inner), std::move(run), Value(), false});
  return Stream<Value>([st]() -> std::optional<Value> {
    try {
      auto item = st->inner.next();
      if (!item) {
        st->run->chain_end(st->merged);
        return std::nullopt;
      }
      if (st->any) merge_into(st->merged, *item);
      else st->merged = *item;
      st->any = true;
      return item;
    } catch (const std::exception& e) {
      st->run->chain_error(e);
      throw;
    }
  });
}

}  // namespace

Stream<Value> Runnable::stream(const Value& input, const RunConfig& config) const {
  throw_if_cancelled(config.stop, name());
  if (!fires_chain_events() || config.callbacks.empty()) return do_stream(input, config);
  auto run = std::make_shared<RunManager>(start_run(config));
  run->chain_start(input);
  try {
    return observed(do_stream(input, child_config(config, *run)), run);
  } catch (const std::exception& e) {
    run->chain_error(e);
    throw;
  }
}

Stream<Value> Runnable::transform(Stream<Value> input, const RunConfig& config) const {
  throw_if_cancelled(config.stop, name());
  if (!fires_chain_events() || config.callbacks.empty()) return do_transform(std::move(input), config);
  auto run = std::make_shared<RunManager>(start_run(config));
  run->chain_start(Value());
  try {
    return observed(do_transform(std::move(input), child_config(config, *run)), run);
  } catch (const std::exception& e) {
    run->chain_error(e);
    throw;
  }
}

Stream<Value> Runnable::do_stream(const Value& input, const RunConfig& config) const {
  return Stream<Value>::from_vector({do_invoke(input, config)});
}

Stream<Value> Runnable::do_transform(Stream<Value> input, const RunConfig& config) const {
  Value merged;
  bool any = false;
  while (auto piece = input.next()) {
    if (any) merge_into(merged, *piece);
    else merged = std::move(*piece);
    any = true;
  }
  return do_stream(merged, config);
}

std::vector<Value> Runnable::batch(const std::vector<Value>& inputs, const RunConfig& config) const {
  std::vector<Value> out(inputs.size());
  detail::run_concurrently(inputs.size(), config.max_concurrency,
                           [&](std::size_t i) { out[i] = invoke(inputs[i], config); });
  return out;
}

std::future<Value> Runnable::ainvoke(Value input, RunConfig config) const {
  auto self = weak_from_this().lock();  // keeps a shared-owned runnable alive while running
  return std::async(std::launch::async, [this, self, input = std::move(input), config = std::move(config)] {
    return invoke(input, config);
  });
}

void merge_into(Value& merged, const Value& piece) {
  // `merged` is not const: its chunk or text may be appended to where it is.
  if (merged.is_chunk() && piece.is_chunk()) {
    const_cast<AIMessageChunk&>(merged.as_chunk()) += piece.as_chunk();
  } else if (merged.is_text() && piece.is_text()) {
    const_cast<std::string&>(merged.as_text()) += piece.as_text();
  } else {
    merged = piece;
  }
}

Value merge_values(const Value& a, const Value& b) {
  if (a.is_chunk() && b.is_chunk()) return Value(a.as_chunk() + b.as_chunk());
  if (a.is_text() && b.is_text()) return Value(a.as_text() + b.as_text());
  return b;
}

namespace {

class Lambda final : public Runnable {
public:
  Lambda(std::string name, std::function<Value(const Value&)> fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }

protected:
  Value do_invoke(const Value& input, const RunConfig&) const override { return fn_(input); }

private:
  std::string name_;
  std::function<Value(const Value&)> fn_;
};

class Sequence final : public Runnable {
public:
  explicit Sequence(std::vector<RunnablePtr> steps) : steps_(std::move(steps)) {}
  std::string name() const override { return "RunnableSequence"; }
  const std::vector<RunnablePtr>& steps() const { return steps_; }

protected:
  Value do_invoke(const Value& input, const RunConfig& config) const override {
    Value v = input;
    for (const auto& step : steps_) v = step->invoke(v, config);
    return v;
  }
  Stream<Value> do_stream(const Value& input, const RunConfig& config) const override {
    Stream<Value> s = steps_.front()->stream(input, config);
    for (std::size_t i = 1; i < steps_.size(); ++i) s = steps_[i]->transform(std::move(s), config);
    return s;
  }
  Stream<Value> do_transform(Stream<Value> input, const RunConfig& config) const override {
    Stream<Value> s = std::move(input);
    for (const auto& step : steps_) s = step->transform(std::move(s), config);
    return s;
  }

private:
  std::vector<RunnablePtr> steps_;
};

// Base of the wrappers below: transparent to callbacks (the wrapped runnable fires them).
class Wrapper : public Runnable {
public:
  explicit Wrapper(RunnablePtr inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  std::string run_type() const override { return inner_->run_type(); }

protected:
  bool fires_chain_events() const override { return false; }
  RunnablePtr inner_;
};

class Retrying final : public Wrapper {
public:
  Retrying(RunnablePtr inner, RetryConfig policy) : Wrapper(std::move(inner)), policy_(std::move(policy)) {
    if (policy_.max_attempts < 1) throw InputError("with_retry: max_attempts must be at least 1");
  }

protected:
  Value do_invoke(const Value& input, const RunConfig& config) const override {
    for (int attempt = 1;; ++attempt) {
      try {
        return inner_->invoke(input, config);
      } catch (const std::exception& e) {
        bool retryable = policy_.retry_if ? policy_.retry_if(e) : dynamic_cast<const Error*>(&e) != nullptr;
        if (!retryable || attempt >= policy_.max_attempts) throw;
        double delay = std::min(policy_.max_delay, policy_.initial_delay * double(1 << std::min(attempt - 1, 20)));
        if (!config.callbacks.empty()) start_run(config).retry(attempt, e, delay);
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      }
    }
  }

private:
  RetryConfig policy_;
};

class Fallbacks final : public Wrapper {
public:
  Fallbacks(RunnablePtr inner, std::vector<RunnablePtr> fallbacks)
      : Wrapper(std::move(inner)), fallbacks_(std::move(fallbacks)) {}

protected:
  Value do_invoke(const Value& input, const RunConfig& config) const override {
    std::exception_ptr first;
    try {
      return inner_->invoke(input, config);
    } catch (...) {
      first = std::current_exception();
    }
    for (const auto& f : fallbacks_) {
      try {
        return f->invoke(input, config);
      } catch (...) {
      }
    }
    std::rethrow_exception(first);
  }

private:
  std::vector<RunnablePtr> fallbacks_;
};

class Configured final : public Wrapper {
public:
  Configured(RunnablePtr inner, RunConfig config) : Wrapper(std::move(inner)), config_(std::move(config)) {}
  std::string name() const override { return config_.run_name.empty() ? inner_->name() : config_.run_name; }

protected:
  RunConfig merged(const RunConfig& call) const {
    RunConfig c = call;
    c.callbacks.insert(c.callbacks.end(), config_.callbacks.begin(), config_.callbacks.end());
    if (c.run_name.empty()) c.run_name = config_.run_name;
    if (c.max_concurrency == 0) c.max_concurrency = config_.max_concurrency;
    return c;
  }
  Value do_invoke(const Value& input, const RunConfig& config) const override {
    return inner_->invoke(input, merged(config));
  }
  Stream<Value> do_stream(const Value& input, const RunConfig& config) const override {
    return inner_->stream(input, merged(config));
  }
  Stream<Value> do_transform(Stream<Value> input, const RunConfig& config) const override {
    return inner_->transform(std::move(input), merged(config));
  }

private:
  RunConfig config_;
};

RunnablePtr self_ptr(const Runnable& r) {
  auto p = r.weak_from_this().lock();
  if (!p) throw InputError("runnable '" + r.name() + "' must be owned by a std::shared_ptr to be wrapped");
  return p;
}

}  // namespace

RunnablePtr Runnable::with_retry(RetryConfig policy) const {
  return std::make_shared<Retrying>(self_ptr(*this), std::move(policy));
}
RunnablePtr Runnable::with_fallbacks(std::vector<RunnablePtr> fallbacks) const {
  return std::make_shared<Fallbacks>(self_ptr(*this), std::move(fallbacks));
}
RunnablePtr Runnable::with_config(RunConfig config) const {
  return std::make_shared<Configured>(self_ptr(*this), std::move(config));
}

RunnablePtr make_lambda(std::string name, std::function<Value(const Value&)> fn) {
  return std::make_shared<Lambda>(std::move(name), std::move(fn));
}

RunnablePtr make_sequence(std::vector<RunnablePtr> steps) {
  std::vector<RunnablePtr> flat;
  for (auto& s : steps) {
    if (!s) throw InputError("a chain step is null");
    if (auto seq = std::dynamic_pointer_cast<const Sequence>(s))
      flat.insert(flat.end(), seq->steps().begin(), seq->steps().end());
    else
      flat.push_back(std::move(s));
  }
  if (flat.empty()) throw InputError("a chain needs at least one step");
  return std::make_shared<Sequence>(std::move(flat));
}

RunnablePtr operator|(RunnablePtr a, RunnablePtr b) { return make_sequence({std::move(a), std::move(b)}); }

}  // namespace chainpp
