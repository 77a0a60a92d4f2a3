// `chainpp chat` without a configuration file: the model from the environment
// (AZURE_OPENAI_ENDPOINT against the loopback emulator, OPENAI_API_KEY with
// OPENAI_BASE_URL at the emulator's /openai/v1), where a configuration is
// looked for, -m naming a deployment, and the per-call settings of the
// command line, asserted on the exact requests the emulator received.
#include "emulator_process.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <iterator>
#include <string>
#include <vector>

using chainpp::Json;
using Result = chainpp::test::CommandResult;
using chainpp::test::write_file;

namespace {

const chainpp::test::TempDir work("chainpp_zero_config_cli_test");

/// The environment of every run: this build's plugins, no configuration or
/// credential of the user's, HOME an empty directory, `cwd` as the working
/// directory; then `env`.
Result run(const std::vector<std::string>& args, const std::string& env = "", const std::string& input = "",
           const std::string& cwd = "") {
  const std::string dir = cwd.empty() ? work.path("cwd") : cwd;
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(work.path("home"));
  return chainpp::test::run_command(
      CHAINPP_CLI, args, input,
      "-C " + chainpp::test::shell_quote(dir) +
          " -u CHAINPP_PLUGIN_PATH -u CHAINPP_CONFIG -u XDG_CONFIG_HOME -u AZURE_OPENAI_ENDPOINT"
          " -u AZURE_OPENAI_API_KEY -u AZURE_OPENAI_AD_TOKEN -u AZURE_OPENAI_DEPLOYMENT -u OPENAI_API_VERSION"
          " -u OPENAI_API_KEY -u OPENAI_BASE_URL -u OPENAI_MODEL HOME=" +
          chainpp::test::shell_quote(work.path("home")) + " " + env);
}

std::string azure_env(const chainpp::test::EmulatorProcess& emu) {
  return "AZURE_OPENAI_ENDPOINT=" + emu.base_url() + " AZURE_OPENAI_API_KEY=test-key";
}

/// A fake-provider configuration whose one model `m` answers `answer`.
std::string fake_config(const std::string& path, const std::string& answer) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_file(path, "plugins: {load: [fake]}\nmodels:\n  m: {provider: fake, responses: [\"" + answer + "\"]}\n");
  return path;
}

std::string echo(const std::string& input) { return "This is the emulator's answer to: " + input + "\n"; }

}  // namespace

TEST_CASE("zero config: AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY make -m the deployment") {
  chainpp::test::EmulatorProcess emu;
  Result r = run({"chat", "-m", "gpt-4o", "Tell me a joke"}, azure_env(emu));
  CHECK(r.err == "");
  CHECK(r.out == echo("Tell me a joke"));
  CHECK(r.code == 0);
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0]["uri"].as_string() == "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
  CHECK(requests[0]["headers"]["api-key"].as_string() == "test-key");
  CHECK(requests[0]["body"].dump() == R"({"messages":[{"role":"user","content":"Tell me a joke"}]})");
}

TEST_CASE("zero config: OPENAI_API_VERSION chooses the api-version; the words of MESSAGE are one message") {
  chainpp::test::EmulatorProcess emu;
  Result r = run({"chat", "-m", "gpt-4o-mini", "Tell", "me", "a", "joke"},
                 azure_env(emu) + " OPENAI_API_VERSION=2024-06-01");
  CHECK(r.err == "");
  CHECK(r.out == echo("Tell me a joke"));
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0]["uri"].as_string() ==
        "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-06-01");
}

TEST_CASE("zero config: OPENAI_API_KEY and OPENAI_BASE_URL make an openai model") {
  chainpp::test::EmulatorProcess emu;
  Result r = run({"chat", "-m", "gpt-4o", "hello"},
                 "OPENAI_API_KEY=test-key OPENAI_BASE_URL=" + emu.base_url() + "/openai/v1");
  CHECK(r.err == "");
  CHECK(r.out == echo("hello"));
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0]["uri"].as_string() == "/openai/v1/chat/completions");
  CHECK(requests[0]["headers"]["Authorization"].as_string() == "Bearer test-key");
  CHECK(requests[0]["body"].dump() == R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]})");
}

TEST_CASE("zero config: neither a configuration nor a provider in the environment") {
  Result r = run({"chat", "-m", "gpt-4o", "hi"});
  CHECK(r.out == "");
  CHECK(r.err ==
        "chainpp chat: no configuration and no provider in the environment: pass CONFIG or --config FILE, set "
        "CHAINPP_CONFIG, or create ./chainpp.yaml or $XDG_CONFIG_HOME/chainpp/config.yaml, or set "
        "AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY, or OPENAI_API_KEY\n");
  CHECK(r.code == 2);
}

TEST_CASE("zero config: an Azure endpoint without -m asks for the deployment") {
  chainpp::test::EmulatorProcess emu;
  Result r = run({"chat", "hi"}, azure_env(emu));
  CHECK(r.err == "chainpp chat: name the deployment with -m NAME (or set AZURE_OPENAI_DEPLOYMENT)\n");
  CHECK(r.code == 2);
  CHECK(emu.requests().size() == 0);
}

TEST_CASE("config search: --config, then CHAINPP_CONFIG, then ./chainpp.yaml, then XDG_CONFIG_HOME") {
  const std::string cwd = work.path("search");
  const std::string flag = fake_config(work.path("flag/app.yaml"), "from --config");
  const std::string env = fake_config(work.path("env/app.yaml"), "from CHAINPP_CONFIG");
  fake_config(cwd + "/chainpp.yaml", "from ./chainpp.yaml");
  fake_config(work.path("xdg/chainpp/config.yaml"), "from XDG_CONFIG_HOME");
  const std::string all = "CHAINPP_CONFIG=" + env + " XDG_CONFIG_HOME=" + work.path("xdg");
  CHECK(run({"chat", "--config", flag, "hi"}, all, "", cwd).out == "from --config\n");
  CHECK(run({"chat", "hi"}, all, "", cwd).out == "from CHAINPP_CONFIG\n");
  CHECK(run({"chat", "hi"}, "XDG_CONFIG_HOME=" + work.path("xdg"), "", cwd).out == "from ./chainpp.yaml\n");
  CHECK(run({"chat", "hi"}, "XDG_CONFIG_HOME=" + work.path("xdg")).out == "from XDG_CONFIG_HOME\n");
  // HOME/.config when XDG_CONFIG_HOME is unset
  fake_config(work.path("home/.config/chainpp/config.yaml"), "from ~/.config");
  CHECK(run({"chat", "hi"}).out == "from ~/.config\n");
  std::filesystem::remove(work.path("home/.config/chainpp/config.yaml"));
  // run and validate look for it the same way
  Result v = run({"validate"}, "CHAINPP_CONFIG=" + env);
  CHECK(v.out == env + ": valid\n  models: m\n  prompts: \n  pipelines: \n");
  CHECK(v.code == 0);
  Result missing = run({"chat", "hi"}, "CHAINPP_CONFIG=" + work.path("nowhere.yaml"));
  CHECK(missing.err == "CHAINPP_CONFIG names no file: " + work.path("nowhere.yaml") + "\n");
  CHECK(missing.code == 2);
  Result none = run({"validate"});
  CHECK(none.err ==
        "chainpp validate: no configuration: pass CONFIG or --config FILE, set CHAINPP_CONFIG, or create "
        "./chainpp.yaml or $XDG_CONFIG_HOME/chainpp/config.yaml (see chainpp validate --help)\n");
  CHECK(none.code == 2);
}

TEST_CASE("config: -m names a configured model, or else a deployment of its azure_openai model") {
  chainpp::test::EmulatorProcess emu;
  const std::string cfg = work.path("azure.yaml");
  write_file(cfg,
             "plugins: {load: [azure_openai, fake]}\n"
             "models:\n"
             "  parrot: {provider: fake, echo: true}\n"
             "  m: {provider: azure_openai, azure_deployment: gpt-35-turbo, api_version: 2024-10-21,\n"
             "      api_key: test-key, temperature: 0, azure_endpoint: \"" + emu.base_url() + "\"}\n");
  CHECK(run({"chat", "--config", cfg, "-m", "parrot", "hi"}).out == "hi\n");
  CHECK(run({"chat", "--config", cfg, "-m", "m", "hi"}).out == echo("hi"));
  Result r = run({"chat", "--config", cfg, "-m", "gpt-4o", "hi"});
  CHECK(r.err == "");
  CHECK(r.out == echo("hi"));
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0]["uri"].as_string() == "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-10-21");
  CHECK(requests[1]["uri"].as_string() == "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
  CHECK(requests[1]["body"].dump() == R"({"messages":[{"role":"user","content":"hi"}],"temperature":0.0})");
}

TEST_CASE("overrides: --temperature, --max-tokens, -s and -o reach the request") {
  chainpp::test::EmulatorProcess emu;
  Result r = run({"chat", "-m", "gpt-4o", "--temperature", "0.5", "--max-tokens", "20", "-o", "seed=7", "-o",
                  "stop=[END]", "-s", "Be brief.", "hi"},
                 azure_env(emu));
  CHECK(r.err == "");
  CHECK(r.out == echo("hi"));
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0]["body"].dump() ==
        R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],)"
        R"("temperature":0.5,"stop":["END"],"max_tokens":20,"seed":7})");
}

TEST_CASE("overrides: checked like the settings of a file, located at their flag") {
  chainpp::test::EmulatorProcess emu;
  const auto err = [&](const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"chat", "-m", "gpt-4o"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("hi");
    Result r = run(args, azure_env(emu));
    CHECK(r.code == 2);
    return r.err;
  };
  CHECK(err({"-o", "temperature=3"}) == "-o temperature=3: 'temperature' must be between 0 and 2\n");
  CHECK(err({"--temperature", "warm"}) == "--temperature: models.gpt-4o.temperature must be a number\n");
  CHECK(err({"--max-tokens", "0"}) == "--max-tokens: 'max_tokens' must be between 1 and 2147483647\n");
  CHECK(err({"-o", "temperature"}) == "-o expects KEY=VALUE, got 'temperature'\n");
  CHECK(err({"-o", "max_retriez=2"}).rfind("-o max_retriez=2: unknown key 'max_retriez' in models.gpt-4o (did you "
                                           "mean 'max_retries'?)",
                                           0) == 0);
  CHECK(emu.requests().size() == 0);
}

TEST_CASE("errors: a provider error names the provider, endpoint host, deployment and api-version, never the key") {
  chainpp::test::EmulatorProcess emu;
  Result missing = run({"chat", "-m", "no-such-deployment", "hi"}, azure_env(emu));
  CHECK(missing.code == 3);
  CHECK(missing.err.rfind("azure_openai: HTTP 404 DeploymentNotFound: ", 0) == 0);
  CHECK(missing.err.find(" [calling azure_openai at " + emu.base_url().substr(7) +
                         ", deployment no-such-deployment, api-version 2024-10-21]\n") != std::string::npos);
  Result denied = run({"chat", "-m", "gpt-4o", "hi"},
                      "AZURE_OPENAI_ENDPOINT=" + emu.base_url() + " AZURE_OPENAI_API_KEY=secret-key-123");
  CHECK(denied.code == 3);
  CHECK(denied.err.find(" [calling azure_openai at " + emu.base_url().substr(7) +
                        ", deployment gpt-4o, api-version 2024-10-21]\n") != std::string::npos);
  CHECK(denied.err.find("secret-key-123") == std::string::npos);
  Result openai = run({"chat", "-m", "gpt-4o", "hi"},
                      "OPENAI_API_KEY=wrong-key OPENAI_BASE_URL=" + emu.base_url() + "/openai/v1");
  CHECK(openai.code == 3);
  CHECK(openai.err.find(" [calling openai at " + emu.base_url().substr(7) + ", model gpt-4o]\n") != std::string::npos);
  CHECK(openai.err.find("wrong-key") == std::string::npos);
}

TEST_CASE("errors: run and batch name what was called too, chat completions and Responses") {
  chainpp::test::EmulatorProcess emu;
  const std::string host = emu.base_url().substr(7);
  const auto config = [&](const std::string& name, const std::string& extra) {
    const std::string path = work.path("called/" + name + ".yaml");
    std::filesystem::create_directories(work.path("called"));
    write_file(path, "plugins: {load: [azure_openai]}\nmodels:\n  m:\n    provider: azure_openai\n"
                     "    azure_endpoint: " + emu.base_url() + "\n    api_key: test-key\n"
                     "    azure_deployment: no-such-deployment\n    api_version: 2024-10-21\n" + extra +
                     "prompts:\n  p: {messages: [[human, \"{q}\"]]}\n"
                     "pipelines:\n  ask: {steps: [{prompt: p}, {model: m}, {parser: str}]}\n");
    return path;
  };
  const std::string chat = config("chat", "");
  Result run_error = run({"run", chat, "--input", "q=hi"});
  CHECK(run_error.code == 3);
  CHECK(run_error.err.rfind("azure_openai: HTTP 404 DeploymentNotFound: ", 0) == 0);
  CHECK(run_error.err.find(" Check the deployment name, the endpoint and the api-version. [calling azure_openai at " +
                           host + ", deployment no-such-deployment, api-version 2024-10-21]\n") != std::string::npos);
  Result streamed = run({"run", chat, "--stream", "--input", "q=hi"});
  CHECK(streamed.code == 3);
  CHECK(streamed.err.find(" [calling azure_openai at " + host +
                          ", deployment no-such-deployment, api-version 2024-10-21]\n") != std::string::npos);

  Result responses = run({"run", config("responses", "    use_responses_api: true\n"), "--input", "q=hi"});
  CHECK(responses.code == 3);
  CHECK(responses.err.find(" [calling azure_openai at " + host +
                           ", deployment no-such-deployment, Responses API]\n") != std::string::npos);

  const std::string inputs = work.path("called/in.jsonl"), output = work.path("called/out.jsonl");
  write_file(inputs, "{\"q\":\"hi\"}\n");
  std::filesystem::remove(output);
  Result batch = run({"batch", chat, "--inputs", inputs, "--output", output});
  CHECK(batch.code == 3);
  std::ifstream in(output);
  std::string line;
  REQUIRE(std::getline(in, line));
  const Json result = Json::parse(line);
  const std::string message = result["error"]["message"].as_string();
  CHECK(message.rfind("azure_openai: HTTP 404 DeploymentNotFound: ", 0) == 0);
  CHECK(message.size() > 80);
  CHECK(message.substr(message.find(" [calling ")) ==
        " [calling azure_openai at " + host + ", deployment no-such-deployment, api-version 2024-10-21]");
  CHECK(result["error"]["status"].as_int() == 404);
  for (const Result* r : {&run_error, &streamed, &responses, &batch}) CHECK(r->err.find("test-key") == std::string::npos);
}

TEST_CASE("seed: the translation chain with use_responses_api: true, one YAML line, goes to /openai/v1/responses") {
  chainpp::test::EmulatorProcess emu;
  // configs/azure.yaml with the one line the README gives, beside the bundled prices.
  std::ifstream in(std::string(CHAINPP_SOURCE_DIR) + "/configs/azure.yaml");
  std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string line = "    stream_usage: true";
  const auto at = yaml.find(line);
  REQUIRE(at != std::string::npos);
  yaml.insert(yaml.find('\n', at) + 1, "    use_responses_api: true\n");
  const std::string cfg = work.path("seed/azure.yaml");
  std::filesystem::create_directories(work.path("seed"));
  write_file(cfg, yaml);
  for (const bool streamed : {true, false}) {
    std::vector<std::string> args{"run", cfg, "--pipeline", "translate", "--usage", "--input", "input_language=English",
                                  "--input", "output_language=German", "--input", "input=I love programming."};
    if (streamed) args.push_back("--stream");
    Result r = run(args, azure_env(emu));
    CHECK(r.err == "");
    CHECK(r.out ==
          "Ich liebe das Programmieren.\nTokens Used: 32\n\tPrompt Tokens: 26\n\tCompletion Tokens: 6\n"
          "Successful Requests: 1\nTotal Cost (USD): $0.000051\n");
    CHECK(r.code == 0);
  }
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0]["uri"].as_string() == "/openai/v1/responses");
  CHECK(requests[0]["body"].dump() ==
        R"({"model":"gpt-35-turbo","input":[{"type":"message","role":"system","content":"You are a helpful )"
        R"(assistant that translates English to German."},{"type":"message","role":"user","content":"I love )"
        R"(programming."}],"temperature":0.0,"stream":true})");
  CHECK(requests[1]["uri"].as_string() == "/openai/v1/responses");
}

TEST_CASE("verbose: -v prints each HTTP call's method, URL, status, attempts and time, never a secret") {
  chainpp::test::EmulatorProcess emu;
  const auto shape = [](std::string err) {  // the time varies: "N ms" -> "_ ms"
    const std::regex ms("[0-9]+ ms");
    return std::regex_replace(err, ms, "_ ms");
  };
  Result ok = run({"chat", "-v", "-m", "gpt-4o", "hi"}, azure_env(emu));
  CHECK(ok.out == echo("hi"));
  CHECK(shape(ok.err) == "chainpp: POST " + emu.base_url() +
                             "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 -> 200, 1 attempt, _ ms\n");
  Result retried = run({"chat", "--verbose", "-m", "gpt-4o", "-o", "max_retries=1", "-o",
                        "default_headers={x-emulator-fault: 500}", "hi"},
                       azure_env(emu));
  CHECK(retried.code == 3);
  CHECK(shape(retried.err).rfind("chainpp: POST " + emu.base_url() +
                                     "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 -> 500, 2 "
                                     "attempts, _ ms\n",
                                 0) == 0);
  CHECK(ok.err.find("test-key") == std::string::npos);
  CHECK(retried.err.find("test-key") == std::string::npos);
}
