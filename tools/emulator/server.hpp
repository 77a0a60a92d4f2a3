#pragma once
#include "emulator_config.hpp"

#include <string>

namespace emulator {

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  bool quiet = false;  // no per-request log lines
  std::string tls_cert;  // PEM files: serve HTTPS instead of HTTP when both are set
  std::string tls_key;
};

/// Serves until SIGINT/SIGTERM, then ends the process (exit status 0); prints
/// "listening on HOST:PORT" first. Throws when it cannot start.
[[noreturn]] void run(const Config& config, const ServerOptions& options);

}  // namespace emulator
