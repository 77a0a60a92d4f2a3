// `chainpp batch`: the real binary over JSONL files, on the fake provider and
// against the local Azure OpenAI emulator (concurrency, 429s, a SIGKILL mid-run).
#include "emulator_process.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace fs = std::filesystem;
using chainpp::Json;
using Result = chainpp::test::CommandResult;

namespace {

const chainpp::test::TempDir work("chainpp_batch_cli_test");

std::string path(const std::string& name) { return work.path(name); }
void write(const std::string& p, const std::string& text) { chainpp::test::write_file(p, text); }
std::string read(const std::string& p) { return chainpp::test::read_file(p); }

const std::string fake_yaml = std::string(CHAINPP_SOURCE_DIR) + "/configs/fake.yaml";
const std::string batch_yaml = std::string(CHAINPP_CLI_CONFIGS) + "/batch.yaml";

Result run(const std::vector<std::string>& args) {
  return chainpp::test::run_command(CHAINPP_CLI, args, "", "-u CHAINPP_PLUGIN_PATH");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// {"input":"<word>1"} ... one line per input.
std::string inputs(int n, const std::string& word = "word") {
  std::string text;
  for (int i = 1; i <= n; ++i) text += "{\"input\":\"" + word + std::to_string(i) + "\"}\n";
  return text;
}

std::vector<std::string> lines(const std::string& text) { return chainpp::test::split_lines(text); }

/// The output file as parsed lines; fails the test on a line that is not JSON
/// or a file that does not end with a newline.
std::vector<Json> results(const std::string& p) {
  const std::string text = read(p);
  REQUIRE((text.empty() || text.back() == '\n'));
  std::vector<Json> out;
  for (const auto& line : lines(text)) out.push_back(Json::parse(line));
  return out;
}

/// How many result lines each input line has.
std::map<std::int64_t, int> counts(const std::vector<Json>& results) {
  std::map<std::int64_t, int> c;
  for (const auto& r : results) ++c[r["line"].as_int()];
  return c;
}

/// The summary (last stderr line) with its duration masked; every line before it a progress line.
std::string summary_of(const std::string& err) {
  auto all = lines(err);
  REQUIRE_FALSE(all.empty());
  static const std::regex progress(
      R"(batch: [0-9,]+/[0-9,]+, [0-9.]+/s, [0-9,]+ tokens, \$[0-9.]+, ETA (-|[0-9]+ s|[0-9]+ min [0-9]+ s|[0-9]+ h [0-9]+ min), [0-9,]+ failed)");
  for (std::size_t i = 0; i + 1 < all.size(); ++i) {
    if (all[i].rfind("batch: stopped", 0) == 0) continue;
    INFO(all[i]);
    CHECK(std::regex_match(all[i], progress));
  }
  static const std::regex duration(", [0-9]+\\.[0-9] s$");
  return std::regex_replace(all.back(), duration, ", T s");
}

std::string ok_line(int line, const std::string& output, const std::string& usage) {
  return "{\"line\":" + std::to_string(line) + ",\"output\":\"" + output + "\",\"usage\":" + usage +
         ",\"error\":null}";
}
const std::string usage_39 = "{\"input_tokens\":31,\"output_tokens\":8,\"total_tokens\":39}";
const std::string usage_12 = "{\"input_tokens\":10,\"output_tokens\":2,\"total_tokens\":12}";
const std::string error_500 =
    "{\"type\":\"ServerError\",\"message\":\"fake: HTTP 500: The server had an error. (request id req-500)\","
    "\"status\":500,\"code\":\"InternalServerError\",\"request_id\":\"req-500\"}";
std::string failed_line(int line) {
  return "{\"line\":" + std::to_string(line) + ",\"output\":null,\"usage\":null,\"error\":" + error_500 + "}";
}

/// An azure_openai application against the emulator, every request with `fault`.
std::string emulator_config(const std::string& name, const chainpp::test::EmulatorProcess& emu,
                            const std::string& fault) {
  const std::string p = path(name);
  write(p,
        "plugins: {load: [azure_openai]}\n"
        "models:\n"
        "  m:\n"
        "    provider: azure_openai\n"
        "    azure_deployment: gpt-35-turbo\n"
        "    azure_endpoint: " + emu.base_url() + "\n"
        "    api_version: 2024-10-21\n"
        "    api_key: test-key\n"
        "    max_retries: 0\n"
        "    default_headers: {x-emulator-fault: \"" + fault + "\", x-emulator-retry-after: \"0\"}\n"
        "prompts:\n"
        "  p: {messages: [[human, \"{input}\"]]}\n"
        "pipelines:\n"
        "  p: {steps: [{prompt: p}, {model: m}, {parser: str}]}\n");
  return p;
}

/// Starts `chainpp batch args...` in the background, standard error to `err_path`.
pid_t start_batch(const std::vector<std::string>& batch_args, const std::string& err_path) {
  std::vector<std::string> args = {"env", "-u", "CHAINPP_PLUGIN_PATH", CHAINPP_CLI, "batch"};
  args.insert(args.end(), batch_args.begin(), batch_args.end());
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/usr/bin/env", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return pid;
}

/// Waits (up to 10 s) until `p` has at least `n` lines.
void wait_for_lines(const std::string& p, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && lines(read(p)).size() < n)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace

TEST_CASE("cli batch: one result line per input, progress and the summary on stderr") {
  const std::string in = path("translate.in.jsonl"), out = path("translate.out.jsonl");
  write(in,
        "{\"input_language\":\"English\",\"output_language\":\"French\",\"input\":\"I love programming.\"}\n"
        "{\"input_language\":\"English\",\"output_language\":\"French\"}\n"
        "{\"input_language\":\"English\",\"output_language\":\"French\",\"input\":\"I love programming.\"}\n");
  Result r = run({"batch", fake_yaml, "--pipeline", "translate", "--inputs", in, "--output", out, "--concurrency", "1"});
  CHECK(r.out == "");
  CHECK(summary_of(r.err) == "batch: 3 done (2 ok, 1 failed), 78 tokens, Total Cost (USD): $0.000125, T s");
  CHECK(read(out) == ok_line(1, "J'adore la programmation.", usage_39) + "\n" +
                         "{\"line\":2,\"output\":null,\"usage\":null,\"error\":{\"type\":\"InputError\",\"message\":"
                         "\"missing input 'input'\",\"status\":null,\"code\":null,\"request_id\":null}}\n" +
                         ok_line(3, "J'adore la programmation.", usage_39) + "\n");
  CHECK(r.code == 3);  // an input failed
}

TEST_CASE("cli batch: --inputs - and --output - are standard input and output") {
  Result r = chainpp::test::run_command(
      CHAINPP_CLI,
      {"batch", batch_yaml, "--pipeline", "echo", "--inputs", "-", "--output", "-", "--concurrency", "1"},
      inputs(2), "-u CHAINPP_PLUGIN_PATH");
  CHECK(r.out == ok_line(1, "word1", usage_12) + "\n" + ok_line(2, "word2", usage_12) + "\n");
  CHECK(summary_of(r.err) == "batch: 2 done (2 ok, 0 failed), 24 tokens, Total Cost (USD): $0.000038, T s");
  CHECK(r.code == 0);
}

TEST_CASE("cli batch: --output /dev/stdout into a pipe writes every line, read back never") {
  const std::string in = path("pipe.in.jsonl");
  write(in, inputs(3));
  // the shell's pipe, not a file: the output is written, never opened for reading
  Result r = chainpp::test::run_command(
      "/bin/sh",
      {"-c", chainpp::test::shell_quote(CHAINPP_CLI) + " batch " + chainpp::test::shell_quote(batch_yaml) +
                 " --pipeline echo --concurrency 1 --inputs " + chainpp::test::shell_quote(in) +
                 " --output /dev/stdout | cat"},
      "", "-u CHAINPP_PLUGIN_PATH");
  CHECK(r.out == ok_line(1, "word1", usage_12) + "\n" + ok_line(2, "word2", usage_12) + "\n" +
                     ok_line(3, "word3", usage_12) + "\n");
  CHECK(summary_of(r.err) == "batch: 3 done (3 ok, 0 failed), 36 tokens, Total Cost (USD): $0.000057, T s");
  CHECK(r.code == 0);
}

TEST_CASE("cli batch: outside a terminal, no progress line before 10 s; the summary line") {
  const std::string in = path("quiet.in.jsonl"), out = path("quiet.out.jsonl");
  write(in, inputs(20));
  Result r = run({"batch", batch_yaml, "--pipeline", "echo", "--inputs", in, "--output", out});
  REQUIRE(lines(r.err).size() == 1);  // 20 offline calls end well within 10 s
  CHECK(summary_of(r.err) == "batch: 20 done (20 ok, 0 failed), 240 tokens, Total Cost (USD): $0.000380, T s");
  CHECK(r.code == 0);
}

TEST_CASE("cli batch: --json writes the AI message of a pipeline ending with the model") {
  const std::string in = path("json.in.jsonl"), out = path("json.out.jsonl");
  write(in, "{\"input_language\":\"English\",\"output_language\":\"French\",\"input\":\"I love programming.\"}\n");
  Result r = run({"batch", fake_yaml, "--pipeline", "translate_message", "--inputs", in, "--output", out, "--json"});
  CHECK(summary_of(r.err) == "batch: 1 done (1 ok, 0 failed), 39 tokens, Total Cost (USD): $0.000063, T s");
  CHECK(r.code == 0);
  auto res = results(out);
  REQUIRE(res.size() == 1);
  CHECK(res[0]["output"]["type"].as_string() == "ai");
  CHECK(res[0]["output"]["content"].as_string() == "J'adore la programmation.");
  CHECK(res[0]["usage"].dump() == usage_39);
}

TEST_CASE("cli batch: --help and usage errors") {
  Result help = run({"batch", "--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("usage: chainpp batch CONFIG --inputs IN.jsonl --output OUT.jsonl") != std::string::npos);
  CHECK(help.out.find("--retry-failed") != std::string::npos);
  CHECK(help.out.find("--max-failures") != std::string::npos);

  Result missing = run({"batch", batch_yaml, "--pipeline", "echo", "--inputs", path("x.jsonl")});
  CHECK(missing.err == "chainpp batch: --output FILE is required (see chainpp batch --help)\n");
  CHECK(missing.code == 2);

  Result bad = run({"batch", batch_yaml, "--pipeline", "echo", "--inputs", path("x.jsonl"), "--output",
                    path("y.jsonl"), "--concurrency", "0"});
  CHECK(bad.err == "--concurrency expects an integer from 1 to 1000000, got '0'\n");
  CHECK(bad.code == 2);

  Result no_inputs = run({"batch", batch_yaml, "--pipeline", "echo", "--inputs", path("absent.jsonl"), "--output",
                          path("y.jsonl")});
  CHECK(no_inputs.err == "batch: cannot read inputs '" + path("absent.jsonl") + "'\n");
  CHECK(no_inputs.code == 2);
}

TEST_CASE("cli batch: re-running resumes after a torn last line") {
  const std::string in = path("torn.in.jsonl"), out = path("torn.out.jsonl");
  write(in, inputs(4));
  write(out, ok_line(2, "word2", usage_12) + "\n{\"line\":1,\"output\":\"wo");
  Result r = run({"batch", batch_yaml, "--pipeline", "echo", "--inputs", in, "--output", out, "--concurrency", "1"});
  CHECK(summary_of(r.err) ==
        "batch: 3 done (3 ok, 0 failed), 1 skipped, 36 tokens, Total Cost (USD): $0.000057, T s");
  CHECK(r.code == 0);
  CHECK(read(out) == ok_line(2, "word2", usage_12) + "\n" + ok_line(1, "word1", usage_12) + "\n" +
                         ok_line(3, "word3", usage_12) + "\n" + ok_line(4, "word4", usage_12) + "\n");

  Result again = run({"batch", batch_yaml, "--pipeline", "echo", "--inputs", in, "--output", out});
  CHECK(summary_of(again.err) == "batch: 0 done (0 ok, 0 failed), 4 skipped, 0 tokens, Total Cost (USD): $0.000000, T s");
  CHECK(again.code == 0);
}

TEST_CASE("cli batch: --retry-failed runs the failed inputs again, one line per input") {
  const std::string in = path("retry.in.jsonl"), out = path("retry.out.jsonl");
  write(in, inputs(4));
  const std::vector<std::string> args = {"batch",  batch_yaml, "--pipeline",    "flaky", "--inputs",
                                         in,       "--output", out,             "--concurrency", "1"};
  Result first = run(args);  // the fake answers "ok", then fails, in turn
  CHECK(summary_of(first.err) == "batch: 4 done (2 ok, 2 failed), 24 tokens, Total Cost (USD): $0.000038, T s");
  CHECK(first.code == 3);
  CHECK(read(out) == ok_line(1, "ok", usage_12) + "\n" + failed_line(2) + "\n" + ok_line(3, "ok", usage_12) + "\n" +
                         failed_line(4) + "\n");

  Result kept = run(args);
  CHECK(summary_of(kept.err) == "batch: 0 done (0 ok, 0 failed), 4 skipped, 0 tokens, Total Cost (USD): $0.000000, T s");

  auto retry = args;
  retry.push_back("--retry-failed");
  Result second = run(retry);
  CHECK(summary_of(second.err) ==
        "batch: 2 done (1 ok, 1 failed), 2 skipped, 12 tokens, Total Cost (USD): $0.000019, T s");
  CHECK(second.code == 3);
  Result third = run(retry);
  CHECK(summary_of(third.err) == "batch: 1 done (1 ok, 0 failed), 3 skipped, 12 tokens, Total Cost (USD): $0.000019, T s");
  CHECK(third.code == 0);
  CHECK(read(out) == ok_line(1, "ok", usage_12) + "\n" + ok_line(3, "ok", usage_12) + "\n" +
                         ok_line(2, "ok", usage_12) + "\n" + ok_line(4, "ok", usage_12) + "\n");
}

TEST_CASE("cli batch: --max-failures stops starting new inputs and exits 3") {
  const std::string in = path("maxfail.in.jsonl"), out = path("maxfail.out.jsonl");
  write(in, inputs(10));
  Result r = run({"batch", batch_yaml, "--pipeline", "broken", "--inputs", in, "--output", out, "--concurrency", "1",
                  "--max-failures", "2"});
  auto err = lines(r.err);
  REQUIRE(err.size() >= 2);
  CHECK(err[err.size() - 2] == "batch: stopped after 2 failures (--max-failures 2), 8 inputs not started");
  CHECK(summary_of(r.err) == "batch: 2 done (0 ok, 2 failed), 0 tokens, Total Cost (USD): $0.000000, T s");
  CHECK(read(out) == failed_line(1) + "\n" + failed_line(2) + "\n");
  CHECK(r.code == 3);
}

TEST_CASE("cli batch: --rpm bounds the request rate") {
  const std::string in = path("rpm.in.jsonl"), out = path("rpm.out.jsonl");
  write(in, inputs(11));
  const auto start = std::chrono::steady_clock::now();
  Result r = run({"batch", batch_yaml, "--pipeline", "echo", "--inputs", in, "--output", out, "--concurrency", "4",
                  "--rpm", "600"});
  const double seconds = seconds_since(start);
  CHECK(r.code == 0);
  CHECK(seconds >= 1.0);  // 10 intervals of 100 ms after the first call
  CHECK(results(out).size() == 11);
}

TEST_CASE("cli batch: --concurrency N keeps N calls in flight against the emulator") {
  chainpp::test::EmulatorProcess emu;
  const std::string config = emulator_config("slow.yaml", emu, "slow-first-byte:300");
  const std::string in = path("slow.in.jsonl"), out = path("slow.out.jsonl");
  write(in, inputs(8));
  const auto start = std::chrono::steady_clock::now();
  Result r = run({"batch", config, "--inputs", in, "--output", out, "--concurrency", "4"});
  const double seconds = seconds_since(start);
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(seconds >= 0.6);  // two rounds of 4 calls of 300 ms
  CHECK(emu.stats()["requests"].as_int() == 8);
  CHECK(emu.stats()["connections"].as_int() == 4);
  auto res = results(out);
  REQUIRE(res.size() == 8);
  for (const auto& line : res)
    CHECK(line["output"].as_string() == "This is the emulator's answer to: word" + std::to_string(line["line"].as_int()));
}

TEST_CASE("cli batch: a 429 from the emulator pauses the batch and the input is run again") {
  chainpp::test::EmulatorProcess emu;
  const std::string config = emulator_config("429.yaml", emu, "429-then-ok:2");
  const std::string in = path("429.in.jsonl"), out = path("429.out.jsonl");
  write(in, inputs(5));
  Result r = run({"batch", config, "--inputs", in, "--output", out, "--concurrency", "2"});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(emu.stats()["requests"].as_int() == 7);
  auto res = results(out);
  CHECK(res.size() == 5);
  for (const auto& [line, n] : counts(res)) CHECK(n == 1);
  for (const auto& line : res) CHECK(line["error"].is_null());
}

TEST_CASE("cli batch: SIGKILL mid-run loses no written line; the re-run completes every input once") {
  chainpp::test::EmulatorProcess emu;
  const int rate_limited = 5;  // the first 5 requests get a 429
  const std::string config =
      emulator_config("kill.yaml", emu, "slow-first-byte:40,429-then-ok:" + std::to_string(rate_limited));
  const std::string in = path("kill.in.jsonl"), out = path("kill.out.jsonl");
  const int total = 2000, concurrency = 8;
  // Every 100th input is one the content filter rejects (a 400, not retried): it fails.
  std::string text;
  for (int i = 1; i <= total; ++i)
    text += i % 100 == 0 ? "{\"input\":\"Tell me something violent.\"}\n" : "{\"input\":\"word" + std::to_string(i) + "\"}\n";
  write(in, text);

  const pid_t pid = start_batch({config, "--inputs", in, "--output", out, "--concurrency", std::to_string(concurrency)},
                                "/dev/null");
  wait_for_lines(out, 200);  // some results written, well before the end
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  const std::size_t written = lines(read(out)).size();
  INFO("lines written before the kill: " << written);
  CHECK(written >= 200);
  CHECK(written < static_cast<std::size_t>(total));
  const std::int64_t sent_before = emu.stats()["requests"].as_int();

  Result r = run({"batch", config, "--inputs", in, "--output", out, "--concurrency", std::to_string(concurrency)});
  INFO(r.err);
  CHECK(r.code == 3);  // some inputs failed
  auto res = results(out);
  REQUIRE(res.size() == static_cast<std::size_t>(total));
  auto c = counts(res);
  REQUIRE(c.size() == static_cast<std::size_t>(total));
  CHECK(c.begin()->first == 1);
  CHECK(c.rbegin()->first == total);
  for (const auto& [line, n] : c) CHECK(n == 1);
  int failed = 0;
  for (const auto& line : res) {
    const bool violent = line["line"].as_int() % 100 == 0;
    if (violent) {
      ++failed;
      CHECK(line["error"]["type"].as_string() == "ContentFilterError");
      CHECK(line["error"]["status"].as_int() == 400);
    } else {
      CHECK(line["error"].is_null());
    }
  }
  CHECK(failed == total / 100);
  // Calls lost with the process are at most those in flight at the kill.
  const std::int64_t requests = emu.stats()["requests"].as_int();
  CHECK(requests <= total + concurrency + rate_limited);
  CHECK(sent_before - static_cast<std::int64_t>(written) <= concurrency + rate_limited);
}

TEST_CASE("cli batch: Ctrl-C stops starting inputs, finishes the calls in flight and exits 130") {
  chainpp::test::EmulatorProcess emu;
  const std::string config = emulator_config("sigint.yaml", emu, "slow-first-byte:300");
  const std::string in = path("sigint.in.jsonl"), out = path("sigint.out.jsonl"), err = path("sigint.err");
  write(in, inputs(40));
  const pid_t pid = start_batch({config, "--inputs", in, "--output", out, "--concurrency", "4"}, err);
  wait_for_lines(out, 4);
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  // Every call that reached the emulator has its result line: nothing in flight was lost.
  auto res = results(out);
  CHECK(static_cast<std::int64_t>(res.size()) == emu.stats()["requests"].as_int());
  CHECK(res.size() < 40);
  const std::string text = read(err);
  INFO(text);
  CHECK(text.find("batch: interrupted, finishing the calls in flight (Ctrl-C again to quit at once)\n") !=
        std::string::npos);
  CHECK(text.find("batch: interrupted, " + std::to_string(40 - res.size()) +
                  " inputs not started (run the same command again to resume)\n") != std::string::npos);

  Result r = run({"batch", config, "--inputs", in, "--output", out, "--concurrency", "8"});
  CHECK(r.code == 0);
  CHECK(results(out).size() == 40);
  for (const auto& [line, n] : counts(results(out))) CHECK(n == 1);
}
