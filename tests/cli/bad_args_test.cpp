// Bad input everywhere (issue #7, item 8), the command line: a table of
// malformed arguments and files given to the real `chainpp` binary. Each row
// exits 2 with one exact line on standard error (or, for the help that follows
// an unknown command, an exact first line), never a crash or a hang.
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

const chainpp::test::TempDir work("chainpp_bad_args_test");
const std::string fake_yaml = std::string(CHAINPP_SOURCE_DIR) + "/configs/fake.yaml";

struct Row {
  std::string name;
  std::vector<std::string> args;
  std::string err;        ///< standard error, exact (or its start with `prefix`)
  bool prefix = false;
  int code = 2;
};

std::string file_with(const std::string& name, const std::string& bytes) {
  const std::string path = work.path(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::vector<std::string> batch(std::vector<std::string> extra) {
  std::vector<std::string> args = {"batch", fake_yaml, "--pipeline", "translate", "--inputs",
                                   work.path("in.jsonl"), "--output", work.path("out.jsonl")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

TEST_CASE("bad input: command-line arguments exit 2 with one clear line", "[bad_input]") {
  const std::string missing = work.path("no-such-config.yaml");
  const std::string directory = work.path("configs.d");
  std::filesystem::create_directories(directory);
  const std::string empty = file_with("empty.yaml", "");
  const std::string binary = file_with("binary.yaml", std::string("\x7f" "ELF\x02\x01\x01\0\0\0", 10));
  const std::string tabbed = file_with("tabbed.yaml", "models:\n\tm: {provider: fake, echo: true}\n");
  const std::string latin1 = file_with("latin1.yaml", "# caf\xe9\nmodels: {}\n");
  const std::string usage_line = "usage: chainpp COMMAND [options]\n";

  const std::vector<Row> rows = {
      // --- commands and options
      {"no command", {}, usage_line, true},
      {"an unknown command", {"frobnicate"}, "chainpp: unknown command 'frobnicate'\n" + usage_line, true},
      {"an option instead of a command", {"--pipeline", "x"}, "chainpp: unknown command '--pipeline'\n" + usage_line,
       true},
      {"no CONFIG", {"run"},
       "chainpp run: no configuration: pass CONFIG or --config FILE, set CHAINPP_CONFIG, or create ./chainpp.yaml "
       "or $XDG_CONFIG_HOME/chainpp/config.yaml (see chainpp run --help)\n"},
      {"two CONFIGs", {"run", fake_yaml, fake_yaml},
       "chainpp run: expected at most one CONFIG argument, got 2 (see chainpp run --help)\n"},
      {"an unknown option", {"run", fake_yaml, "--bogus"},
       "chainpp run: unknown option '--bogus' (see chainpp run --help)\n"},
      {"a mistyped option", {"run", fake_yaml, "--pipline", "translate"},
       "chainpp run: unknown option '--pipline' (did you mean '--pipeline'?) (see chainpp run --help)\n"},
      {"a mistyped command", {"chta"},
       "chainpp: unknown command 'chta' (did you mean 'chat'?)\n" + usage_line, true},
      {"an option of another command", {"validate", fake_yaml, "--pipeline", "translate"},
       "chainpp validate: unknown option '--pipeline' (see chainpp validate --help)\n"},
      {"a missing option value", {"run", fake_yaml, "--pipeline"},
       "chainpp run: Missing option argument: pipeline requires NAME (see chainpp run --help)\n"},
      {"a value for a flag", {"run", fake_yaml, "--json=yes"},
       "chainpp run: Unexpected option argument: json=yes (see chainpp run --help)\n"},
      {"--input without '='", {"run", fake_yaml, "--input", "novalue"}, "--input expects KEY=VALUE, got 'novalue'\n"},
      {"--input without a key", {"run", fake_yaml, "--input", "=x"}, "--input expects KEY=VALUE, got '=x'\n"},
      {"too many plugins CONFIGs", {"plugins", fake_yaml, fake_yaml},
       "chainpp plugins: expected at most one CONFIG argument\n"},
      {"an unknown model", {"chat", fake_yaml, "--model", "nope", "--message", "hi"},
       fake_yaml + ": unknown model 'nope' (available models: parrot, translator)\n"},
      {"an unknown pipeline", {"run", fake_yaml, "--pipeline", "summarize"},
       fake_yaml + ": unknown pipeline 'summarize' (available pipelines: translate, translate_message)\n"},
      // --- numbers
      {"a non-numeric --concurrency", batch({"--concurrency", "abc"}),
       "--concurrency expects an integer from 1 to 1000000, got 'abc'\n"},
      {"a negative --concurrency", batch({"--concurrency", "-3"}),
       "--concurrency expects an integer from 1 to 1000000, got '-3'\n"},
      {"a zero --concurrency", batch({"--concurrency", "0"}),
       "--concurrency expects an integer from 1 to 1000000, got '0'\n"},
      {"a fractional --concurrency", batch({"--concurrency", "2.5"}),
       "--concurrency expects an integer from 1 to 1000000, got '2.5'\n"},
      {"a huge --concurrency", batch({"--concurrency", "1e30"}),
       "--concurrency expects an integer from 1 to 1000000, got '1e30'\n"},
      {"an infinite --concurrency", batch({"--concurrency", "inf"}),
       "--concurrency expects an integer from 1 to 1000000, got 'inf'\n"},
      {"--concurrency with trailing text", batch({"--concurrency", "4x"}),
       "--concurrency expects an integer from 1 to 1000000, got '4x'\n"},
      {"an empty --concurrency", batch({"--concurrency", ""}),
       "--concurrency expects an integer from 1 to 1000000, got ''\n"},
      {"a negative --max-failures", batch({"--max-failures", "-1"}),
       "--max-failures expects an integer from 0 to 2147483647, got '-1'\n"},
      {"a huge --max-failures", batch({"--max-failures", "99999999999"}),
       "--max-failures expects an integer from 0 to 2147483647, got '99999999999'\n"},
      {"a negative --rpm", batch({"--rpm", "-1"}), "--rpm expects a number of at least 0, got '-1'\n"},
      {"a --rpm that is not a number", batch({"--rpm", "nan"}), "--rpm expects a number of at least 0, got 'nan'\n"},
      {"an infinite --tpm", batch({"--tpm", "inf"}), "--tpm expects a number of at least 0, got 'inf'\n"},
      // --- configuration files
      {"a missing file", {"validate", missing}, missing + ": cannot open configuration file\n"},
      {"a directory", {"validate", directory}, directory + ": is a directory, not a configuration file\n"},
      {"a directory to run", {"run", directory}, directory + ": is a directory, not a configuration file\n"},
      {"a missing file to list plugins of", {"plugins", missing}, missing + ": cannot open configuration file\n"},
      {"an empty file", {"validate", empty}, empty + ":1:1: the configuration is empty\n"},
      {"a binary file", {"chat", binary, "--message", "hi"},
       binary + ":1:1: control character 0x7f: a configuration file must be UTF-8 text\n"},
      {"a Latin-1 file", {"validate", latin1},
       latin1 + ":1:6: invalid UTF-8 byte 0xe9: a configuration file must be UTF-8 text\n"},
      {"a file indented with a tab", {"validate", tabbed},
       tabbed + ":2:3: illegal map value (line 2 is indented with a tab; YAML indents with spaces only)\n"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      // no configuration of the user's: none in CHAINPP_CONFIG or XDG_CONFIG_HOME
      const auto r = chainpp::test::run_command(CHAINPP_CLI, row.args, "",
                                                "-u CHAINPP_PLUGIN_PATH -u CHAINPP_CONFIG XDG_CONFIG_HOME=" +
                                                    chainpp::test::shell_quote(directory));
      if (row.prefix)
        CHECK(r.err.substr(0, row.err.size()) == row.err);
      else
        CHECK(r.err == row.err);
      CHECK(r.out == "");
      CHECK(r.code == row.code);
    }
  }
}
