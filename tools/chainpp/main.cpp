// chainpp: run pipelines and chat with models from a YAML configuration.
//
//   chainpp run CONFIG [--pipeline NAME] [--input KEY=VALUE]... [--stream] [--json] [--usage]
//   chainpp chat [CONFIG] [-m MODEL] [-s TEXT] [--temperature T] [--max-tokens N] [-o KEY=VALUE]...
//                [--stream] [--json] [--usage] [MESSAGE...]
//   chainpp batch CONFIG --pipeline NAME --inputs IN.jsonl --output OUT.jsonl [--concurrency N] [--rpm R]
//                 [--tpm T] [--max-failures F] [--retry-failed] [--json] [--azure-batch [--detach] [--poll S]]
//   chainpp batch-status CONFIG ID [--pipeline NAME]
//   chainpp batch-fetch CONFIG ID --output OUT.jsonl [--pipeline NAME] [--json] [--poll S]
//   chainpp batch-cancel CONFIG ID [--pipeline NAME]
//   chainpp plugins [CONFIG]
//   chainpp validate CONFIG
//
// Exit codes: 0 success, 2 usage or configuration error, 3 provider or network error.
//
// Each command is in the file of its name (run.cpp, chat.cpp, batch.cpp, the
// batch-* commands in azure_batch.cpp, plugins.cpp, validate.cpp), declared in
// commands.hpp; options.cpp parses their flags and reports their errors.
#include "commands.hpp"

#include <chainpp/terminal.hpp>
#include <chainpp/version.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace cli {
namespace {

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
         "Run 'chainpp help COMMAND' (or 'chainpp COMMAND --help') for a command's options\n"
         "and examples; 'chainpp --version' for the version.\n"
      << exit_codes_help << '\n';
}

/// The command named `name`, or nullptr.
const Command* find_command(const std::string& name) {
  for (const Command* c : commands)
    if (name == c->name) return c;
  return nullptr;
}

/// "chainpp: unknown command 'X' (did you mean 'Y'?)" and the main help, on standard error.
int unknown_command(const std::string& name) {
  std::vector<std::string> names;
  for (const Command* c : commands) names.push_back(c->name);
  names.push_back("help");
  if (!name.empty())
    std::cerr << "chainpp: unknown command '" << chainpp::escape_for_terminal(name) << "'"
              << closest_command(name, names) << '\n';
  print_main_help(std::cerr);
  return exit_usage;
}

}  // namespace
}  // namespace cli

int main(int argc, char** argv) {
  std::vector<std::string> argv_rest(argv + (argc > 1 ? 2 : 1), argv + argc);
  const std::string name = argc > 1 ? argv[1] : "";
  if (name == "--version" || name == "-V") {
    std::cout << "chainpp " << CHAINPP_VERSION << '\n';
    return cli::exit_ok;
  }
  if (name == "--help" || name == "-h" || (name == "help" && argv_rest.empty())) {
    cli::print_main_help(std::cout);
    return cli::exit_ok;
  }
  if (name == "help") {  // chainpp help COMMAND
    const cli::Command* command = cli::find_command(argv_rest.front());
    if (!command || argv_rest.size() > 1) return cli::unknown_command(argv_rest.front());
    cli::print_help(*command, std::cout);
    return cli::exit_ok;
  }
  const cli::Command* command = cli::find_command(name);
  if (!command) return cli::unknown_command(name);
  return cli::dispatch(*command, argv_rest);
}
