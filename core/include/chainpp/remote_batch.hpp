#pragma once
// Remote batches: a pipeline run over a JSONL file of inputs by the model
// provider's own batch service (Azure OpenAI's Batch API) instead of one call
// per input. The steps before the pipeline's chat model render each input
// locally; the provider runs the model calls as one batch job, which may take
// hours and outlive the process; the steps after the model turn each answer
// into the output. Results are written in the format of run_batch
// (chainpp/batch_runner.hpp), to the same kind of resumable output file.
//
//   auto pipeline = chainpp::RemoteBatchPipeline::from_steps(app.pipeline_steps("translate"), "translate");
//   chainpp::RemoteBatchStatus batch = chainpp::submit_remote_batch(pipeline, "in.jsonl", "out.jsonl", options);
//   chainpp::RemoteBatchOutcome done = chainpp::fetch_remote_batch(pipeline, batch.id, "out.jsonl", options);
//
// Each request of the batch is named "line-N" after its input's line number,
// so results map back to inputs without any local state: a batch submitted by
// one process can be fetched by another.
#include <chainpp/batch_runner.hpp>
#include <chainpp/chat_model.hpp>
#include <chainpp/export.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/runnable.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chainpp {

/// One request of a remote batch: the id its result comes back under, and the
/// messages for the model.
struct CHAINPP_API RemoteBatchRequest {
  std::string custom_id;
  Messages messages;
};

/// Where a remote batch stands.
struct CHAINPP_API RemoteBatchStatus {
  std::string id;
  /// The provider's word: validating, in_progress, finalizing, completed,
  /// failed, expired, cancelling, cancelled.
  std::string status;
  /// No further change will come: the results (if any) can be fetched.
  bool finished = false;
  std::size_t total = 0;      ///< requests in the batch
  std::size_t completed = 0;  ///< requests that succeeded
  std::size_t failed = 0;     ///< requests that failed
  /// Why the whole batch failed (e.g. its input did not validate); empty otherwise.
  std::string errors;
};

/// The outcome of one request of a finished batch: the model's answer, or the
/// error the request failed with (the ProviderError a direct call would raise).
struct CHAINPP_API RemoteBatchResult {
  std::string custom_id;
  std::optional<AIMessage> message;
  std::exception_ptr error;
};

/// A provider's batch service, bound to one model's settings (deployment,
/// endpoint, credential, generation parameters). Calls raise ProviderErrors.
/// Keep the model that made it alive while using it (the code is the plugin's).
class CHAINPP_API RemoteBatchService {
public:
  virtual ~RemoteBatchService();
  /// Uploads the requests and starts a batch over them; its first status (with its id).
  virtual RemoteBatchStatus submit(const std::vector<RemoteBatchRequest>& requests) const = 0;
  virtual RemoteBatchStatus status(const std::string& id) const = 0;
  /// The results of a finished batch, in any order. Requests the batch never
  /// ran (it was cancelled, expired or failed first) have none.
  virtual std::vector<RemoteBatchResult> results(const std::string& id) const = 0;
  /// Asks the provider to cancel the batch; the status after the request.
  virtual RemoteBatchStatus cancel(const std::string& id) const = 0;
};

/// Implemented, besides ChatModel, by a model whose provider has a batch service.
class CHAINPP_API RemoteBatchModel {
public:
  virtual ~RemoteBatchModel();
  /// The batch service for this model's calls, with its settings and bound options.
  virtual std::shared_ptr<const RemoteBatchService> remote_batch_service() const = 0;
};

/// The batch service of `model`, or nullptr when its provider has none.
CHAINPP_API std::shared_ptr<const RemoteBatchService> remote_batch_service(const ChatModel& model);

/// A pipeline split at its chat model for a remote batch.
struct CHAINPP_API RemoteBatchPipeline {
  RunnablePtr prepare;  ///< input -> the model's messages (the steps before the model); null: none
  ChatModelPtr model;
  std::shared_ptr<const RemoteBatchService> service;  ///< the model's
  RunnablePtr finish;   ///< the model's message -> the output (the steps after it); null: none

  /// Splits the steps of pipeline `name` (App::pipeline_steps) at its one chat
  /// model. Throws InputError when it has no chat model or several, or when
  /// the model's provider has no batch service.
  static RemoteBatchPipeline from_steps(const std::vector<RunnablePtr>& steps, const std::string& name);
};

struct CHAINPP_API RemoteBatchOptions {
  /// Output each result in its JSON form (messages as their to_json()) instead of text.
  bool json_output = false;
  /// Variables every input object must have (App::pipeline_inputs).
  std::vector<std::string> required_inputs;
  /// Submit again the inputs whose recorded result is a failure (their lines are
  /// removed from the output first).
  bool retry_failed = false;
  /// Seconds between two status requests while waiting for a batch.
  double poll_seconds = 10;
  /// Callbacks that see each answer as a chat-model run's end (usage and cost).
  RunConfig run_config;
  /// Read for BatchSummary::cost (attach it to run_config.callbacks yourself).
  std::shared_ptr<const UsageCostHandler> usage_cost;
  /// Called with each status seen while waiting.
  std::function<void(const RemoteBatchStatus&)> on_status;
  /// Polled while waiting; true stops waiting (the batch keeps running remotely).
  std::function<bool()> stop_requested;
};

/// What fetch_remote_batch did.
struct CHAINPP_API RemoteBatchOutcome {
  RemoteBatchStatus batch;  ///< its last status
  /// The result lines written: done, ok, failed, tokens, cost (skipped: results
  /// of the batch already in the output file). `interrupted` when stop_requested
  /// ended the wait (nothing was written then).
  BatchSummary summary;
  /// Requests of the batch without a result (never run: cancelled, expired or
  /// failed batch). Their inputs have no result line, so submitting again runs them.
  std::size_t without_result = 0;
};

/// What submit_remote_batch did.
struct CHAINPP_API RemoteBatchSubmission {
  /// The batch started; `id` is empty when no input needed a call.
  RemoteBatchStatus batch;
  /// Inputs with a result already in the output file (skipped), and inputs that
  /// failed before any call (bad JSON, a missing variable, a prompt error):
  /// their error lines are written at once.
  BatchSummary summary;
};

/// Renders every input of `inputs_path` without a result in `output_path`
/// (created when absent), writes the result lines of those that cannot be
/// rendered, and submits the others as one batch of requests "line-N".
/// Throws InputError for unreadable files (as run_batch) and ProviderError when
/// the upload or the batch creation fails.
CHAINPP_API RemoteBatchSubmission submit_remote_batch(const RemoteBatchPipeline& pipeline,
                                                      const std::string& inputs_path, const std::string& output_path,
                                                      const RemoteBatchOptions& options = {});

/// Waits (polling every options.poll_seconds) until batch `id` is finished,
/// then appends one result line per request with a result whose input line has
/// none yet, each answer through pipeline.finish. A request id other than
/// "line-N" is ignored.
CHAINPP_API RemoteBatchOutcome fetch_remote_batch(const RemoteBatchPipeline& pipeline, const std::string& id,
                                                  const std::string& output_path,
                                                  const RemoteBatchOptions& options = {});

/// "batch_abc: in_progress, 4/10 done, 3 completed, 1 failed" (and "; errors: ..." when the batch failed).
CHAINPP_API std::string format_remote_batch_status(const RemoteBatchStatus& status);

}  // namespace chainpp
