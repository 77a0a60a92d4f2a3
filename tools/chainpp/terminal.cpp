// What the CLI prints to standard output that came from a model or a server
// (see commands.hpp: for_stdout).
#include "commands.hpp"

#include <chainpp/terminal.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cli {

std::string for_stdout(std::string_view text) {
  static const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  return terminal ? chainpp::escape_for_terminal(text, /*keep_line_breaks=*/true) : std::string(text);
}

std::string read_standard_input() {
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw UsageError(std::string("cannot read standard input: ") + std::strerror(errno));
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > max_stdin_bytes)
      throw UsageError("standard input is larger than " + std::to_string(max_stdin_bytes >> 20) + " MiB");
    text.append(buffer, static_cast<std::size_t>(n));
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string stdio_path(const std::string& path, bool input) {
  if (path != "-") return path;
  return input ? "/dev/stdin" : "/dev/stdout";
}

}  // namespace cli
