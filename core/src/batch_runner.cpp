#include "run_concurrently.hpp"
#include "batch_output.hpp"

#include <chainpp/batch_runner.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/rate_limiter.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace chainpp {

namespace {

using Input = detail::BatchInput;
using detail::BatchOutputFile;
using Clock = std::chrono::steady_clock;
constexpr auto kQuotaPause = std::chrono::seconds(1);

/// Sums the usage of every chat-model call of one input and keeps the last
/// quota a response reported.
class UsageCollector : public CallbackHandler {
public:
  void on_llm_end(const RunInfo&, const AIMessage& result) override {
    if (!result.usage_metadata) return;
    std::lock_guard lock(mutex_);
    usage_ = usage_ ? *usage_ + *result.usage_metadata : *result.usage_metadata;
  }
  void on_rate_limit_status(const RunInfo&, const RateLimitStatus& status) override {
    std::lock_guard lock(mutex_);
    quota_ = status;
  }
  std::optional<UsageMetadata> usage() const {
    std::lock_guard lock(mutex_);
    return usage_;
  }
  std::optional<RateLimitStatus> quota() const {
    std::lock_guard lock(mutex_);
    return quota_;
  }

private:
  mutable std::mutex mutex_;
  std::optional<UsageMetadata> usage_;
  std::optional<RateLimitStatus> quota_;
};

// ------------------------------------------------------------------ runner

class Runner {
public:
  Runner(const Runnable& runnable, const BatchOptions& options, BatchOutputFile& output)
      : runnable_(runnable), o_(options), output_(output), start_(Clock::now()) {
    if (o_.rpm > 0) requests_.emplace(o_.rpm / 60.0, 1.0, 1.0);
    if (o_.tpm > 0) tokens_.emplace(o_.tpm / 60.0, std::max(1.0, o_.tpm / 60.0), std::max(1.0, o_.tpm / 60.0));
    if (o_.usage_cost) cost_at_start_ = o_.usage_cost->totals().total_cost;
  }

  void add(Input input) { queue_.push_back(std::move(input)); }
  BatchProgress& progress() { return progress_; }
  /// The error that stopped the batch (the output file could not be written), or null.
  std::exception_ptr failure() const { return failed_; }

  void run() {
    const int workers = std::max(1, o_.concurrency);
    detail::run_concurrently(static_cast<std::size_t>(workers), workers, [this](std::size_t) { work(); });
    std::lock_guard lock(mutex_);
    update_clock_and_cost();
  }

private:
  void work() {
    while (auto input = next()) {
      const double estimate = static_cast<double>(input->text.size()) / 4.0 +
                              static_cast<double>(o_.expected_output_tokens);
      if (!wait_for_budget(estimate)) {
        std::lock_guard lock(mutex_);
        queue_.push_front(std::move(*input));  // stopped while waiting: never started
        return;
      }
      call(std::move(*input), estimate);
    }
  }

  std::optional<Input> next() {
    std::lock_guard lock(mutex_);
    if (halted() || queue_.empty()) return std::nullopt;
    Input input = std::move(queue_.front());
    queue_.pop_front();
    return input;
  }

  /// Whether no new input may start (max_failures, stop requested, a write failed). Locked.
  bool halted() {
    if (!progress_.interrupted && o_.stop_requested && o_.stop_requested()) progress_.interrupted = true;
    return progress_.stopped || progress_.interrupted || failed_;
  }

  /// Waits until the request and token budgets allow a call, then charges it.
  /// False when the batch stopped meanwhile.
  bool wait_for_budget(double estimate) {
    while (true) {
      double wait = 0;
      {
        std::lock_guard lock(mutex_);
        if (halted()) return false;
        const auto now = Clock::now();
        if (now < paused_until_) wait = std::chrono::duration<double>(paused_until_ - now).count();
        if (requests_) wait = std::max(wait, requests_->wait_seconds(1, now));
        if (tokens_) wait = std::max(wait, tokens_->wait_seconds(estimate, now));
        if (wait <= 0) {
          if (requests_) requests_->take(1);
          if (tokens_) tokens_->take(estimate);
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(wait, 0.25)));
    }
  }

  void call(Input input, double estimate) {
    auto usage = std::make_shared<UsageCollector>();
    Json output, error;
    try {
      ValueMap variables = detail::batch_input_variables(input.text, o_.required_inputs);
      RunConfig config = o_.run_config;
      config.callbacks.push_back(usage);
      output = detail::batch_output_json(runnable_.invoke(Value(std::move(variables)), config), o_.json_output);
    } catch (const RateLimitError& e) {
      if (requeue_after_rate_limit(input, e)) return;
      error = detail::batch_error_json(e);
    } catch (const std::exception& e) {
      error = detail::batch_error_json(e);
    } catch (...) {
      error = detail::batch_error_json(std::current_exception());
    }
    if (const auto quota = usage->quota()) pause_if_quota_exhausted(*quota, estimate);
    record(input, std::move(output), std::move(error), usage->usage(), estimate);
  }

  /// Honours x-ratelimit-remaining-*: when a response said no request, or fewer
  /// tokens than a call like this one needs, are left, new calls wait a second.
  void pause_if_quota_exhausted(const RateLimitStatus& quota, double estimate) {
    const bool no_requests = quota.remaining_requests && *quota.remaining_requests <= 0;
    const bool few_tokens = quota.remaining_tokens && static_cast<double>(*quota.remaining_tokens) < estimate;
    if (!no_requests && !few_tokens) return;
    std::lock_guard lock(mutex_);
    paused_until_ = std::max(paused_until_, Clock::now() + kQuotaPause);
    ++progress_.quota_pauses;
  }

  /// Pauses new calls for the error's retry-after; true when the input went back in the queue.
  bool requeue_after_rate_limit(Input& input, const RateLimitError& e) {
    std::lock_guard lock(mutex_);
    const double backoff = std::min(60.0, std::pow(2.0, std::min(consecutive_rate_limits_, 6)));
    ++consecutive_rate_limits_;
    const double delay = e.info().retry_after_seconds.value_or(backoff);
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay));
    paused_until_ = std::max(paused_until_, until);
    if (input.requeues >= o_.rate_limit_requeues) return false;
    ++input.requeues;
    queue_.push_front(std::move(input));
    return true;
  }

  void record(const Input& input, Json output, Json error, const std::optional<UsageMetadata>& usage,
              double estimate) {
    const bool ok = error.is_null();
    const std::string text = detail::batch_result_line(input.line, std::move(output), usage, std::move(error));
    std::lock_guard lock(mutex_);
    if (failed_) return;
    try {
      output_.append(text, o_.fsync);
    } catch (...) {
      failed_ = std::current_exception();
      return;
    }
    if (tokens_ && usage) tokens_->adjust(estimate - static_cast<double>(usage->total_tokens));
    if (ok) consecutive_rate_limits_ = 0;
    ++progress_.done;
    ++(ok ? progress_.ok : progress_.failed);
    if (usage) progress_.tokens += usage->total_tokens;
    if (o_.max_failures > 0 && progress_.failed >= static_cast<std::size_t>(o_.max_failures)) progress_.stopped = true;
    update_clock_and_cost();
    if (o_.on_progress) {
      try {
        o_.on_progress(progress_);
      } catch (...) {  // a progress display never fails the batch
      }
    }
  }

  void update_clock_and_cost() {
    progress_.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    if (o_.usage_cost) progress_.cost = o_.usage_cost->totals().total_cost - cost_at_start_;
  }

  const Runnable& runnable_;
  const BatchOptions& o_;
  BatchOutputFile& output_;
  const Clock::time_point start_;
  double cost_at_start_ = 0;

  std::mutex mutex_;  // everything below
  std::deque<Input> queue_;
  BatchProgress progress_;
  std::optional<TokenBucket> requests_, tokens_;  // rpm, tpm
  Clock::time_point paused_until_{};
  int consecutive_rate_limits_ = 0;
  std::exception_ptr failed_;
};

std::string with_thousands(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

/// "42 s", "3 min 5 s", "2 h 10 min"
std::string duration(long seconds) {
  if (seconds < 60) return std::to_string(seconds) + " s";
  if (seconds < 3600) return std::to_string(seconds / 60) + " min " + std::to_string(seconds % 60) + " s";
  return std::to_string(seconds / 3600) + " h " + std::to_string(seconds % 3600 / 60) + " min";
}

std::string count(std::size_t n) { return with_thousands(static_cast<std::int64_t>(n)); }

}  // namespace

BatchSummary run_batch(const Runnable& runnable, const std::string& inputs_path, const std::string& output_path,
                       const BatchOptions& options) {
  detail::BatchInputs inputs = detail::read_batch_inputs(inputs_path);
  BatchOutputFile output(output_path, options.retry_failed, &inputs);
  Runner runner(runnable, options, output);
  runner.progress().total = inputs.lines.size();
  for (auto& input : inputs.lines) {
    if (output.results().count(input.line))
      ++runner.progress().skipped;
    else
      runner.add(std::move(input));
  }
  runner.run();
  if (auto failure = runner.failure()) std::rethrow_exception(failure);
  if (options.fsync) output.sync();
  return runner.progress();
}

std::string format_batch_progress(const BatchProgress& p) {
  const double rate = p.elapsed_seconds > 0 ? static_cast<double>(p.done) / p.elapsed_seconds : 0;
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, "%.1f/s", rate);
  const std::string eta =
      rate > 0 ? duration(std::lround(static_cast<double>(p.remaining()) / rate)) : std::string("-");
  return "batch: " + count(p.skipped + p.done) + "/" + count(p.total) + ", " + rate_text + ", " +
         with_thousands(p.tokens) + " tokens, " + format_cost(p.cost) + ", ETA " + eta + ", " + count(p.failed) +
         " failed";
}

std::string format_batch_summary(const BatchSummary& s) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f s", s.elapsed_seconds);
  std::string out = "batch: " + count(s.done) + " done (" + count(s.ok) + " ok, " + count(s.failed) + " failed)";
  if (s.skipped > 0) out += ", " + count(s.skipped) + " skipped";
  out += ", " + with_thousands(s.tokens) + " tokens, Total Cost (USD): " + format_cost(s.cost) + ", " + seconds;
  return out;
}

}  // namespace chainpp
