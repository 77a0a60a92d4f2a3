// chainpp run CONFIG [--pipeline NAME] [--input KEY=VALUE]... [--stream] [--json] [--usage]:
// runs a pipeline of CONFIG on its inputs (or standard input) and prints its output.
#include "commands.hpp"

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

namespace cli {
namespace {

using Poco::Util::OptionSet;

/// Prints one streamed piece as it arrives.
void print_piece(const chainpp::Value& piece) {
  if (piece.is_json()) {
    std::cout << for_stdout(piece.as_json().dump()) << '\n';
  } else {
    std::cout << for_stdout(piece.to_text());
  }
  std::cout.flush();
}

/// The final value as JSON: a streamed chunk becomes the message it merges into.
chainpp::Json final_json(const chainpp::Value& v) {
  if (v.is_chunk()) return v.as_chunk().to_message().to_json();
  return v.to_json();
}

OptionSet run_options() {
  OptionSet set;
  set.addOption(pipeline_flag("the pipeline to run (default: the only one)"));
  set.addOption(valued("input", "KEY=VALUE", "a pipeline input variable (repeatable); KEY=- reads standard input")
                    .repeatable(true));
  set.addOption(stream_flag("print the output as it arrives"));
  set.addOption(json_flag("print the final result as one JSON object"));
  set.addOption(usage_flag("print token totals and the cost after the result"));
  return set;
}

int run_command(const Options& opts, const std::vector<std::string>& args) {
  const std::string config_path = only_config(opts, args, "run");
  chainpp::ValueMap inputs;
  std::vector<std::string> from_stdin;  // the inputs given as NAME=-
  if (auto it = opts.find("input"); it != opts.end()) {
    for (const auto& kv : it->second) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) throw UsageError("--input expects KEY=VALUE, got '" + kv + "'");
      if (kv.substr(eq + 1) == "-") from_stdin.push_back(kv.substr(0, eq));
      inputs[kv.substr(0, eq)] = chainpp::Value(kv.substr(eq + 1));
    }
  }
  if (from_stdin.size() > 1)
    throw UsageError("--input: only one input can be read from standard input (" + chainpp::join(from_stdin) + ")");
  if (!from_stdin.empty()) inputs[from_stdin.front()] = chainpp::Value(read_standard_input());
  chainpp::App app = chainpp::load_app(config_path);
  const std::string name = pipeline_option(app, opts, config_path);
  chainpp::RunnablePtr pipeline = app.pipeline(name);
  const std::vector<std::string> needed = app.pipeline_inputs(name);
  for (const auto& var : needed) {
    if (!inputs.count(var))
      throw UsageError("missing input '" + var + "' for pipeline '" + name + "' (pass --input " + var + "=VALUE)");
  }
  // A pipeline that starts with a model takes its one input as the human
  // message, or standard input when no --input is given.
  chainpp::Value input(inputs);
  if (needed.empty() && inputs.size() == 1) input = inputs.begin()->second;
  if (needed.empty() && inputs.empty()) {
    if (::isatty(STDIN_FILENO))
      throw UsageError("pipeline '" + name + "' starts with a model: pass the message with --input message=TEXT " +
                       "or on standard input");
    input = chainpp::Value(read_standard_input());
  }

  chainpp::RunConfig config;
  std::shared_ptr<chainpp::UsageCostHandler> usage;
  if (has(opts, "usage")) usage = usage_handler(app, config);

  if (has(opts, "stream")) {
    chainpp::Value merged;
    bool first = true;
    for (auto& piece : pipeline->stream(input, config)) {
      if (!has(opts, "json")) print_piece(piece);
      if (first) merged = piece;
      else chainpp::merge_into(merged, piece);
      first = false;
    }
    if (has(opts, "json"))
      std::cout << for_stdout(final_json(merged).dump()) << '\n';
    else if (!merged.is_json())
      std::cout << '\n';
  } else {
    chainpp::Value result = pipeline->invoke(input, config);
    if (has(opts, "json"))
      std::cout << for_stdout(final_json(result).dump()) << '\n';
    else
      std::cout << for_stdout(result.to_text()) << '\n';
  }
  if (usage) std::cout << for_stdout(usage->summary()) << '\n';
  return exit_ok;
}

}  // namespace

const Command run{"run", "CONFIG [--pipeline NAME] [--input KEY=VALUE]... [--stream] [--json] [--usage]",
                  "Runs a pipeline of CONFIG and prints its output.", &run_options, &run_command,
                  "  chainpp run configs/fake.yaml --pipeline translate \\\n"
                  "      --input input_language=English --input output_language=French \\\n"
                  "      --input \"input=I love programming.\"\n"
                  "  echo 'I love programming.' | chainpp run app.yaml --input input=-\n"};

}  // namespace cli
