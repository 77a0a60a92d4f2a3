// Swapping providers without recompiling: one pipeline file, run by the same
// chainpp binary with the model's provider set to azure_openai, openai and
// fake in turn; only the model section changes.
#include "emulator_process.hpp"
#include "run_command.hpp"

#include <catch2/catch.hpp>
#include <chainpp/json.hpp>

#include <cstdio>
#include <fstream>

using namespace chainpp;
using chainpp::test::EmulatorProcess;
using chainpp::test::run_command;

namespace {

const std::string pipeline_sections =
    "prompts:\n"
    "  translate:\n"
    "    messages:\n"
    "      - [system, \"You are a helpful assistant that translates {input_language} to {output_language}.\"]\n"
    "      - [human, \"{input}\"]\n"
    "pipelines:\n"
    "  translate:\n"
    "    steps: [{prompt: translate}, {model: translator}]\n";

Json run_pipeline(const std::string& model_section, const std::string& name) {
  const std::string path = "/tmp/chainpp_swap_" + std::to_string(::getpid()) + "_" + name + ".yaml";
  {
    std::ofstream f(path);
    f << "models:\n  translator:\n" << model_section << pipeline_sections;
  }
  auto r = run_command(CHAINPP_CLI,
                       {"run", path, "--json", "--input", "input_language=English", "--input",
                        "output_language=French", "--input", "input=I love programming."},
                       "", "-u AZURE_OPENAI_API_KEY -u OPENAI_API_KEY CHAINPP_PLUGIN_PATH=" CHAINPP_PLUGIN_DIR);
  std::remove(path.c_str());
  INFO(name << " stderr: " << r.err);
  REQUIRE(r.code == 0);
  return Json::parse(r.out);
}

}  // namespace

TEST_CASE("one pipeline file, three providers, the same host binary") {
  EmulatorProcess emu;
  const std::string url = emu.base_url();

  Json azure = run_pipeline("    provider: azure_openai\n"
                            "    azure_deployment: gpt-35-turbo\n"
                            "    azure_endpoint: " + url + "\n"
                            "    api_version: 2024-10-21\n"
                            "    api_key: test-key\n",
                            "azure");
  Json openai = run_pipeline("    provider: openai\n"
                             "    model: gpt-4o-mini\n"
                             "    base_url: " + url + "/v1\n"
                             "    api_key: test-key\n",
                             "openai");
  Json fake = run_pipeline("    provider: fake\n"
                           "    model_name: gpt-35-turbo\n"
                           "    responses: [\"J'adore la programmation.\"]\n"
                           "    usage: {input_tokens: 31, output_tokens: 8}\n",
                           "fake");

  for (const Json* result : {&azure, &openai, &fake}) {
    REQUIRE((*result)["type"].as_string() == "ai");
    REQUIRE((*result)["content"].as_string() == "J'adore la programmation.");
    REQUIRE((*result)["usage_metadata"] == Json{{"input_tokens", 31}, {"output_tokens", 8}, {"total_tokens", 39}});
  }
  // Each provider's own metadata: Azure's filter results and base model name,
  // OpenAI's versioned model name and fingerprint.
  REQUIRE(azure["response_metadata"]["model_name"].as_string() == "gpt-35-turbo");
  REQUIRE(azure["response_metadata"].contains("prompt_filter_results"));
  REQUIRE(openai["response_metadata"]["model_name"].as_string() == "gpt-4o-mini-2024-07-18");
  REQUIRE(openai["response_metadata"]["system_fingerprint"].as_string() == "fp_emulator");
  REQUIRE_FALSE(openai["response_metadata"].contains("prompt_filter_results"));
  REQUIRE(fake["response_metadata"]["model_name"].as_string() == "gpt-35-turbo");

  Json requests = emu.requests();
  REQUIRE(requests.size() == 2);
  REQUIRE(requests[0]["uri"].as_string() == "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-10-21");
  REQUIRE(requests[1]["uri"].as_string() == "/v1/chat/completions");
  REQUIRE(requests[1]["body"]["model"].as_string() == "gpt-4o-mini");
}
