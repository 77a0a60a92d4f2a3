// `chainpp batch` never damages a file it was not writing: an --output that
// holds anything but results of this batch, or that is the --inputs file (by
// any path), is refused and left byte for byte as it was; only a torn last
// line of a results file is dropped.
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Result = chainpp::test::CommandResult;

namespace {

const chainpp::test::TempDir work("chainpp_batch_output_cli_test");

std::string path(const std::string& name) { return work.path(name); }
void write(const std::string& p, const std::string& text) { chainpp::test::write_file(p, text); }
std::string read(const std::string& p) { return chainpp::test::read_file(p); }

const std::string batch_yaml = std::string(CHAINPP_CLI_CONFIGS) + "/batch.yaml";
const std::string two_inputs = "{\"input\":\"word1\"}\n{\"input\":\"word2\"}\n";

Result batch(const std::string& in, const std::string& out) {
  return chainpp::test::run_command(CHAINPP_CLI,
                                    {"batch", batch_yaml, "--pipeline", "echo", "--inputs", in, "--output", out,
                                     "--concurrency", "1"},
                                    "", "-u CHAINPP_PLUGIN_PATH");
}

std::string ok_line(int line) {
  const std::string n = std::to_string(line);
  return "{\"line\":" + n + ",\"output\":\"word" + n +
         "\",\"usage\":{\"input_tokens\":10,\"output_tokens\":2,\"total_tokens\":12},\"error\":null}";
}

/// The last line of standard error: the summary, its duration masked.
std::string summary_of(const std::string& err) {
  const auto lines = chainpp::test::split_lines(err);
  REQUIRE_FALSE(lines.empty());
  std::string last = lines.back();
  const std::size_t comma = last.rfind(", ");
  return last.substr(0, comma) + ", T s";
}

}  // namespace

TEST_CASE("cli batch output: a file that is not results of this batch is refused and left as it was") {
  const std::string in = path("other.in.jsonl"), out = path("other.out.jsonl");
  write(in, two_inputs);
  std::string text, error;
  SECTION("an unrelated one-line file") {
    text = "my notes\n";
    error = ":1: not a batch result line";
  }
  SECTION("an unrelated one-line file without a newline") {
    text = "my notes";
    error = ":1: not a batch result line";
  }
  SECTION("a line that is not a result between results") {
    text = ok_line(1) + "\n{\"input\":\"word2\"}\n" + ok_line(2) + "\n";
    error = ":2: not a batch result line";
  }
  SECTION("the results of a batch of more inputs") {
    text = ok_line(1) + "\n" + ok_line(7) + "\n";
    error = ":2: not a result of this batch ('" + in + "' has no input on line 7)";
  }
  write(out, text);
  Result r = batch(in, out);
  CHECK(r.out == "");
  CHECK(r.err == "batch: " + out + error + "\n");
  CHECK(r.code == 2);
  CHECK(read(out) == text);
  CHECK(read(in) == two_inputs);
}

TEST_CASE("cli batch output: the inputs file is refused as the output, by any path") {
  const std::string in = path("self.in.jsonl");
  write(in, "{\"input\":\"word1\"}\n");
  std::string out;
  SECTION("the same path") { out = in; }
  SECTION("another path to it") { out = fs::relative(fs::path(path("sub")) / ".." / "self.in.jsonl").string(); }
  SECTION("a symbolic link to it") {
    out = path("self.symlink.jsonl");
    fs::create_symlink(in, out);
  }
  SECTION("a hard link to it") {
    out = path("self.hardlink.jsonl");
    fs::create_hard_link(in, out);
  }
  fs::create_directories(path("sub"));
  Result r = batch(in, out);
  CHECK(r.out == "");
  CHECK(r.err == "batch: the output '" + out + "' is the inputs file '" + in + "'; choose another output file\n");
  CHECK(r.code == 2);
  CHECK(read(in) == "{\"input\":\"word1\"}\n");
}

TEST_CASE("cli batch output: only a torn last line is dropped, and the batch resumes") {
  const std::string in = path("torn.in.jsonl"), out = path("torn.out.jsonl");
  write(in, two_inputs);
  std::string torn;
  SECTION("cut in the output") { torn = "{\"line\":2,\"output\":\"wo"; }
  SECTION("cut in the first member") { torn = "{\"li"; }
  SECTION("a whole result without its newline") { torn = ok_line(2); }
  write(out, ok_line(1) + "\n" + torn);
  Result r = batch(in, out);
  CHECK(summary_of(r.err) == "batch: 1 done (1 ok, 0 failed), 1 skipped, 12 tokens, Total Cost (USD): $0.000019, T s");
  CHECK(r.code == 0);
  CHECK(read(out) == ok_line(1) + "\n" + ok_line(2) + "\n");

  // A complete results file: resumed with nothing to do, not a byte changed.
  Result again = batch(in, out);
  CHECK(summary_of(again.err) ==
        "batch: 0 done (0 ok, 0 failed), 2 skipped, 0 tokens, Total Cost (USD): $0.000000, T s");
  CHECK(again.code == 0);
  CHECK(read(out) == ok_line(1) + "\n" + ok_line(2) + "\n");
}
