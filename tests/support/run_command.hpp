#pragma once
// Runs a program as a child process for a test: arguments quoted, standard
// input given, standard output and error captured, exit code returned.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace chainpp::test {

struct CommandResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

/// The lines of `text`, without their newlines.
inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// Runs `program args...` with `input` on standard input and `env`
/// ("NAME=value ..." or "-u NAME", as env(1) takes) in its environment.
inline CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                                 const std::string& input = "", const std::string& env = "") {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() /
                       ("chainpp_cmd." + std::to_string(::getpid()) + "." + std::to_string(counter++));
  fs::create_directories(dir);
  std::ofstream(dir / "stdin") << input;
  std::string cmd = "env " + env + " " + shell_quote(program);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " <" + shell_quote((dir / "stdin").string()) + " >" + shell_quote((dir / "stdout").string()) + " 2>" +
         shell_quote((dir / "stderr").string());
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(dir / "stdout");
  r.err = read_file(dir / "stderr");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

}  // namespace chainpp::test
