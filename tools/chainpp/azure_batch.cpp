// The Azure OpenAI Batch API commands: batch --azure-batch (remote_batch_command),
// batch-status, batch-fetch and batch-cancel.
#include "commands.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/remote_batch.hpp>
#include <chainpp/terminal.hpp>

#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

namespace cli {
namespace {

using Poco::Util::OptionSet;
using chainpp::escape_for_terminal;  // every line with a batch's id, status or errors: they come from the service

/// Pipeline `name` split at its model for the Azure Batch API.
chainpp::RemoteBatchPipeline azure_batch_pipeline(const chainpp::App& app, const std::string& name,
                                                  const std::string& command) {
  const std::vector<chainpp::RunnablePtr> steps = app.pipeline_steps(name);
  for (const auto& step : steps) {
    const auto* model = dynamic_cast<const chainpp::ChatModel*>(step.get());
    if (model && model->provider() != "azure_openai")
      throw UsageError("chainpp " + command + ": pipeline '" + name + "' uses a '" + model->provider() +
                       "' model; the Azure Batch API needs an azure_openai model");
  }
  return chainpp::RemoteBatchPipeline::from_steps(steps, name);
}

/// Options shared by `batch --azure-batch` and `batch-fetch`: the status on
/// standard error whenever it changes, Ctrl-C to stop waiting.
chainpp::RemoteBatchOptions remote_batch_options(const chainpp::App& app,
                                                 const Options& opts) {
  chainpp::RemoteBatchOptions options;
  options.json_output = has(opts, "json");
  options.poll_seconds = number_option(opts, "poll", 10, 0);
  options.run_config = app.run_config();  // the pipeline's callbacks: its steps run outside it
  options.usage_cost = usage_handler(app, options.run_config);
  options.on_status = [last = std::string()](const chainpp::RemoteBatchStatus& s) mutable {
    std::string line = "batch: " + escape_for_terminal(chainpp::format_remote_batch_status(s));
    if (line == last) return;
    std::cerr << line << '\n' << std::flush;
    last = std::move(line);
  };
  options.stop_requested = [] { return batch_interrupted.load(); };
  return options;
}

/// The command that continues with batch `id`: "chainpp batch-fetch CONFIG ID --output OUT [--pipeline NAME]".
std::string fetch_command_text(const Options& opts, const std::string& config_path, const std::string& id) {
  std::string text = "chainpp batch-fetch " + config_path + " " + id + " --output " + value_of(opts, "output");
  if (has(opts, "pipeline")) text += " --pipeline " + value_of(opts, "pipeline");
  return text;
}

/// Waits for batch `id`, writes its results and reports; the exit code.
int fetch_and_report(const chainpp::RemoteBatchPipeline& pipeline, const std::string& id, const std::string& output,
                     const chainpp::RemoteBatchOptions& options, chainpp::BatchSummary before,
                     const std::string& fetch_command) {
  ::signal(SIGINT, on_batch_sigint);
  const chainpp::RemoteBatchOutcome outcome = chainpp::fetch_remote_batch(pipeline, id, output, options);
  ::signal(SIGINT, SIG_DFL);
  const chainpp::BatchSummary& got = outcome.summary;
  if (got.interrupted) {
    std::cerr << escape_for_terminal("batch: stopped waiting; " + id + " keeps running (continue with: " +
                                     fetch_command + ")")
              << '\n';
    return exit_interrupted;
  }
  before.done += got.done;
  before.ok += got.ok;
  before.failed += got.failed;
  before.skipped += got.skipped;
  before.tokens += got.tokens;
  before.cost += got.cost;
  before.elapsed_seconds += got.elapsed_seconds;
  if (outcome.without_result > 0)
    std::cerr << escape_for_terminal("batch: " + id + " ended " + outcome.batch.status + " with " +
                                     std::to_string(outcome.without_result) + " requests not run")
              << " (run the batch command again to submit them in a new batch)\n";
  std::cerr << chainpp::format_batch_summary(before) << '\n';
  return before.failed > 0 || outcome.without_result > 0 ? exit_provider : exit_ok;
}

}  // namespace

int remote_batch_command(const Options& opts, const std::string& config_path) {
  for (const char* local_only : {"concurrency", "rpm", "tpm", "max-failures"})
    if (has(opts, local_only))
      throw UsageError(std::string("chainpp batch: --") + local_only + " does not apply to --azure-batch");
  chainpp::App app = chainpp::load_app(config_path);
  const std::string name = pipeline_option(app, opts, config_path);
  const chainpp::RemoteBatchPipeline pipeline = azure_batch_pipeline(app, name, "batch");
  chainpp::RemoteBatchOptions options = remote_batch_options(app, opts);
  options.retry_failed = has(opts, "retry-failed");
  options.required_inputs = app.pipeline_inputs(name);
  const std::string output = value_of(opts, "output");

  const chainpp::RemoteBatchSubmission submitted =
      chainpp::submit_remote_batch(pipeline, value_of(opts, "inputs"), output, options);
  const std::string& id = submitted.batch.id;
  if (id.empty()) {
    std::cerr << chainpp::format_batch_summary(submitted.summary) << '\n';
    return submitted.summary.failed > 0 ? exit_provider : exit_ok;
  }
  std::cerr << "batch: submitted " << escape_for_terminal(id) << " (" << submitted.summary.remaining()
            << " requests)\n";
  if (has(opts, "detach")) {
    std::cout << escape_for_terminal(id) << '\n';
    std::cerr << "batch: continue with: " << escape_for_terminal(fetch_command_text(opts, config_path, id)) << '\n';
    return exit_ok;
  }
  return fetch_and_report(pipeline, id, output, options, submitted.summary, fetch_command_text(opts, config_path, id));
}

namespace {

OptionSet batch_id_options() {
  OptionSet set;
  set.addOption(pipeline_flag("the pipeline the batch runs (default: the only one)"));
  return set;
}

OptionSet batch_fetch_options() {
  OptionSet set = batch_id_options();
  set.addOption(output_flag("JSONL file the results are appended to (required)"));
  set.addOption(json_flag("write each output in its JSON form (an AI message as its JSON object)"));
  set.addOption(poll_flag("seconds between status requests (default 10)"));
  return set;
}

/// What a batch-* command works on: CONFIG, the batch ID and the pipeline (--pipeline).
struct BatchTarget {
  std::string config_path;
  std::string id;
  chainpp::App app;
  chainpp::RemoteBatchPipeline pipeline;
};

BatchTarget batch_target(const Options& opts, const std::vector<std::string>& args, const std::string& command) {
  if (args.size() != 2)
    throw UsageError("chainpp " + command + ": expected CONFIG and a batch ID (see chainpp " + command + " --help)");
  if (command == "batch-fetch" && value_of(opts, "output").empty())
    throw UsageError("chainpp batch-fetch: --output FILE is required (see chainpp batch-fetch --help)");
  chainpp::App app = chainpp::load_app(args[0]);
  chainpp::RemoteBatchPipeline pipeline = azure_batch_pipeline(app, pipeline_option(app, opts, args[0]), command);
  return BatchTarget{args[0], args[1], std::move(app), std::move(pipeline)};
}

/// `call()` about batch `id`; its 404 says to check the batch id, not the
/// deployment (a batch is not found by its id, whatever the deployment).
template <class Call>
auto about_batch(const std::string& id, Call&& call) {
  try {
    return call();
  } catch (const chainpp::NotFoundError& e) {
    static const std::string deployment_hint = " Check the deployment name, the endpoint and the api-version.";
    std::string message = e.what();
    if (message.size() >= deployment_hint.size() &&
        message.compare(message.size() - deployment_hint.size(), deployment_hint.size(), deployment_hint) == 0)
      message.erase(message.size() - deployment_hint.size());
    throw chainpp::NotFoundError(message + " Check the batch id '" + id + "' (the one batch --azure-batch printed).",
                                 e.info());
  }
}

int batch_status_command(const Options& opts, const std::vector<std::string>& args) {
  const BatchTarget t = batch_target(opts, args, "batch-status");
  const chainpp::RemoteBatchStatus status = about_batch(t.id, [&] { return t.pipeline.service->status(t.id); });
  std::cout << escape_for_terminal(chainpp::format_remote_batch_status(status)) << '\n';
  return exit_ok;
}

int batch_cancel_command(const Options& opts, const std::vector<std::string>& args) {
  const BatchTarget t = batch_target(opts, args, "batch-cancel");
  // A batch that has ended answers at once: the service's 409 for it would be retried.
  const chainpp::RemoteBatchStatus status = about_batch(t.id, [&] { return t.pipeline.service->status(t.id); });
  if (status.finished) {
    std::cout << escape_for_terminal(chainpp::format_remote_batch_status(status)) << '\n';
    std::cerr << "batch-cancel: " << escape_for_terminal(t.id) << " has already ended ("
              << escape_for_terminal(status.status) << "): nothing to cancel\n";
    return exit_ok;
  }
  std::cout << escape_for_terminal(chainpp::format_remote_batch_status(t.pipeline.service->cancel(t.id))) << '\n';
  return exit_ok;
}

int batch_fetch_command(const Options& opts, const std::vector<std::string>& args) {
  const BatchTarget t = batch_target(opts, args, "batch-fetch");
  return fetch_and_report(t.pipeline, t.id, value_of(opts, "output"), remote_batch_options(t.app, opts), {},
                          fetch_command_text(opts, t.config_path, t.id));
}

}  // namespace

const Command batch_status{"batch-status", "CONFIG ID [--pipeline NAME]",
                           "Prints the status of Azure OpenAI batch ID, submitted by batch --azure-batch.",
                           &batch_id_options, &batch_status_command,
                           "  chainpp batch-status app.yaml batch_abc123\n"};

const Command batch_fetch{"batch-fetch", "CONFIG ID --output OUT.jsonl [--pipeline NAME] [--json] [--poll S]",
                          "Waits for Azure OpenAI batch ID to finish, then appends one line per request\n"
                          "to OUT.jsonl (inputs that already have a result are skipped). Exits 3 when a\n"
                          "request failed or was never run (cancelled or expired batch).",
                          &batch_fetch_options, &batch_fetch_command,
                          "  chainpp batch-fetch app.yaml batch_abc123 --output out.jsonl\n"};

const Command batch_cancel{"batch-cancel", "CONFIG ID [--pipeline NAME]",
                           "Asks Azure OpenAI to cancel batch ID; its finished requests keep their results.",
                           &batch_id_options, &batch_cancel_command,
                           "  chainpp batch-cancel app.yaml batch_abc123\n"};

}  // namespace cli
