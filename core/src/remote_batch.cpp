#include "batch_output.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/remote_batch.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

namespace chainpp {

RemoteBatchService::~RemoteBatchService() = default;
RemoteBatchModel::~RemoteBatchModel() = default;

std::shared_ptr<const RemoteBatchService> remote_batch_service(const ChatModel& model) {
  const auto* batches = dynamic_cast<const RemoteBatchModel*>(&model);
  return batches ? batches->remote_batch_service() : nullptr;
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// N of a request id "line-N", or 0.
std::size_t line_of(const std::string& custom_id) {
  static const std::string prefix = "line-";
  if (custom_id.rfind(prefix, 0) != 0 || custom_id.size() == prefix.size() || custom_id.size() > prefix.size() + 18)
    return 0;
  std::size_t n = 0;
  for (std::size_t i = prefix.size(); i < custom_id.size(); ++i) {
    const char c = custom_id[i];
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

/// Sleeps `seconds` in short slices; false when stop_requested said stop meanwhile.
bool wait(double seconds, const std::function<bool()>& stop_requested) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (true) {
    if (stop_requested && stop_requested()) return false;
    const auto now = Clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(until - now, std::chrono::milliseconds(100)));
  }
}

}  // namespace

RemoteBatchPipeline RemoteBatchPipeline::from_steps(const std::vector<RunnablePtr>& steps, const std::string& name) {
  std::vector<std::size_t> models;
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (dynamic_cast<const ChatModel*>(steps[i].get())) models.push_back(i);
  if (models.empty()) throw InputError("pipeline '" + name + "' has no model step to run as a batch");
  if (models.size() > 1)
    throw InputError("pipeline '" + name + "' has " + std::to_string(models.size()) +
                     " model steps; a remote batch runs one");
  const std::size_t at = models.front();
  RemoteBatchPipeline p;
  p.model = std::dynamic_pointer_cast<const ChatModel>(steps[at]);
  p.service = remote_batch_service(*p.model);
  if (!p.service)
    throw InputError("pipeline '" + name + "': provider '" + p.model->provider() + "' has no batch service");
  if (at > 0) p.prepare = make_sequence(std::vector<RunnablePtr>(steps.begin(), steps.begin() + static_cast<long>(at)));
  if (at + 1 < steps.size())
    p.finish = make_sequence(std::vector<RunnablePtr>(steps.begin() + static_cast<long>(at) + 1, steps.end()));
  return p;
}

RemoteBatchSubmission submit_remote_batch(const RemoteBatchPipeline& pipeline, const std::string& inputs_path,
                                          const std::string& output_path, const RemoteBatchOptions& options) {
  const auto start = Clock::now();
  const detail::BatchInputs inputs = detail::read_batch_inputs(inputs_path);
  detail::BatchOutputFile output(output_path, options.retry_failed, &inputs);
  RemoteBatchSubmission submission;
  BatchSummary& summary = submission.summary;
  summary.total = inputs.lines.size();
  std::vector<RemoteBatchRequest> requests;
  for (const auto& input : inputs.lines) {
    if (output.results().count(input.line)) {
      ++summary.skipped;
      continue;
    }
    try {
      Value value(detail::batch_input_variables(input.text, options.required_inputs));
      if (pipeline.prepare) value = pipeline.prepare->invoke(value, options.run_config);
      requests.push_back(RemoteBatchRequest{"line-" + std::to_string(input.line), to_messages(value)});
    } catch (const std::exception& e) {
      output.append(detail::batch_result_line(input.line, Json(), std::nullopt, detail::batch_error_json(e)), false);
      ++summary.done;
      ++summary.failed;
    }
  }
  if (!requests.empty()) submission.batch = pipeline.service->submit(requests);
  summary.elapsed_seconds = seconds_since(start);
  return submission;
}

RemoteBatchOutcome fetch_remote_batch(const RemoteBatchPipeline& pipeline, const std::string& id,
                                      const std::string& output_path, const RemoteBatchOptions& options) {
  const auto start = Clock::now();
  const double cost_at_start = options.usage_cost ? options.usage_cost->totals().total_cost : 0;
  RemoteBatchOutcome outcome;
  BatchSummary& summary = outcome.summary;
  RemoteBatchStatus& batch = outcome.batch;
  batch = pipeline.service->status(id);
  while (true) {
    if (options.on_status) options.on_status(batch);
    if (batch.finished) break;
    if (!wait(options.poll_seconds, options.stop_requested)) {
      summary.interrupted = true;
      summary.elapsed_seconds = seconds_since(start);
      return outcome;
    }
    batch = pipeline.service->status(id);
  }

  std::vector<RemoteBatchResult> results = pipeline.service->results(id);
  std::vector<std::pair<std::size_t, const RemoteBatchResult*>> by_line;
  for (const auto& r : results)
    if (const std::size_t line = line_of(r.custom_id)) by_line.emplace_back(line, &r);
  std::sort(by_line.begin(), by_line.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  outcome.without_result = batch.total > results.size() ? batch.total - results.size() : 0;

  detail::BatchOutputFile output(output_path, false, nullptr);  // no inputs file: result lines of any input
  summary.total = by_line.size();
  for (const auto& [line, result] : by_line) {
    if (output.results().count(line)) {
      ++summary.skipped;
      continue;
    }
    Json out, error;
    std::optional<UsageMetadata> usage;
    if (result->message) {
      AIMessage message = *result->message;
      RunManager run(options.run_config.callbacks, RunInfo{new_uuid(), "", pipeline.model->name(), "chat_model"});
      if (message.id.empty()) message.id = "run-" + run.info().id + "-0";
      run.llm_end(message);
      usage = message.usage_metadata;
      try {
        Value value(static_cast<const Message&>(message));
        if (pipeline.finish) value = pipeline.finish->invoke(value, options.run_config);
        out = detail::batch_output_json(value, options.json_output);
      } catch (const std::exception& e) {
        out = Json();
        error = detail::batch_error_json(e);
      }
    } else {
      error = detail::batch_error_json(result->error);
    }
    const bool ok = error.is_null();
    output.append(detail::batch_result_line(line, std::move(out), usage, std::move(error)), false);
    ++summary.done;
    ++(ok ? summary.ok : summary.failed);
    if (usage) summary.tokens += usage->total_tokens;
  }
  if (options.usage_cost) summary.cost = options.usage_cost->totals().total_cost - cost_at_start;
  summary.elapsed_seconds = seconds_since(start);
  return outcome;
}

std::string format_remote_batch_status(const RemoteBatchStatus& s) {
  std::string out = s.id + ": " + s.status + ", " + std::to_string(s.completed + s.failed) + "/" +
                    std::to_string(s.total) + " done, " + std::to_string(s.completed) + " completed, " +
                    std::to_string(s.failed) + " failed";
  if (!s.errors.empty()) out += "; errors: " + s.errors;
  return out;
}

}  // namespace chainpp
