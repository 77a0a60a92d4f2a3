// chainpp validate CONFIG: loads a configuration without calling any model and
// lists what it defines.
#include "commands.hpp"

#include <iostream>
#include <string>
#include <vector>

namespace cli {
namespace {

using chainpp::join;

int validate_command(const Options& opts, const std::vector<std::string>& args) {
  const std::string config_path = only_config(opts, args, "validate");
  chainpp::App app = chainpp::load_app(config_path);
  std::cout << config_path << ": valid\n"
            << "  models: " << join(app.model_names()) << '\n'
            << "  prompts: " << join(app.prompt_names()) << '\n'
            << "  pipelines: " << join(app.pipeline_names()) << '\n';
  return exit_ok;
}

}  // namespace

const Command validate{"validate", "CONFIG",
                       "Loads CONFIG (plugins, models, prompts, pipelines, callbacks) without calling\n"
                       "any model; exits 0 when it is valid. Otherwise it prints every error of the\n"
                       "file, one per line in file order (file:line:col: message), and exits 2.",
                       &no_options, &validate_command,
                       "  chainpp validate configs/azure.yaml\n"};

}  // namespace cli
