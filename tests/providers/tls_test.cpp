// HTTPS: the azure_openai plugin against the emulator serving TLS with a
// self-signed certificate for localhost (tests/data/tls). Verification is on
// by default; a custom CA bundle (ca_file) and the explicit opt-out
// (verify_tls: false) are configuration.
#include "emulator_process.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/registry.hpp>

using namespace chainpp;
using chainpp::test::EmulatorProcess;

namespace {

const std::string tls_dir = CHAINPP_SOURCE_DIR "/tests/data/tls";

PluginRegistry& registry() {
  static PluginRegistry r;
  static bool loaded = (r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so"), true);
  (void)loaded;
  return r;
}

std::shared_ptr<ChatModel> model(const EmulatorProcess& emu, const std::string& extra) {
  return registry().create("azure_openai",
                           ConfigNode::parse_yaml("provider: azure_openai\nazure_deployment: gpt-35-turbo\n"
                                                  "azure_endpoint: https://localhost:" + std::to_string(emu.port()) +
                                                      "\napi_version: 2024-10-21\napi_key: test-key\nmax_retries: 0\n" +
                                                      extra,
                                                  "tls.yaml"));
}

const Messages seed = messages_from_pairs(
    {{"system", "You are a helpful assistant that translates English to French. Translate the user sentence."},
     {"human", "I love programming."}});

}  // namespace

TEST_CASE("https: a server whose certificate chains to ca_file is trusted, invoked and streamed") {
  EmulatorProcess emu({"--tls-cert", tls_dir + "/cert.pem", "--tls-key", tls_dir + "/key.pem"});
  auto m = model(emu, "ca_file: " + tls_dir + "/cert.pem\n");
  REQUIRE(m->invoke(seed).text() == "J'adore la programmation.");
  std::string streamed;
  for (auto& c : m->stream(seed)) streamed += c.content;
  REQUIRE(streamed == "J'adore la programmation.");
}

TEST_CASE("https: verification is on by default: an unknown issuer is a ConnectionError") {
  EmulatorProcess emu({"--tls-cert", tls_dir + "/cert.pem", "--tls-key", tls_dir + "/key.pem"});
  try {
    model(emu, "")->invoke(seed);
    FAIL("no error");
  } catch (const ConnectionError& e) {
    REQUIRE(e.status() == 0);
    REQUIRE(std::string(e.what()) == "azure_openai: connection failed: SSL Exception: error:0A000086:SSL routines::"
                                     "certificate verify failed (localhost:" + std::to_string(emu.port()) + ") (1 attempt)");
  }
}

TEST_CASE("https: verify_tls: false is the explicit opt-out") {
  EmulatorProcess emu({"--tls-cert", tls_dir + "/cert.pem", "--tls-key", tls_dir + "/key.pem"});
  REQUIRE(model(emu, "verify_tls: false\n")->invoke(seed).text() == "J'adore la programmation.");
}
