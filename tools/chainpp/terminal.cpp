// What the CLI prints to standard output that came from a model or a server
// (see commands.hpp: for_stdout).
#include "commands.hpp"

#include <chainpp/terminal.hpp>

#include <unistd.h>

namespace cli {

std::string for_stdout(std::string_view text) {
  static const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  return terminal ? chainpp::escape_for_terminal(text, /*keep_line_breaks=*/true) : std::string(text);
}

}  // namespace cli
