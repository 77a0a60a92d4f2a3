#pragma once
// The commands of the chainpp CLI, each in the file of its name, and what
// several of them share. main.cpp dispatches to them; options.hpp parses
// their flags.
#include "options.hpp"

#include <chainpp/app.hpp>
#include <chainpp/usage_cost.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

namespace cli {

/// chainpp run: runs a pipeline and prints its output (run.cpp).
extern const Command run;
/// chainpp chat: talks to a model, one message or a conversation (chat.cpp).
extern const Command chat;
/// chainpp batch: runs a pipeline over a JSONL file of inputs, resumably
/// (batch.cpp; with --azure-batch, remote_batch_command).
extern const Command batch;
/// chainpp batch-status: prints the status of an Azure OpenAI batch (azure_batch.cpp).
extern const Command batch_status;
/// chainpp batch-fetch: waits for an Azure OpenAI batch and writes its results (azure_batch.cpp).
extern const Command batch_fetch;
/// chainpp batch-cancel: asks Azure OpenAI to cancel a batch (azure_batch.cpp).
extern const Command batch_cancel;
/// chainpp plugins: lists the plugins found and what they provide (plugins.cpp).
extern const Command plugins;
/// chainpp validate: loads a configuration without calling any model (validate.cpp).
extern const Command validate;

/// A UsageCostHandler for --usage: the configuration's own, or one priced by
/// pricing.yaml beside the configuration file (unpriced when there is none),
/// added to `config` (pricing.cpp).
std::shared_ptr<chainpp::UsageCostHandler> usage_handler(const chainpp::App& app, chainpp::RunConfig& config);

/// The App and the model of `chainpp chat`.
struct ModelApp {
  chainpp::App app;
  std::string model;  ///< the name of the model in `app`
};

/// The App and model `chainpp chat` talks to (model_app.cpp). The configuration
/// is `config_arg` or find_config()'s; without one, it is made from the
/// environment: azure_openai when AZURE_OPENAI_ENDPOINT is set (-m names the
/// deployment; api_version from OPENAI_API_VERSION, else 2024-10-21), openai
/// when OPENAI_API_KEY is (-m names the model, default gpt-4o-mini). -m names a
/// configured model, or else a deployment or model of the configuration's first
/// azure_openai or openai model. --temperature, --max-tokens and -o KEY=VALUE
/// are laid on the model's settings, read as YAML and checked by its provider
/// like a setting of the file.
ModelApp load_model_app(const Options& opts, const std::string& config_arg);

/// The conversation of `chainpp chat` on a terminal (interactive.cpp): line
/// editing and history ($XDG_STATE_HOME/chainpp/history) through libedit,
/// lines ending with a backslash continued, the slash commands /exit, /help,
/// /clear, /model NAME, /system TEXT and /usage, replies streamed, Ctrl-C
/// cancelling the reply in progress (kept, marked interrupted), Ctrl-D or
/// /exit ending it with the usage summary when --usage was given.
int interactive_chat(const Options& opts, ModelApp chosen, chainpp::Messages history, chainpp::RunConfig config,
                     std::shared_ptr<chainpp::UsageCostHandler> usage);

/// `text` (a model's answer, a usage summary) for standard output: as it is
/// when standard output is not a terminal (a file or a pipe gets the model's
/// bytes), through chainpp::escape_for_terminal with line breaks kept when it
/// is one, so that no escape sequence in an answer reaches the terminal
/// (terminal.cpp). Errors and status lines on standard error, and a batch's
/// id and status, are always escaped.
std::string for_stdout(std::string_view text);

/// The most bytes read from standard input as a message or an input.
constexpr std::size_t max_stdin_bytes = 64u << 20;

/// All of standard input, its trailing line breaks removed; a usage error
/// beyond max_stdin_bytes (terminal.cpp).
std::string read_standard_input();

/// The path a batch reads its inputs from or writes its results to: "-" is
/// /dev/stdin (`input`) or /dev/stdout, any other path itself (terminal.cpp).
std::string stdio_path(const std::string& path, bool input);

/// Set by the first SIGINT of a batch; a second one ends the process at once (batch.cpp).
extern std::atomic<bool> batch_interrupted;
/// The SIGINT handler while a batch runs or is waited for: sets
/// batch_interrupted, says so on standard error and restores the default.
void on_batch_sigint(int);

/// chainpp batch --azure-batch: submits the inputs as one Azure OpenAI batch
/// and, unless --detach, waits for its results (azure_batch.cpp).
int remote_batch_command(const Options& opts, const std::string& config_path);

}  // namespace cli
