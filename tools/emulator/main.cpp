// azure-openai-emulator: a local server speaking the Azure OpenAI chat
// completions protocol (and the OpenAI one) for demos, tests and benchmarks.
#include "default_config.hpp"
#include "emulator_config.hpp"
#include "server.hpp"

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

const char* kUsage =
    "usage: azure-openai-emulator [--host ADDR] [--port N] [--config FILE] [--quiet] [--tls-cert PEM --tls-key PEM]\n"
    "  --port 0 picks a free port; the first line printed is 'listening on HOST:PORT'.\n"
    "  Without --config, the built-in configuration (tools/emulator/emulator.yaml) is used.\n";

}  // namespace

int main(int argc, char** argv) {
  emulator::ServerOptions options;
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "azure-openai-emulator: " << arg << " needs a value\n" << kUsage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--port") {
      const long port = std::strtol(value().c_str(), nullptr, 10);
      if (port < 0 || port > 65535) {
        std::cerr << "azure-openai-emulator: invalid port\n";
        return 2;
      }
      options.port = static_cast<unsigned short>(port);
    } else if (arg == "--host") {
      options.host = value();
    } else if (arg == "--config") {
      config_path = value();
    } else if (arg == "--tls-cert") {
      options.tls_cert = value();
    } else if (arg == "--tls-key") {
      options.tls_key = value();
    } else if (arg == "--quiet") {
      options.quiet = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "azure-openai-emulator: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  try {
    const auto config = config_path.empty() ? emulator::parse_config(emulator::kDefaultConfig, "<built-in emulator.yaml>")
                                            : emulator::load_config(config_path);
    emulator::run(config, options);
  } catch (const std::exception& e) {
    std::cerr << "azure-openai-emulator: " << e.what() << "\n";
    return 1;
  }
}
