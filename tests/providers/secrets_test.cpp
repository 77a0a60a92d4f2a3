// No API key or token is ever printed: every error path of the Azure plugin,
// the tracer, the CLI's outputs and the configuration dump, run with a
// sentinel key that must appear nowhere in what they produce.
#include "emulator_process.hpp"
#include "entra_env.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/credentials.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/registry.hpp>
#include <chainpp/tracer.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>

using namespace chainpp;
using chainpp::test::EmulatorProcess;
using chainpp::test::read_file;
using chainpp::test::run_command;

namespace {

const std::string sentinel = "SENTINEL-KEY-7f3a9c";
const std::string sentinel_token = "SENTINEL-TOKEN-51be07";

PluginRegistry& registry() {
  static PluginRegistry r;
  static bool loaded = (r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so"), true);
  (void)loaded;
  return r;
}

std::shared_ptr<ChatModel> model(const EmulatorProcess& emu, const std::string& deployment, const std::string& fault,
                                 const std::string& credential = "api_key: " + sentinel) {
  std::string yaml = "provider: azure_openai\nazure_deployment: " + deployment + "\nazure_endpoint: " +
                     emu.base_url() + "\napi_version: 2024-10-21\n" + credential + "\nmax_retries: 1\n" +
                     "max_retry_after: 0.05\n";
  if (!fault.empty()) yaml += "default_headers: {x-emulator-fault: '" + fault + "'}\n";
  return registry().create("azure_openai", ConfigNode::parse_yaml(yaml, "secrets.yaml"));
}

// Everything an error carries that a program might print or log.
std::string everything_in(const ProviderError& e) {
  const auto& i = e.info();
  return std::string(e.what()) + "|" + i.code + "|" + i.provider_message + "|" + i.request_id + "|" + i.body.dump();
}

}  // namespace

TEST_CASE("no error of any kind carries the key or the token") {
  // The emulator accepts the sentinels, so every fault path is reached with them.
  const std::string path = "/tmp/chainpp_secrets_emulator_" + std::to_string(::getpid()) + ".yaml";
  {
    std::ofstream f(path);
    f << "api_keys: [" << sentinel << ", " << sentinel_token << "]\n"
      << "deployments:\n  gpt-35-turbo: {model: gpt-35-turbo, version: '0301'}\n"
      << "answers:\n  - {match: Tell me something violent., filter_prompt: violence}\n"
      << "  - {match: Write a violent story., content: Once upon a time, filter_completion: violence}\n";
  }
  EmulatorProcess emu({"--config", path});
  std::remove(path.c_str());
  const Messages hello{HumanMessage("Hello")};
  std::vector<std::string> seen;
  auto expect_error = [&](const std::function<void()>& call) {
    try {
      call();
      FAIL("no error");
    } catch (const ProviderError& e) {
      seen.push_back(everything_in(e));
    }
  };
  for (const char* credential : {"api_key", "azure_ad_token"}) {
    const std::string cred = std::string(credential) + ": " + (credential[4] == 'k' ? sentinel : sentinel_token);
    for (const char* fault : {"429", "500", "503", "reset", "malformed-json", "slow-first-byte:5000"}) {
      CAPTURE(credential, fault);
      auto m = model(emu, "gpt-35-turbo", fault, cred);
      if (std::string(fault) == "slow-first-byte:5000") {
        m = registry().create("azure_openai",
                              ConfigNode::parse_yaml("provider: azure_openai\nazure_deployment: gpt-35-turbo\n"
                                                     "azure_endpoint: " + emu.base_url() +
                                                         "\napi_version: 2024-10-21\n" + cred +
                                                         "\nmax_retries: 0\ntimeout: 0.2\n"
                                                         "default_headers: {x-emulator-fault: '" + fault + "'}\n",
                                                     "secrets.yaml"));
      }
      expect_error([&] { m->invoke(hello); });
    }
    for (const char* fault : {"reset-mid-stream", "no-done", "error-mid-stream", "malformed-json"}) {
      CAPTURE(credential, fault);
      auto m = model(emu, "gpt-35-turbo", fault, cred);
      expect_error([&] {
        for (auto& c : m->stream(hello)) (void)c;
      });
    }
    expect_error([&] { model(emu, "no-such-deployment", "", cred)->invoke(hello); });
    expect_error([&] { model(emu, "gpt-35-turbo", "", cred)->invoke({HumanMessage("Tell me something violent.")}); });
    expect_error([&] { model(emu, "gpt-35-turbo", "", cred)->invoke({HumanMessage("Write a violent story.")}); });
  }
  // A wrong key is not echoed back either.
  expect_error([&] { model(emu, "gpt-35-turbo", "", "api_key: " + sentinel + "-wrong")->invoke(hello); });
  REQUIRE(seen.size() == 2 * 13 + 1);
  for (const auto& text : seen) {
    CAPTURE(text);
    REQUIRE(text.find("SENTINEL") == std::string::npos);
  }
}

TEST_CASE("the tracer, the configuration dump and the CLI never show the key") {
  EmulatorProcess emu({"--config", CHAINPP_SOURCE_DIR "/tests/providers/azure_emulator.yaml"});
  const std::string dir = "/tmp/chainpp_secrets_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string trace = dir + "/trace.jsonl";
  const std::string config = dir + "/app.yaml";
  {
    std::ofstream f(config);
    f << "models:\n  translator:\n    provider: azure_openai\n    azure_deployment: gpt-35-turbo\n"
      << "    azure_endpoint: " << emu.base_url() << "\n    api_version: 2024-10-21\n"
      << "    api_key: ${TEST_AZURE_KEY}\n    default_headers: {x-custom-auth: " << sentinel << "}\n"
      << "  broken:\n    provider: azure_openai\n    azure_deployment: no-such-deployment\n"
      << "    azure_endpoint: " << emu.base_url() << "\n    api_version: 2024-10-21\n    api_key: ${TEST_AZURE_KEY}\n"
      << "prompts:\n  p: {messages: [[human, \"{input}\"]]}\n"
      << "pipelines:\n  ok: {steps: [{prompt: p}, {model: translator}]}\n"
      << "  bad: {steps: [{prompt: p}, {model: broken}]}\n"
      << "callbacks: [{type: trace, path: " << trace << "}]\n";
  }
  const std::string env = "TEST_AZURE_KEY=test-key CHAINPP_PLUGIN_PATH=" CHAINPP_PLUGIN_DIR;
  std::string all;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", config, "--pipeline", "ok", "--json", "--input", "input=Hello"},
           {"run", config, "--pipeline", "ok", "--stream", "--usage", "--input", "input=Hello"},
           {"run", config, "--pipeline", "bad", "--input", "input=Hello"},
           {"chat", config, "--model", "translator", "--message", "Hello", "--json"},
           {"validate", config}}) {
    auto r = run_command(CHAINPP_CLI, args, "", env);
    all += r.out + r.err;
  }
  // With the key itself in the sentinel, through the environment.
  auto r = run_command(CHAINPP_CLI, {"run", config, "--pipeline", "bad", "--input", "input=Hello"}, "",
                       "TEST_AZURE_KEY=" + sentinel + " CHAINPP_PLUGIN_PATH=" CHAINPP_PLUGIN_DIR);
  REQUIRE(r.code == 3);
  all += r.out + r.err + read_file(trace);
  REQUIRE(all.find("Ich liebe") == std::string::npos);  // sanity: inputs were "Hello"
  REQUIRE(all.find("This is the emulator's answer to: Hello") != std::string::npos);
  REQUIRE(all.find("DeploymentNotFound") != std::string::npos);
  REQUIRE(all.find("SENTINEL") == std::string::npos);

  auto m = registry().create("azure_openai",
                             ConfigNode::parse_yaml("provider: azure_openai\nazure_deployment: d\nazure_endpoint: "
                                                    "https://x.openai.azure.com\napi_version: v\napi_key: " +
                                                        sentinel + "\ndefault_headers: {x-key: " + sentinel + "}\n",
                                                    "s.yaml"));
  REQUIRE(to_yaml(m->to_config()).find("SENTINEL") == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("configuration errors about a credential never print its value") {
  try {
    registry().create("azure_openai", ConfigNode::parse_yaml("provider: azure_openai\nazure_deployment: d\n"
                                                             "azure_endpoint: https://x.openai.azure.com\n"
                                                             "api_version: v\napi_key: [" + sentinel + "]\n",
                                                             "s.yaml"));
    FAIL("no error");
  } catch (const ConfigError& e) {
    REQUIRE(std::string(e.what()).find("SENTINEL") == std::string::npos);
  }
  try {
    registry().create("azure_openai", ConfigNode::parse_yaml("provider: azure_openai\nazure_deployment: d\n"
                                                             "azure_endpoint: https://x.openai.azure.com\n"
                                                             "api_version: v\napi_key: " + sentinel +
                                                             "\nazure_ad_token: " + sentinel_token + "\n",
                                                             "s.yaml"));
    FAIL("no error");
  } catch (const ConfigError& e) {
    REQUIRE(std::string(e.what()).find("SENTINEL") == std::string::npos);
  }
}

TEST_CASE("no error, trace or dump of the Entra ID credentials holds a secret, token, assertion or key") {
  using chainpp::test::EntraEnv;
  using chainpp::test::TempDir;
  using chainpp::test::write_file;
  TempDir dir("chainpp_secrets_entra");
  const std::string secret = "SENTINEL-SECRET-c41d";
  const std::string header = "SENTINEL-IDHEADER-77e2";
  write_file(dir.path("emu.yaml"), "deployments:\n  gpt-4o: {model: gpt-4o, version: '1'}\nidentity: {client_secret: " +
                                       secret + ", identity_header: " + header + ", token_lifetime: 1}\n");
  write_file(dir.path("emu500.yaml"), "identity: {client_secret: " + secret + ", fault: '500'}\n");
  EmulatorProcess emu({"--config", dir.path("emu.yaml"), "--quiet"});
  EmulatorProcess emu500({"--config", dir.path("emu500.yaml"), "--quiet"});
  const std::string pem = dir.path("client.pem");
  const std::string key = read_file(CHAINPP_SOURCE_DIR "/tests/data/tls/key.pem");
  write_file(pem, read_file(CHAINPP_SOURCE_DIR "/tests/data/tls/cert.pem") + key);
  const std::string key_line = key.substr(key.find('\n') + 1, 40);  // a piece of the key's base64
  std::vector<std::string> seen;
  auto expect_error = [&](const std::function<void()>& call) {
    try {
      call();
      FAIL("no error");
    } catch (const std::exception& e) {
      seen.push_back(e.what());
    }
  };
  const std::vector<std::string> scope = {kCognitiveServicesScope};
  CredentialOptions fast;
  fast.transport.max_retries = 0;
  {
    EntraEnv env(emu.base_url());
    // A wrong secret, and the right one meeting a 500.
    expect_error([&] { ClientSecretCredential("t", "c", secret + "-wrong", fast).get_token(scope); });
    env.set("AZURE_AUTHORITY_HOST", emu500.base_url());
    expect_error([&] { ClientSecretCredential("t", "c", secret, fast).get_token(scope); });
    // A certificate's assertion meeting a 500; a key without its certificate.
    expect_error([&] { ClientCertificateCredential("t", "c", pem, fast).get_token(scope); });
    write_file(dir.path("key-only.pem"), key);
    expect_error([&] { ClientCertificateCredential("t", "c", dir.path("key-only.pem"), fast); });
    // A federated token the endpoint refuses (its audience).
    env.set("AZURE_AUTHORITY_HOST", emu.base_url());
    write_file(dir.path("federated"), "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.SENTINEL-FEDERATED");
    expect_error([&] { WorkloadIdentityCredential("t", "c", dir.path("federated"), fast).get_token(scope); });
    // A wrong App Service identity header.
    env.set("IDENTITY_ENDPOINT", emu.base_url() + "/msi/token");
    env.set("IDENTITY_HEADER", header + "-wrong");
    expect_error([&] { ManagedIdentityCredential(fast).get_token(scope); });
    env.unset("IDENTITY_ENDPOINT");
    // az printing a token in output that is not JSON.
    write_file(env.bin() + "/az", "#!/bin/sh\necho 'SENTINEL-CLI-TOKEN is here'\n");
    ::chmod((env.bin() + "/az").c_str(), 0755);
    expect_error([&] { AzureCliCredential().get_token(scope); });
    // The default chain with a wrong secret in the environment.
    env.set("AZURE_TENANT_ID", "t");
    env.set("AZURE_CLIENT_ID", "c");
    env.set("AZURE_CLIENT_SECRET", secret + "-wrong");
    env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", chainpp::test::closed_loopback_url());
    expect_error([&] { DefaultAzureCredential(fast).get_token(scope); });

    // An expired token of the emulator sent to a chat endpoint: the 401 does not repeat it.
    const std::string token = ClientSecretCredential("t", "c", secret).get_token(scope).token;
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    expect_error([&] { model(emu, "gpt-4o", "", "azure_ad_token: " + token)->invoke({HumanMessage("Hi")}); });
    REQUIRE(seen.back().find("401") != std::string::npos);
    for (const auto& text : seen) {
      CAPTURE(text);
      REQUIRE(text.find(token) == std::string::npos);
    }
  }
  REQUIRE(seen.size() == 9);
  for (const auto& text : seen) {
    CAPTURE(text);
    REQUIRE(text.find("SENTINEL") == std::string::npos);
    REQUIRE(text.find("eyJ") == std::string::npos);  // no JWT (assertion or federated token)
    REQUIRE(text.find(key_line) == std::string::npos);
    REQUIRE(text.find("PRIVATE KEY") == std::string::npos);
  }

  // The CLI with a trace: neither the secret nor the token it got appears.
  write_file(dir.path("app.yaml"), "models:\n  m:\n    provider: azure_openai\n    azure_deployment: gpt-4o\n"
                                   "    azure_endpoint: " + emu.base_url() + "\n    api_version: 2024-10-21\n"
                                   "    azure_credential: environment\n"
                                   "prompts:\n  p: {messages: [[human, \"{input}\"]]}\n"
                                   "pipelines:\n  ok: {steps: [{prompt: p}, {model: m}]}\n"
                                   "callbacks: [{type: trace, path: " + dir.path("trace.jsonl") + "}]\n");
  emu.reset();
  auto r = run_command(CHAINPP_CLI, {"run", dir.path("app.yaml"), "--pipeline", "ok", "--json", "--input", "input=Hello"},
                       "", "CHAINPP_CREDENTIALS_LOOPBACK_ONLY=1 AZURE_AUTHORITY_HOST=" + emu.base_url() +
                               " AZURE_TENANT_ID=t AZURE_CLIENT_ID=c AZURE_CLIENT_SECRET=" + secret +
                               " CHAINPP_PLUGIN_PATH=" CHAINPP_PLUGIN_DIR);
  REQUIRE(r.code == 0);
  const Json sent = emu.requests();
  REQUIRE(sent.size() == 2);
  const std::string bearer = sent[1]["headers"]["Authorization"].as_string();
  REQUIRE(bearer.rfind("Bearer emu-entra-", 0) == 0);
  const std::string all = r.out + r.err + read_file(dir.path("trace.jsonl"));
  REQUIRE(all.find("emulator's answer to: Hello") != std::string::npos);
  REQUIRE(all.find("SENTINEL") == std::string::npos);
  REQUIRE(all.find(bearer.substr(7)) == std::string::npos);
}
