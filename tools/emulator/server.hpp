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

/// Serves until SIGINT/SIGTERM; prints "listening on HOST:PORT" first. Returns the exit code.
int run(const Config& config, const ServerOptions& options);

}  // namespace emulator
