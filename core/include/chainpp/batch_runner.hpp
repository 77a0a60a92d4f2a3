#pragma once
// Batch runs at scale: a runnable over a JSONL file of inputs, one result line
// per input appended to a JSONL output file as each call completes, within a
// request and token budget. Re-running the same batch resumes it: inputs that
// already have a result are skipped, and killing the process at any moment
// loses at most the calls in flight.
//
//   chainpp::BatchOptions options;
//   options.concurrency = 8;
//   options.rpm = 600;
//   chainpp::BatchSummary s = chainpp::run_batch(*app.pipeline("translate"), "in.jsonl", "out.jsonl", options);
//
// Input lines: one JSON object of pipeline inputs each (blank lines are ignored).
// Output lines: {"line":N,"output":<text or JSON>,"usage":{...}|null,"error":null}
// or, for a failed input,
// {"line":N,"output":null,"usage":null,"error":{"type":"RateLimitError","message":"...","status":429,"code":"429","request_id":"..."}}
// where N is the 1-based line number in the inputs file. Resuming drops only a
// torn last line (no newline) that begins as a result line; an output holding
// a line that is not a result line, or a result whose N is not a non-blank
// line of the inputs file, and an output that is the inputs file (the same
// device and inode), are refused with an InputError and left unchanged.
#include <chainpp/export.hpp>
#include <chainpp/runnable.hpp>
#include <chainpp/usage_cost.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chainpp {

/// Where a batch stands; passed to BatchOptions::on_progress after every result.
struct CHAINPP_API BatchProgress {
  std::size_t total = 0;    ///< inputs in the inputs file
  std::size_t skipped = 0;  ///< inputs that already had a result when the run started
  std::size_t done = 0;     ///< inputs finished by this run (ok + failed)
  std::size_t ok = 0;
  std::size_t failed = 0;
  std::int64_t tokens = 0;  ///< total tokens reported by this run's calls
  double cost = 0;          ///< USD so far (from BatchOptions::usage_cost; 0 without it)
  double elapsed_seconds = 0;
  bool stopped = false;     ///< max_failures reached: no new inputs are started
  bool interrupted = false; ///< BatchOptions::stop_requested said stop: no new inputs are started
  /// Times new calls paused for a second because a response reported the quota
  /// exhausted (x-ratelimit-remaining-requests 0, or fewer remaining tokens
  /// than the call's estimate).
  std::size_t quota_pauses = 0;

  /// Inputs still to run in this batch.
  std::size_t remaining() const { return total - skipped - done; }
};

/// The end state of a batch.
using BatchSummary = BatchProgress;

struct CHAINPP_API BatchOptions {
  /// Calls at once.
  int concurrency = 4;
  /// Requests per minute (0: no limit).
  double rpm = 0;
  /// Tokens per minute (0: no limit). A call is charged its estimate before it is
  /// sent (input characters / 4 + expected_output_tokens) and corrected from the
  /// usage it reports.
  double tpm = 0;
  /// The output tokens assumed for a call before its usage is known.
  std::int64_t expected_output_tokens = 256;
  /// Stop starting new inputs after this many failures in this run (0: never stop).
  int max_failures = 0;
  /// Run again the inputs whose recorded result is a failure (they are removed
  /// from the output file first, so every input keeps exactly one result line).
  bool retry_failed = false;
  /// How often an input that hit a rate limit (429) is put back in the queue
  /// before it is recorded as failed. Every 429 pauses all new calls for the
  /// error's retry-after (or an exponential backoff from 1 s when absent).
  int rate_limit_requeues = 3;
  /// Output each result in its JSON form (messages as their to_json()) instead of text.
  bool json_output = false;
  /// Variables every input object must have (e.g. App::pipeline_inputs); a line
  /// without one fails with an InputError naming it, before any call.
  std::vector<std::string> required_inputs;
  /// fsync the output file after every result line (default: each line is written
  /// with one write(2) to a file opened O_APPEND, which survives a killed process).
  bool fsync = false;
  /// Callbacks for every call (a per-call handler collecting usage is added).
  RunConfig run_config;
  /// Read for BatchProgress::cost: its totals grow as the pipeline's calls end.
  /// Attach it to the runnable or to run_config.callbacks yourself.
  std::shared_ptr<const UsageCostHandler> usage_cost;
  /// Called after every result line is written (serialised; keep it short).
  std::function<void(const BatchProgress&)> on_progress;
  /// Polled before each new input; true stops starting new ones, while the
  /// calls in flight finish and are written (the CLI's Ctrl-C).
  std::function<bool()> stop_requested;
};

/// Runs `runnable` over the inputs of `inputs_path`, appending one result line per
/// input to `output_path` (created when absent). Resumes from an existing output:
/// a torn last line (no newline or not JSON, from a killed run) is truncated away,
/// and inputs with a result are skipped (failed ones too unless retry_failed).
/// Per-input errors (bad JSON, missing variables, provider errors) become result
/// lines; throws InputError when a file cannot be read or written, when another
/// batch is writing the output (it is locked while a batch runs), or when the
/// output has a malformed line other than the last. An output that is not a
/// regular file (a pipe, /dev/stdout) is written without reading it back.
CHAINPP_API BatchSummary run_batch(const Runnable& runnable, const std::string& inputs_path,
                                   const std::string& output_path, const BatchOptions& options = {});

/// The progress line the CLI prints while a batch runs:
/// "batch: 40/100, 12.3/s, 1,240 tokens, $0.000080, ETA 5 s, 2 failed"
/// (done counts skipped inputs; the rate and ETA are this run's).
CHAINPP_API std::string format_batch_progress(const BatchProgress& progress);

/// The summary line the CLI prints:
/// "batch: 100 done (98 ok, 2 failed), 3,100 tokens, Total Cost (USD): $0.000123, 4.2 s"
/// ("..., 40 skipped" after the counts when inputs were skipped).
CHAINPP_API std::string format_batch_summary(const BatchSummary& summary);

}  // namespace chainpp
