// host_app: a minimal host application of chainpp. It loads a YAML
// application configuration (plugins, models, prompts, pipelines, callbacks),
// runs one pipeline on the inputs given on the command line, streams the
// answer to standard output as it arrives and prints the cost of the run.
//
//   host_app CONFIG [PIPELINE] [KEY=VALUE]...
//   host_app app.yaml input_language=English output_language=French "input=I love programming."
//
// Swapping the provider (fake, azure_openai, openai, your own plugin) is an
// edit to CONFIG; this program does not change.
#include <chainpp/app.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/usage_cost.hpp>

#include <iostream>
#include <string>

namespace {

int usage_error(const std::string& message) {
  std::cerr << "host_app: " << message << "\n"
            << "usage: host_app CONFIG [PIPELINE] [KEY=VALUE]...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error("missing CONFIG");
  const std::string config_path = argv[1];
  std::string pipeline_name;
  chainpp::ValueMap inputs;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    if (eq == std::string::npos && i == 2) {
      pipeline_name = arg;
    } else if (eq == std::string::npos || eq == 0) {
      return usage_error("expected KEY=VALUE, got '" + arg + "'");
    } else {
      inputs[arg.substr(0, eq)] = chainpp::Value(arg.substr(eq + 1));
    }
  }

  try {
    // Loads the plugins and validates everything; no model is called yet.
    const chainpp::App app = chainpp::App::load(config_path);
    if (pipeline_name.empty()) {
      const auto names = app.pipeline_names();
      if (names.size() != 1) return usage_error(config_path + " has " + std::to_string(names.size()) +
                                                " pipelines: name the one to run");
      pipeline_name = names.front();
    }
    const chainpp::RunnablePtr pipeline = app.pipeline(pipeline_name);

    // Each piece is printed as soon as the provider sends it.
    for (const auto& piece : pipeline->stream(chainpp::Value(inputs))) std::cout << piece.to_text() << std::flush;
    std::cout << '\n';

    // The configuration's `usage_cost` callback saw the call.
    if (const auto usage = app.usage_cost())
      std::cout << "Total Cost (USD): " << chainpp::format_cost(usage->totals().total_cost) << '\n';
    else
      std::cerr << "host_app: no usage_cost callback in " << config_path << ": cost not tracked\n";
    return 0;
  } catch (const chainpp::Error& e) {
    std::cerr << "host_app: " << e.what() << '\n';
    return 1;
  }
}
