// `chainpp batch --azure-batch`, batch-status, batch-fetch and batch-cancel:
// the Azure OpenAI Batch API round trip against the local emulator, which runs
// each batch line through its chat-completions endpoint.
#include "emulator_process.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/json.hpp>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using chainpp::Json;
using Result = chainpp::test::CommandResult;

namespace {

const chainpp::test::TempDir work("chainpp_azure_batch_cli_test");

using chainpp::test::read_file;
using chainpp::test::write_file;
using chainpp::test::split_lines;
std::string path(const std::string& name) { return work.path(name); }

/// chainpp with the plugins of this build only.
Result run(const std::vector<std::string>& args) {
  return chainpp::test::run_command(CHAINPP_CLI, args, "", "-u CHAINPP_PLUGIN_PATH");
}

/// The last line of standard error (the summary) with its duration masked.
std::string summary_of(const std::string& err) {
  auto all = split_lines(err);
  REQUIRE_FALSE(all.empty());
  static const std::regex duration(", [0-9]+\\.[0-9] s$");
  return std::regex_replace(all.back(), duration, ", T s");
}

/// An azure_openai application against the emulator: pipeline `translate`
/// (prompt | model | str) and `message` (prompt | model).
std::string config(const std::string& name, const chainpp::test::EmulatorProcess& emu,
                   const std::string& api_version = "2024-10-21", const std::string& extra_model_keys = "") {
  const std::string p = path(name);
  write_file(p,
        "plugins: {load: [azure_openai]}\n"
        "models:\n"
        "  m:\n"
        "    provider: azure_openai\n"
        "    azure_deployment: gpt-35-turbo\n"
        "    azure_endpoint: " + emu.base_url() + "\n"
        "    api_version: " + api_version + "\n"
        "    api_key: test-key\n"
        "    temperature: 0\n" + extra_model_keys +
        "prompts:\n"
        "  translate:\n"
        "    messages:\n"
        "      - [system, \"You are a helpful assistant that translates {input_language} to {output_language}.\"]\n"
        "      - [human, \"{input}\"]\n"
        "pipelines:\n"
        "  translate: {steps: [{prompt: translate}, {model: m}, {parser: str}]}\n"
        "  message: {steps: [{prompt: translate}, {model: m}]}\n");
  return p;
}

std::string french(const std::string& input) {
  return "{\"input_language\":\"English\",\"output_language\":\"French\",\"input\":\"" + input + "\"}\n";
}

/// The request line chainpp uploads for `input` translated to French.
std::string request_line(int line, const std::string& input) {
  return "{\"custom_id\":\"line-" + std::to_string(line) +
         "\",\"method\":\"POST\",\"url\":\"/chat/completions\",\"body\":{\"model\":\"gpt-35-turbo\",\"messages\":["
         "{\"role\":\"system\",\"content\":\"You are a helpful assistant that translates English to French.\"},"
         "{\"role\":\"user\",\"content\":\"" + input + "\"}],\"temperature\":0.0}}";
}

std::string ok_line(int line, const std::string& output, int input_tokens, int output_tokens) {
  return "{\"line\":" + std::to_string(line) + ",\"output\":\"" + output + "\",\"usage\":{\"input_tokens\":" +
         std::to_string(input_tokens) + ",\"output_tokens\":" + std::to_string(output_tokens) +
         ",\"total_tokens\":" + std::to_string(input_tokens + output_tokens) + "},\"error\":null}";
}
const std::string love = "J'adore la programmation.";
std::string echo(const std::string& input) { return "This is the emulator's answer to: " + input; }

/// The request id the emulator gives line `index` of its batch number `batch`.
std::string line_request_id(int batch, int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", batch, index);
  return buf;
}
std::string batch_id(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "batch_%08x-0000-4000-8000-000000000000", n);
  return buf;
}
std::string file_id(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "file-%032x", n);
  return buf;
}

/// Runs batch-status until its output contains `text` (at most 20 s); the last output.
std::string wait_for_status(const std::string& config_path, const std::string& id, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    out = run({"batch-status", config_path, id, "--pipeline", "translate"}).out;
    if (out.find(text) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return out;
}

}  // namespace

TEST_CASE("azure batch: a round trip writes the local batch's result lines, mapped back by custom_id") {
  chainpp::test::EmulatorProcess emu;
  const std::string cfg = config("roundtrip.yaml", emu);
  const std::string in = path("roundtrip.in.jsonl"), out = path("roundtrip.out.jsonl");
  write_file(in, french("I love programming.") + "{\"input_language\":\"English\",\"output_language\":\"French\"}\n\n" +
                french("Good morning") + french("I love programming."));
  Result r = run({"batch", cfg, "--pipeline", "translate", "--inputs", in, "--output", out, "--azure-batch",
                  "--poll", "0.05"});
  INFO(r.err);
  CHECK(r.out == "");
  CHECK(r.code == 3);  // line 2 failed before any call
  const auto err = split_lines(r.err);
  REQUIRE(err.size() >= 3);
  CHECK(err.front() == "batch: submitted " + batch_id(1) + " (3 requests)");
  CHECK(err[err.size() - 2] == "batch: " + batch_id(1) + ": completed, 3/3 done, 3 completed, 0 failed");
  CHECK(summary_of(r.err) == "batch: 4 done (3 ok, 1 failed), 109 tokens, Total Cost (USD): $0.000176, T s");
  // The line that cannot be rendered is written at submission, the batch's results after it, in line order.
  CHECK(read_file(out) ==
        "{\"line\":2,\"output\":null,\"usage\":null,\"error\":{\"type\":\"InputError\",\"message\":"
        "\"missing input 'input'\",\"status\":null,\"code\":null,\"request_id\":null}}\n" +
            ok_line(1, love, 31, 8) + "\n" + ok_line(4, echo("Good morning"), 23, 8) + "\n" + ok_line(5, love, 31, 8) +
            "\n");

  // The uploaded file, exactly; then the output file the emulator wrote.
  const Json files = emu.files();
  REQUIRE(files.size() == 2);
  CHECK(files[0]["id"].as_string() == file_id(1));
  CHECK(files[0]["filename"].as_string() == "chainpp-batch.jsonl");
  CHECK(files[0]["purpose"].as_string() == "batch");
  CHECK(files[0]["content"].as_string() == request_line(1, "I love programming.") + "\n" +
                                                request_line(4, "Good morning") + "\n" +
                                                request_line(5, "I love programming.") + "\n");
  CHECK(files[1]["filename"].as_string() == batch_id(1) + "_output.jsonl");
  const auto output_lines = split_lines(files[1]["content"].as_string());
  REQUIRE(output_lines.size() == 3);
  const Json first = Json::parse(output_lines[0]);
  CHECK(first["custom_id"].as_string() == "line-1");
  CHECK(first["response"]["status_code"].as_int() == 200);
  CHECK(first["response"]["request_id"].as_string() == line_request_id(1, 1));
  CHECK(first["response"]["body"]["choices"][0]["message"]["content"].as_string() == love);
  CHECK(first["error"].is_null());

  // The API calls: upload, create, then status and file downloads, each with the key and api-version.
  const Json requests = emu.requests();
  REQUIRE(requests.size() >= 5);
  CHECK(requests[0]["method"].as_string() == "POST");
  CHECK(requests[0]["uri"].as_string() == "/openai/files?api-version=2024-10-21");
  CHECK(requests[0]["headers"]["api-key"].as_string() == "test-key");
  CHECK(requests[0]["headers"]["Content-Type"].as_string().rfind("multipart/form-data; boundary=", 0) == 0);
  CHECK(requests[1]["method"].as_string() == "POST");
  CHECK(requests[1]["uri"].as_string() == "/openai/batches?api-version=2024-10-21");
  CHECK(requests[1]["body"].dump() == "{\"input_file_id\":\"" + file_id(1) +
                                          "\",\"endpoint\":\"/chat/completions\",\"completion_window\":\"24h\"}");
  CHECK(requests[2]["method"].as_string() == "GET");
  CHECK(requests[2]["uri"].as_string() == "/openai/batches/" + batch_id(1) + "?api-version=2024-10-21");
  const Json& last = requests[requests.size() - 1];
  CHECK(last["uri"].as_string() == "/openai/files/" + file_id(2) + "/content?api-version=2024-10-21");
  CHECK(emu.stats()["requests"].as_int() == static_cast<std::int64_t>(requests.size()));  // lines not counted

  // Running it again finds every input done.
  Result again = run({"batch", cfg, "--pipeline", "translate", "--inputs", in, "--output", out, "--azure-batch"});
  CHECK(summary_of(again.err) == "batch: 0 done (0 ok, 0 failed), 4 skipped, 0 tokens, Total Cost (USD): $0.000000, T s");
  CHECK(again.code == 0);
  CHECK(emu.files().size() == 2);  // nothing uploaded
}

TEST_CASE("azure batch: failed lines become the errors a direct call raises") {
  chainpp::test::EmulatorProcess emu;
  const std::string cfg = config("failed.yaml", emu);
  const std::string in = path("failed.in.jsonl"), out = path("failed.out.jsonl");
  write_file(in, french("I love programming.") + french("Fail [emulator-fault: 500]") +
                french("Tell me something violent.") + french("Busy [emulator-fault: 429]"));
  Result r = run({"batch", cfg, "--inputs", in, "--output", out, "--pipeline", "translate", "--azure-batch",
                  "--poll", "0.05"});
  INFO(r.err);
  CHECK(r.code == 3);
  const auto err = split_lines(r.err);
  REQUIRE(err.size() >= 2);
  CHECK(err[err.size() - 2] == "batch: " + batch_id(1) + ": completed, 4/4 done, 1 completed, 3 failed");
  CHECK(summary_of(r.err) == "batch: 4 done (1 ok, 3 failed), 39 tokens, Total Cost (USD): $0.000063, T s");
  const auto got = split_lines(read_file(out));
  REQUIRE(got.size() == 4);
  CHECK(got[0] == ok_line(1, love, 31, 8));
  // A failed request of batch 1, line `line`: its error with the emulator's request id.
  auto failed_line = [](int line, const std::string& type, const std::string& message, int status,
                        const std::string& code) {
    const std::string id = line_request_id(1, line);
    return "{\"line\":" + std::to_string(line) + ",\"output\":null,\"usage\":null,\"error\":{\"type\":\"" + type +
           "\",\"message\":\"azure_openai: " + message + " (request id " + id + ", 1 attempt)\",\"status\":" +
           std::to_string(status) + ",\"code\":\"" + code + "\",\"request_id\":\"" + id + "\"}}";
  };
  CHECK(got[1] == failed_line(2, "ServerError",
                              "HTTP 500 InternalServerError: The server had an error while processing your request. "
                              "Sorry about that!",
                              500, "InternalServerError"));
  CHECK(got[2] == failed_line(3, "ContentFilterError",
                              "HTTP 400 content_filter: The response was filtered due to the prompt triggering Azure "
                              "OpenAI's content management policy. Please modify your prompt and retry. To learn more "
                              "about our content filtering policies please read our documentation: "
                              "https://go.microsoft.com/fwlink/?linkid=2198766 (triggered: violence (medium))",
                              400, "content_filter"));
  CHECK(got[3] == failed_line(4, "RateLimitError",
                              "HTTP 429: Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                              "version 2024-10-21 have exceeded token rate limit of your current AIServices S0 pricing "
                              "tier. Please retry after 1 second. Please contact Azure support service if you would "
                              "like to further increase the default rate limit.",
                              429, "429"));
  // The failed lines are in the batch's error file, in Azure's format.
  const Json files = emu.files();
  REQUIRE(files.size() == 3);
  CHECK(files[2]["filename"].as_string() == batch_id(1) + "_error.jsonl");
  const Json failed = Json::parse(split_lines(files[2]["content"].as_string()).at(0));
  CHECK(failed["custom_id"].as_string() == "line-2");
  CHECK(failed["response"].dump() ==
        "{\"status_code\":500,\"request_id\":\"" + line_request_id(1, 2) +
            "\",\"body\":{\"error\":{\"code\":\"InternalServerError\",\"message\":\"The server had an error while "
            "processing your request. Sorry about that!\"}}}");
  CHECK(failed["error"].is_null());

  // --retry-failed submits the failed inputs again, in a new batch.
  Result retry = run({"batch", cfg, "--inputs", in, "--output", out, "--pipeline", "translate", "--azure-batch",
                      "--poll", "0.05", "--retry-failed"});
  CHECK(split_lines(retry.err).front() == "batch: submitted " + batch_id(2) + " (3 requests)");
  CHECK(summary_of(retry.err) == "batch: 3 done (0 ok, 3 failed), 1 skipped, 0 tokens, Total Cost (USD): $0.000000, T s");
  CHECK(split_lines(read_file(out)).size() == 4);
}

TEST_CASE("azure batch: --detach, then batch-status and batch-fetch") {
  chainpp::test::EmulatorProcess emu;
  const std::string cfg = config("detach.yaml", emu);
  const std::string in = path("detach.in.jsonl"), out = path("detach.out.jsonl");
  write_file(in, french("I love programming.") + french("Good morning"));
  Result submitted = run({"batch", cfg, "--pipeline", "translate", "--inputs", in, "--output", out, "--azure-batch",
                          "--detach"});
  INFO(submitted.err);
  CHECK(submitted.code == 0);
  const std::string id = batch_id(1);
  CHECK(submitted.out == id + "\n");
  CHECK(submitted.err == "batch: submitted " + id + " (2 requests)\nbatch: continue with: chainpp batch-fetch " + cfg +
                             " " + id + " --output " + out + " --pipeline translate\n");
  CHECK(read_file(out) == "");

  Result status = run({"batch-status", cfg, id, "--pipeline", "translate"});
  CHECK(status.code == 0);
  static const std::regex any_status(
      "batch_[0-9a-f-]+: (validating|in_progress|finalizing|completed), [0-2]/(0|2) done, [0-2] completed, 0 failed\n");
  CHECK(std::regex_match(status.out, any_status));

  Result fetched = run({"batch-fetch", cfg, id, "--output", out, "--poll", "0.05", "--pipeline", "translate"});
  INFO(fetched.err);
  CHECK(fetched.code == 0);
  CHECK(summary_of(fetched.err) == "batch: 2 done (2 ok, 0 failed), 70 tokens, Total Cost (USD): $0.000113, T s");
  CHECK(read_file(out) == ok_line(1, love, 31, 8) + "\n" + ok_line(2, echo("Good morning"), 23, 8) + "\n");

  Result done = run({"batch-status", cfg, id, "--pipeline", "translate"});
  CHECK(done.out == id + ": completed, 2/2 done, 2 completed, 0 failed\n");
  Result again = run({"batch-fetch", cfg, id, "--output", out, "--pipeline", "translate"});
  CHECK(summary_of(again.err) == "batch: 0 done (0 ok, 0 failed), 2 skipped, 0 tokens, Total Cost (USD): $0.000000, T s");
  CHECK(read_file(out) == ok_line(1, love, 31, 8) + "\n" + ok_line(2, echo("Good morning"), 23, 8) + "\n");

  Result unknown = run({"batch-status", cfg, "batch_nope", "--pipeline", "translate"});
  CHECK(unknown.code == 3);
  char request_id[64];  // the emulator's id of its latest API request
  std::snprintf(request_id, sizeof request_id, "00000000-0000-4000-8000-%012lx",
                static_cast<long>(emu.stats()["requests"].as_int()));
  CHECK(unknown.err == "azure_openai: HTTP 404: Batch not found: batch_nope (request id " + std::string(request_id) +
                       ", 1 attempt) Check the batch id 'batch_nope' (the one batch --azure-batch printed).\n");
  Result cancel_unknown = run({"batch-cancel", cfg, "batch_nope", "--pipeline", "translate"});
  CHECK(cancel_unknown.code == 3);
  CHECK(cancel_unknown.err.find("Check the deployment name") == std::string::npos);
  CHECK(cancel_unknown.err.find(" Check the batch id 'batch_nope' (the one batch --azure-batch printed).\n") !=
        std::string::npos);
}

TEST_CASE("azure batch: --json writes each answer as its AI message") {
  chainpp::test::EmulatorProcess emu;
  const std::string cfg = config("json.yaml", emu);
  const std::string in = path("json.in.jsonl"), out = path("json.out.jsonl");
  write_file(in, french("I love programming."));
  Result r = run({"batch", cfg, "--pipeline", "message", "--inputs", in, "--output", out, "--azure-batch", "--json",
                  "--poll", "0.05"});
  INFO(r.err);
  CHECK(r.code == 0);
  const Json line = Json::parse(read_file(out));
  CHECK(line["line"].as_int() == 1);
  CHECK(line["output"]["type"].as_string() == "ai");
  CHECK(line["output"]["content"].as_string() == love);
  CHECK(line["output"]["response_metadata"]["model_name"].as_string() == "gpt-35-turbo");
  CHECK(line["output"]["response_metadata"]["finish_reason"].as_string() == "stop");
  CHECK(line["output"]["usage_metadata"].dump() == "{\"input_tokens\":31,\"output_tokens\":8,\"total_tokens\":39}");
  CHECK(line["usage"].dump() == "{\"input_tokens\":31,\"output_tokens\":8,\"total_tokens\":39}");
  CHECK(line["error"].is_null());
}

TEST_CASE("azure batch: a cancelled batch keeps the results of the requests it ran") {
  chainpp::test::EmulatorProcess emu;
  const std::string cfg = config("cancel.yaml", emu);
  const std::string in = path("cancel.in.jsonl"), out = path("cancel.out.jsonl");
  // Line 2 takes 3 s: the batch is cancelled while it runs.
  write_file(in, french("I love programming.") + french("Slow [emulator-fault: slow-first-byte:3000]") +
                french("Good morning") + french("I love programming."));
  Result submitted = run({"batch", cfg, "--pipeline", "translate", "--inputs", in, "--output", out, "--azure-batch",
                          "--detach"});
  REQUIRE(submitted.code == 0);
  const std::string id = batch_id(1);
  REQUIRE(wait_for_status(cfg, id, "1/4 done") == id + ": in_progress, 1/4 done, 1 completed, 0 failed\n");

  Result cancel = run({"batch-cancel", cfg, id, "--pipeline", "translate"});
  INFO(cancel.err);
  CHECK(cancel.code == 0);
  CHECK(cancel.out == id + ": cancelling, 1/4 done, 1 completed, 0 failed\n");

  Result fetched = run({"batch-fetch", cfg, id, "--output", out, "--poll", "0.05", "--pipeline", "translate"});
  INFO(fetched.err);
  CHECK(fetched.code == 3);  // two requests never ran
  auto err = split_lines(fetched.err);
  REQUIRE(err.size() >= 3);
  CHECK(err[err.size() - 3] == "batch: " + id + ": cancelled, 2/4 done, 2 completed, 0 failed");
  CHECK(err[err.size() - 2] == "batch: " + id +
                                   " ended cancelled with 2 requests not run (run the batch command again to submit "
                                   "them in a new batch)");
  CHECK(summary_of(fetched.err) == "batch: 2 done (2 ok, 0 failed), 72 tokens, Total Cost (USD): $0.000117, T s");
  CHECK(read_file(out) == ok_line(1, love, 31, 8) + "\n" +
                         ok_line(2, echo("Slow [emulator-fault: slow-first-byte:3000]"), 24, 9) + "\n");
  CHECK(run({"batch-status", cfg, id, "--pipeline", "translate"}).out == id + ": cancelled, 2/4 done, 2 completed, 0 failed\n");
  Result too_late = run({"batch-cancel", cfg, id, "--pipeline", "translate"});
  CHECK(too_late.code == 0);
  CHECK(too_late.out == id + ": cancelled, 2/4 done, 2 completed, 0 failed\n");
  CHECK(too_late.err == "batch-cancel: " + id + " has already ended (cancelled): nothing to cancel\n");
  std::size_t cancels = 0;  // the ended batch was not asked to cancel (its 409 would be retried)
  const Json requests = emu.requests();
  for (std::size_t i = 0; i < requests.size(); ++i)
    cancels += requests[i]["uri"].as_string().find("/cancel") != std::string::npos;
  CHECK(cancels == 1);

  // The same command again submits the two inputs without a result.
  Result rest = run({"batch", cfg, "--pipeline", "translate", "--inputs", in, "--output", out, "--azure-batch",
                     "--poll", "0.05"});
  INFO(rest.err);
  CHECK(rest.code == 0);
  CHECK(split_lines(rest.err).front() == "batch: submitted " + batch_id(2) + " (2 requests)");
  CHECK(summary_of(rest.err) == "batch: 2 done (2 ok, 0 failed), 2 skipped, 70 tokens, Total Cost (USD): $0.000113, T s");
  const Json files = emu.files();
  REQUIRE(files.size() == 4);  // input and output of batch 1, input of batch 2, its output
  CHECK(files[2]["content"].as_string() ==
        request_line(3, "Good morning") + "\n" + request_line(4, "I love programming.") + "\n");
  CHECK(read_file(out) == ok_line(1, love, 31, 8) + "\n" +
                         ok_line(2, echo("Slow [emulator-fault: slow-first-byte:3000]"), 24, 9) + "\n" +
                         ok_line(3, echo("Good morning"), 23, 8) + "\n" + ok_line(4, love, 31, 8) + "\n");
}

TEST_CASE("azure batch: errors before any batch") {
  chainpp::test::EmulatorProcess emu;
  const std::string in = path("errors.in.jsonl"), out = path("errors.out.jsonl");
  write_file(in, french("I love programming."));
  const std::string fake_yaml = std::string(CHAINPP_SOURCE_DIR) + "/configs/fake.yaml";

  Result fake = run({"batch", fake_yaml, "--pipeline", "translate", "--inputs", in, "--output", out, "--azure-batch"});
  CHECK(fake.err == "chainpp batch: pipeline 'translate' uses a 'fake' model; the Azure Batch API needs an "
                    "azure_openai model\n");
  CHECK(fake.code == 2);
  Result fake_status = run({"batch-status", fake_yaml, "batch_x", "--pipeline", "translate"});
  CHECK(fake_status.err == "chainpp batch-status: pipeline 'translate' uses a 'fake' model; the Azure Batch API "
                           "needs an azure_openai model\n");
  CHECK(fake_status.code == 2);

  const std::string old = config("old.yaml", emu, "2024-02-01");
  Result old_version = run({"batch", old, "--pipeline", "translate", "--inputs", in, "--output", out, "--azure-batch"});
  CHECK(old_version.err == "azure_openai: the Batch API needs api_version 2024-10-21 or later; model 'gpt-35-turbo' "
                           "has 2024-02-01\n");
  CHECK(old_version.code == 2);

  const std::string cfg = config("errors.yaml", emu);
  Result local_only = run({"batch", cfg, "--pipeline", "translate", "--inputs", in, "--output", out, "--azure-batch",
                           "--concurrency", "4"});
  CHECK(local_only.err == "chainpp batch: --concurrency does not apply to --azure-batch\n");
  CHECK(local_only.code == 2);
  Result detach = run({"batch", cfg, "--pipeline", "translate", "--inputs", in, "--output", out, "--detach"});
  CHECK(detach.err == "chainpp batch: --detach needs --azure-batch\n");
  CHECK(detach.code == 2);
  Result no_id = run({"batch-fetch", cfg, "--output", out, "--pipeline", "translate"});
  CHECK(no_id.err == "chainpp batch-fetch: expected CONFIG and a batch ID (see chainpp batch-fetch --help)\n");
  CHECK(no_id.code == 2);
  CHECK(emu.stats()["requests"].as_int() == 0);
  CHECK(read_file(out) == "");
}
