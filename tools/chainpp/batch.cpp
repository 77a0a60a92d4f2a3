// chainpp batch CONFIG --inputs IN.jsonl --output OUT.jsonl [options]: runs a
// pipeline over a JSONL file of inputs, resumably, with the progress on standard
// error. --azure-batch hands over to remote_batch_command (azure_batch.cpp).
#include "commands.hpp"

#include <chainpp/batch_runner.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace cli {

std::atomic<bool> batch_interrupted{false};

void on_batch_sigint(int) {
  batch_interrupted = true;
  ::signal(SIGINT, SIG_DFL);
  static const char message[] =
      "\nbatch: interrupted, finishing the calls in flight (Ctrl-C again to quit at once)\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
}

namespace {

using Poco::Util::OptionSet;

OptionSet batch_options() {
  OptionSet set;
  set.addOption(pipeline_flag("the pipeline to run (default: the only one)"));
  set.addOption(valued("inputs", "FILE",
                       "JSONL file: one JSON object of pipeline inputs per line (required; - for standard input)"));
  set.addOption(output_flag("JSONL file the results are appended to; resumed when it exists (required; - for "
                            "standard output, not resumed)"));
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
/// plain line at most every 10 s otherwise (a log gets few lines; the summary
/// follows).
class ProgressDisplay {
public:
  explicit ProgressDisplay(bool terminal) : terminal_(terminal) {}

  void update(const chainpp::BatchProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (terminal_) {
      if (drawn_ && now - last_ < std::chrono::milliseconds(100) && p.remaining() > 0) return;
      std::cerr << "\r\033[K" << chainpp::format_batch_progress(p) << std::flush;
      drawn_ = true;
    } else {
      if (now - last_ < std::chrono::seconds(10)) return;
      std::cerr << chainpp::format_batch_progress(p) << '\n' << std::flush;
    }
    last_ = now;
  }

  /// Clears the live line before the summary.
  void finish() {
    if (terminal_ && drawn_) std::cerr << "\r\033[K" << std::flush;
  }

private:
  bool terminal_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

int batch_command(const Options& opts, const std::vector<std::string>& args) {
  const std::string config_path = only_config(opts, args, "batch");
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
      chainpp::run_batch(*pipeline, stdio_path(value_of(opts, "inputs"), true),
                         stdio_path(value_of(opts, "output"), false), options);
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

}  // namespace

const Command batch{"batch", "CONFIG --inputs IN.jsonl --output OUT.jsonl [options]",
                    "Runs a pipeline of CONFIG over IN.jsonl (one JSON object of inputs per line)\n"
                    "and appends one line per input to OUT.jsonl as each call completes:\n"
                    "{\"line\":N,\"output\":...,\"usage\":{...}|null,\"error\":{...}|null}.\n"
                    "Running it again resumes: inputs with a result are skipped (failed ones\n"
                    "too, unless --retry-failed). An OUT.jsonl holding lines that are not results\n"
                    "of these inputs, or that is IN.jsonl itself, is refused and left as it is.\n"
                    "Progress (on a terminal a live line, otherwise a line at most every 10 s) and a\n"
                    "summary go to standard error.\n"
                    "Ctrl-C stops starting inputs and waits for the calls in flight (exit 130);\n"
                    "a second Ctrl-C quits at once. Exits 3 when an input failed or\n"
                    "--max-failures stopped the batch.\n"
                    "With --azure-batch the pipeline's prompts are rendered locally and its model\n"
                    "calls run as one Azure OpenAI Batch API job (the model must be azure_openai):\n"
                    "the requests are uploaded, the batch is polled (status on standard error)\n"
                    "and its results are written as above. --detach prints the batch id and exits;\n"
                    "batch-status, batch-fetch and batch-cancel continue from there.",
                    &batch_options, &batch_command,
                    "  chainpp batch app.yaml --pipeline translate --inputs in.jsonl \\\n"
                    "      --output out.jsonl\n"
                    "  cat in.jsonl | chainpp batch app.yaml --inputs - --output - > out.jsonl\n"
                    "  chainpp batch app.yaml --inputs in.jsonl --output out.jsonl --azure-batch\n"};

}  // namespace cli
