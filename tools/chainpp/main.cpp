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
