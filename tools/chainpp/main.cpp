// chainpp: run pipelines and chat with models from a YAML configuration.
//
//   chainpp run CONFIG [--pipeline NAME] [--input KEY=VALUE]... [--stream] [--json] [--usage]
//   chainpp chat CONFIG [--model NAME] [--system TEXT] [--message TEXT] [--stream] [--json] [--usage]
//   chainpp batch CONFIG --pipeline NAME --inputs IN.jsonl --output OUT.jsonl [--concurrency N] [--rpm R]
//                 [--tpm T] [--max-failures F] [--retry-failed] [--json] [--azure-batch [--detach] [--poll S]]
//   chainpp batch-status CONFIG ID [--pipeline NAME]
//   chainpp batch-fetch CONFIG ID --output OUT.jsonl [--pipeline NAME] [--json] [--poll S]
//   chainpp batch-cancel CONFIG ID [--pipeline NAME]
//   chainpp plugins [CONFIG]
//   chainpp validate CONFIG
//
// Exit codes: 0 success, 2 usage or configuration error, 3 provider or network error.
#include "commands.hpp"

#include <chainpp/batch_runner.hpp>
#include <chainpp/registry.hpp>
#include <chainpp/remote_batch.hpp>
#include <chainpp/usage_cost.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace cli {
namespace {

namespace fs = std::filesystem;
using Poco::Util::OptionSet;
using chainpp::join;

// ---------------------------------------------------------------- batch

OptionSet batch_options() {
  OptionSet set;
  set.addOption(pipeline_flag("the pipeline to run (default: the only one)"));
  set.addOption(valued("inputs", "FILE", "JSONL file: one JSON object of pipeline inputs per line (required)"));
  set.addOption(output_flag("JSONL file the results are appended to; resumed when it exists (required)"));
  set.addOption(valued("concurrency", "N", "calls at once (default 4)"));
  set.addOption(valued("rpm", "R", "at most R requests per minute"));
  set.addOption(valued("tpm", "T", "at most T tokens per minute (estimated before a call, corrected after)"));
  set.addOption(valued("max-failures", "F", "stop starting new inputs after F failures"));
  set.addOption(flag("retry-failed", "run again the inputs whose recorded result is a failure"));
  set.addOption(json_flag("write each output in its JSON form (an AI message as its JSON object)"));
  set.addOption(flag("azure-batch", "run the model calls as one Azure OpenAI Batch API job"));
  set.addOption(flag("detach", "with --azure-batch: submit the batch, print its id and exit"));
  set.addOption(poll_flag("with --azure-batch: seconds between status requests (default 10)"));
  return set;
}

/// Progress on standard error: a live line redrawn in place on a terminal, a
/// plain line every 2 s or 10% of the inputs otherwise.
class ProgressDisplay {
public:
  explicit ProgressDisplay(bool terminal) : terminal_(terminal) {}

  void update(const chainpp::BatchProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    const std::size_t todo = p.total - p.skipped;
    const std::size_t tenth = todo == 0 ? 10 : p.done * 10 / todo;
    if (terminal_) {
      if (drawn_ && now - last_ < std::chrono::milliseconds(100) && p.remaining() > 0) return;
      std::cerr << "\r\033[K" << chainpp::format_batch_progress(p) << std::flush;
      drawn_ = true;
    } else {
      if (now - last_ < std::chrono::seconds(2) && tenth == last_tenth_) return;
      std::cerr << chainpp::format_batch_progress(p) << '\n' << std::flush;
    }
    last_ = now;
    last_tenth_ = tenth;
  }

  /// Clears the live line before the summary.
  void finish() {
    if (terminal_ && drawn_) std::cerr << "\r\033[K" << std::flush;
  }

private:
  bool terminal_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::size_t last_tenth_ = 0;
};

/// Set by the first SIGINT of a batch; a second one ends the process at once.
std::atomic<bool> batch_interrupted{false};

void on_batch_sigint(int) {
  batch_interrupted = true;
  ::signal(SIGINT, SIG_DFL);
  static const char message[] =
      "\nbatch: interrupted, finishing the calls in flight (Ctrl-C again to quit at once)\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
}

int remote_batch_command(const Options& opts, const std::string& config_path);

int batch_command(const Options& opts, const std::vector<std::string>& args) {
  const std::string config_path = only_config(args, "batch");
  for (const char* required : {"inputs", "output"})
    if (value_of(opts, required).empty())
      throw UsageError(std::string("chainpp batch: --") + required + " FILE is required (see chainpp batch --help)");
  if (has(opts, "azure-batch")) return remote_batch_command(opts, config_path);
  for (const char* remote_only : {"detach", "poll"})
    if (has(opts, remote_only))
      throw UsageError(std::string("chainpp batch: --") + remote_only + " needs --azure-batch");
  chainpp::BatchOptions options;
  options.concurrency = integer_option(opts, "concurrency", 4, 1, 1'000'000);
  options.rpm = number_option(opts, "rpm", 0, 0);
  options.tpm = number_option(opts, "tpm", 0, 0);
  options.max_failures = integer_option(opts, "max-failures", 0, 0, std::numeric_limits<int>::max());
  options.retry_failed = has(opts, "retry-failed");
  options.json_output = has(opts, "json");

  chainpp::App app = chainpp::load_app(config_path);
  const std::string name = pipeline_option(app, opts, config_path);
  chainpp::RunnablePtr pipeline = app.pipeline(name);
  options.required_inputs = app.pipeline_inputs(name);
  options.usage_cost = usage_handler(app, options.run_config);

  ProgressDisplay display(::isatty(STDERR_FILENO) != 0);
  options.on_progress = [&display](const chainpp::BatchProgress& p) { display.update(p); };
  options.stop_requested = [] { return batch_interrupted.load(); };
  ::signal(SIGINT, on_batch_sigint);
  const chainpp::BatchSummary summary =
      chainpp::run_batch(*pipeline, value_of(opts, "inputs"), value_of(opts, "output"), options);
  ::signal(SIGINT, SIG_DFL);
  display.finish();
  if (summary.interrupted)
    std::cerr << "batch: interrupted, " << summary.remaining()
              << " inputs not started (run the same command again to resume)\n";
  if (summary.stopped)
    std::cerr << "batch: stopped after " << summary.failed << " failures (--max-failures " << options.max_failures
              << "), " << summary.remaining() << " inputs not started\n";
  std::cerr << chainpp::format_batch_summary(summary) << '\n';
  if (summary.interrupted) return exit_interrupted;
  return summary.failed > 0 || summary.stopped ? exit_provider : exit_ok;
}

// ---------------------------------------------------------------- remote batches

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
    std::string line = "batch: " + chainpp::format_remote_batch_status(s);
    if (line == last) return;
    std::cerr << line << '\n' << std::flush;
    last = std::move(line);
  };
  options.stop_requested = [] { return batch_interrupted.load(); };
  return options;
}

/// The command that continues with batch `id`: "chainpp batch-fetch CONFIG ID --output OUT [--pipeline NAME]".
std::string fetch_command_text(const Options& opts,
                               const std::string& config_path, const std::string& id) {
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
    std::cerr << "batch: stopped waiting; " << id << " keeps running (continue with: " << fetch_command << ")\n";
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
    std::cerr << "batch: " << id << " ended " << outcome.batch.status << " with " << outcome.without_result
              << " requests not run (run the batch command again to submit them in a new batch)\n";
  std::cerr << chainpp::format_batch_summary(before) << '\n';
  return before.failed > 0 || outcome.without_result > 0 ? exit_provider : exit_ok;
}

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
  std::cerr << "batch: submitted " << id << " (" << submitted.summary.remaining() << " requests)\n";
  if (has(opts, "detach")) {
    std::cout << id << '\n';
    std::cerr << "batch: continue with: " << fetch_command_text(opts, config_path, id) << '\n';
    return exit_ok;
  }
  return fetch_and_report(pipeline, id, output, options, submitted.summary, fetch_command_text(opts, config_path, id));
}

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

BatchTarget batch_target(const Options& opts,
                         const std::vector<std::string>& args, const std::string& command) {
  if (args.size() != 2)
    throw UsageError("chainpp " + command + ": expected CONFIG and a batch ID (see chainpp " + command + " --help)");
  if (command == "batch-fetch" && value_of(opts, "output").empty())
    throw UsageError("chainpp batch-fetch: --output FILE is required (see chainpp batch-fetch --help)");
  chainpp::App app = chainpp::load_app(args[0]);
  chainpp::RemoteBatchPipeline pipeline = azure_batch_pipeline(app, pipeline_option(app, opts, args[0]), command);
  return BatchTarget{args[0], args[1], std::move(app), std::move(pipeline)};
}

int batch_status_command(const Options& opts,
                         const std::vector<std::string>& args) {
  const BatchTarget t = batch_target(opts, args, "batch-status");
  std::cout << chainpp::format_remote_batch_status(t.pipeline.service->status(t.id)) << '\n';
  return exit_ok;
}

int batch_cancel_command(const Options& opts,
                         const std::vector<std::string>& args) {
  const BatchTarget t = batch_target(opts, args, "batch-cancel");
  std::cout << chainpp::format_remote_batch_status(t.pipeline.service->cancel(t.id)) << '\n';
  return exit_ok;
}

int batch_fetch_command(const Options& opts,
                        const std::vector<std::string>& args) {
  const BatchTarget t = batch_target(opts, args, "batch-fetch");
  return fetch_and_report(t.pipeline, t.id, value_of(opts, "output"), remote_batch_options(t.app, opts), {},
                          fetch_command_text(opts, t.config_path, t.id));
}

// ---------------------------------------------------------------- plugins

OptionSet no_options() { return OptionSet(); }

int plugins_command(const Options&, const std::vector<std::string>& args) {
  if (args.size() > 1) throw UsageError("chainpp plugins: expected at most one CONFIG argument");
  chainpp::ConfigNode root;
  std::string base_dir = fs::current_path().string();
  if (!args.empty()) {
    root = chainpp::ConfigNode::load_file(args.front());
    base_dir = fs::absolute(args.front()).parent_path().string();
  }
  const std::vector<std::string> dirs = chainpp::plugin_search_dirs(root, base_dir);
  std::cout << "search path: " << join(dirs, ":") << '\n';
  std::vector<std::string> files = chainpp::find_plugin_files(dirs);
  for (const auto& file : chainpp::plugin_load_paths(root, base_dir))
    if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
  if (files.empty()) std::cout << "no plugins found\n";
  int status = exit_ok;
  for (const auto& file : files) {
    chainpp::PluginRegistry registry;  // one each: every plugin is reported on its own
    try {
      chainpp::PluginInfo info = registry.load_file(file);
      std::cout << info.name << ' ' << info.version << ' ' << info.path << '\n'
                << "  providers: " << join(info.providers) << '\n';
    } catch (const chainpp::PluginError& e) {
      std::cerr << e.what() << '\n';
      status = exit_usage;
    }
  }
  return status;
}

// ---------------------------------------------------------------- validate

int validate_command(const Options&, const std::vector<std::string>& args) {
  const std::string config_path = only_config(args, "validate");
  chainpp::App app = chainpp::load_app(config_path);
  std::cout << config_path << ": valid\n"
            << "  models: " << join(app.model_names()) << '\n'
            << "  prompts: " << join(app.prompt_names()) << '\n'
            << "  pipelines: " << join(app.pipeline_names()) << '\n';
  return exit_ok;
}

// ---------------------------------------------------------------- main

const Command batch{"batch", "CONFIG --inputs IN.jsonl --output OUT.jsonl [options]",
                    "Runs a pipeline of CONFIG over IN.jsonl (one JSON object of inputs per line)\n"
                    "and appends one line per input to OUT.jsonl as each call completes:\n"
                    "{\"line\":N,\"output\":...,\"usage\":{...}|null,\"error\":{...}|null}.\n"
                    "Running it again resumes: inputs with a result are skipped (failed ones\n"
                    "too, unless --retry-failed). Progress and a summary go to standard error.\n"
                    "Ctrl-C stops starting inputs and waits for the calls in flight (exit 130);\n"
                    "a second Ctrl-C quits at once. Exits 3 when an input failed or\n"
                    "--max-failures stopped the batch.\n"
                    "With --azure-batch the pipeline's prompts are rendered locally and its model\n"
                    "calls run as one Azure OpenAI Batch API job (the model must be azure_openai):\n"
                    "the requests are uploaded, the batch is polled (status on standard error)\n"
                    "and its results are written as above. --detach prints the batch id and exits;\n"
                    "batch-status, batch-fetch and batch-cancel continue from there.",
                    &batch_options, &batch_command};

const Command batch_status{"batch-status", "CONFIG ID [--pipeline NAME]",
                           "Prints the status of Azure OpenAI batch ID, submitted by batch --azure-batch.",
                           &batch_id_options, &batch_status_command};

const Command batch_fetch{"batch-fetch", "CONFIG ID --output OUT.jsonl [--pipeline NAME] [--json] [--poll S]",
                          "Waits for Azure OpenAI batch ID to finish, then appends one line per request\n"
                          "to OUT.jsonl (inputs that already have a result are skipped). Exits 3 when a\n"
                          "request failed or was never run (cancelled or expired batch).",
                          &batch_fetch_options, &batch_fetch_command};

const Command batch_cancel{"batch-cancel", "CONFIG ID [--pipeline NAME]",
                           "Asks Azure OpenAI to cancel batch ID; its finished requests keep their results.",
                           &batch_id_options, &batch_cancel_command};

const Command plugins{"plugins", "[CONFIG]",
                      "Lists the plugins found in the default directory, CHAINPP_PLUGIN_PATH and\n"
                      "CONFIG's plugins.paths, with their path, version and providers.",
                      &no_options, &plugins_command};

const Command validate{"validate", "CONFIG",
                       "Loads CONFIG (plugins, models, prompts, pipelines, callbacks) without calling\n"
                       "any model; exits 0 when it is valid.",
                       &no_options, &validate_command};

/// The commands, in the order of the main help.
const Command* const commands[] = {&run, &chat, &batch, &batch_status, &batch_fetch, &batch_cancel, &plugins,
                                   &validate};

void print_main_help(std::ostream& out) {
  out << "usage: chainpp COMMAND [options]\n\n"
         "Commands:\n"
         "  run       run a pipeline of a configuration\n"
         "  chat      talk to a model of a configuration\n"
         "  batch     run a pipeline over a JSONL file of inputs, resumably\n"
         "  batch-status, batch-fetch, batch-cancel\n"
         "            follow an Azure OpenAI batch submitted by batch --azure-batch\n"
         "  plugins   list the plugins found\n"
         "  validate  check a configuration without calling any model\n\n"
         "Run 'chainpp COMMAND --help' for a command's options.\n"
      << exit_codes_help << '\n';
}

}  // namespace
}  // namespace cli

int main(int argc, char** argv) {
  std::vector<std::string> argv_rest(argv + (argc > 1 ? 2 : 1), argv + argc);
  const std::string name = argc > 1 ? argv[1] : "";
  if (name == "--help" || name == "-h" || name == "help") {
    cli::print_main_help(std::cout);
    return cli::exit_ok;
  }
  const cli::Command* command = nullptr;
  for (const cli::Command* c : cli::commands)
    if (name == c->name) command = c;
  if (!command) {
    if (!name.empty()) std::cerr << "chainpp: unknown command '" << name << "'\n";
    cli::print_main_help(std::cerr);
    return cli::exit_usage;
  }
  return cli::dispatch(*command, argv_rest);
}
