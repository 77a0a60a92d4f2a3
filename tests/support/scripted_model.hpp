#pragma once
// A test-only chat model: answers from a script, records what it was asked,
// and can record how many calls overlap in time.
#include <chainpp/chat_model.hpp>
#include <chainpp/errors.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace chainpp::test {

class ScriptedModel : public ChatModel {
public:
  struct Shared {
    std::mutex mutex;
    std::vector<Messages> calls;
    std::vector<CallOptions> options;
    std::atomic<int> in_flight{0};
    std::atomic<int> max_in_flight{0};
    std::atomic<int> failures_left{0};
  };

  explicit ScriptedModel(std::vector<std::string> answers, std::chrono::milliseconds delay = {})
      : answers_(std::move(answers)), delay_(delay), shared_(std::make_shared<Shared>()) {}

  std::string provider() const override { return "scripted"; }
  Shared& shared() const { return *shared_; }
  /// Usage reported on every answer.
  UsageMetadata usage{31, 8, 39, std::nullopt, std::nullopt};
  /// The name every answer carries (none when empty).
  std::string answer_name;

protected:
  std::shared_ptr<ChatModel> clone() const override { return std::make_shared<ScriptedModel>(*this); }

  AIMessage generate(const Messages& messages, const CallOptions& options, const CallContext&) const override {
    int now = ++shared_->in_flight;
    int seen = shared_->max_in_flight.load();
    while (now > seen && !shared_->max_in_flight.compare_exchange_weak(seen, now)) {
    }
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    --shared_->in_flight;
    std::size_t index;
    {
      std::lock_guard lock(shared_->mutex);
      index = shared_->calls.size();
      shared_->calls.push_back(messages);
      shared_->options.push_back(options);
    }
    if (shared_->failures_left > 0) {
      --shared_->failures_left;
      throw ServerError("scripted: HTTP 500", ProviderErrorInfo{"scripted", 500, "", "", "", 1, {}, {}, {}});
    }
    AIMessage m(answers_[index % answers_.size()]);
    m.response_metadata = Json{{"model_name", "gpt-35-turbo"}, {"finish_reason", "stop"}};
    m.usage_metadata = usage;
    m.name = answer_name;
    return m;
  }

private:
  std::vector<std::string> answers_;
  std::chrono::milliseconds delay_;
  std::shared_ptr<Shared> shared_;
};

/// Records every callback event as one line of text, in order.
class RecordingHandler : public CallbackHandler {
public:
  std::vector<std::string> events;
  std::vector<RunInfo> runs;
  std::mutex mutex;

  void add(const std::string& e, const RunInfo& run) {
    std::lock_guard lock(mutex);
    events.push_back(e);
    runs.push_back(run);
  }
  void on_chain_start(const RunInfo& r, const Value&) override { add("chain_start " + r.name, r); }
  void on_chain_end(const RunInfo& r, const Value&) override { add("chain_end " + r.name, r); }
  void on_chain_error(const RunInfo& r, const std::exception& e) override {
    add("chain_error " + r.name + ": " + e.what(), r);
  }
  void on_chat_model_start(const RunInfo& r, const Messages& m, const Json&) override {
    add("chat_model_start " + r.name + " (" + std::to_string(m.size()) + " messages)", r);
  }
  void on_llm_new_token(const RunInfo& r, const std::string& t, const AIMessageChunk&) override {
    add("new_token '" + t + "'", r);
  }
  void on_llm_end(const RunInfo& r, const AIMessage& m) override { add("llm_end " + m.text(), r); }
  void on_llm_error(const RunInfo& r, const std::exception& e) override { add(std::string("llm_error ") + e.what(), r); }
  void on_retry(const RunInfo& r, int attempt, const std::exception& e, double) override {
    add("retry " + std::to_string(attempt) + ": " + e.what(), r);
  }
};

}  // namespace chainpp::test
