// `chainpp run/chat --usage` with a configuration of the user's own, outside
// the repository: priced with the bundled pricing table (found with no
// setting), unless a pricing.yaml beside the configuration or the
// configuration's own `pricing:` names another.
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

using Result = chainpp::test::CommandResult;
using chainpp::test::write_file;

const chainpp::test::TempDir work("chainpp_bundled_data_cli_test");

Result run(const std::vector<std::string>& args, const std::string& env = "") {
  return chainpp::test::run_command(CHAINPP_CLI, args, "", "-u CHAINPP_PLUGIN_PATH -u CHAINPP_DATA_DIR " + env);
}

// The fake translator reporting `model_name`, 31 prompt and 8 completion tokens.
std::string config_text(const std::string& model_name, const std::string& callbacks = "") {
  return "plugins: {load: [fake]}\n"
         "models:\n"
         "  translator: {provider: fake, model_name: " + model_name + ", usage: {input_tokens: 31, output_tokens: 8},"
         " responses: [\"J'adore la programmation.\"]}\n"
         "pipelines:\n"
         "  translate: {steps: [{model: translator}, {parser: str}]}\n" + callbacks;
}

std::string summary(const std::string& cost) {
  return "J'adore la programmation.\nTokens Used: 39\n\tPrompt Tokens: 31\n\tCompletion Tokens: 8\n"
         "Successful Requests: 1\nTotal Cost (USD): " + cost + "\n";
}

const std::vector<std::string> run_args = {"run", "", "--pipeline", "translate", "--input", "input=I love programming.",
                                           "--usage"};

std::vector<std::string> run_args_for(const std::string& config) {
  std::vector<std::string> a = run_args;
  a[1] = config;
  return a;
}

}  // namespace

TEST_CASE("cli: run --usage with a config of one's own prices with the bundled table") {
  const std::string dir = work.path("own");
  std::filesystem::create_directories(dir);
  write_file(dir + "/app.yaml", config_text("gpt-35-turbo"));
  Result r = run(run_args_for(dir + "/app.yaml"));
  CHECK(r.err == "");
  CHECK(r.out == summary("$0.000063"));  // 31 * 0.0015/1k + 8 * 0.002/1k
  CHECK(r.code == 0);
}

TEST_CASE("cli: chat --usage with a config of one's own prices with the bundled table") {
  const std::string dir = work.path("chat");
  std::filesystem::create_directories(dir);
  write_file(dir + "/app.yaml", config_text("gpt-35-turbo"));
  Result r = run({"chat", dir + "/app.yaml", "--model", "translator", "--message", "hi", "--usage"});
  CHECK(r.err == "");
  CHECK(r.out == summary("$0.000063"));
  CHECK(r.code == 0);
}

TEST_CASE("cli: a usage_cost callback without pricing prices with the bundled table") {
  const std::string dir = work.path("callback");
  std::filesystem::create_directories(dir);
  write_file(dir + "/app.yaml", config_text("gpt-35-turbo", "callbacks: [{type: usage_cost}]\n"));
  Result r = run(run_args_for(dir + "/app.yaml"));
  CHECK(r.err == "");
  CHECK(r.out == summary("$0.000063"));
  CHECK(r.code == 0);
}

TEST_CASE("cli: pricing order: the config's pricing, then pricing.yaml beside it, then the bundled table") {
  const std::string dir = work.path("order");
  std::filesystem::create_directories(dir + "/data");
  write_file(dir + "/data/pricing.yaml", "models:\n  gpt-35-turbo: {input: 1, output: 1}\n");   // $0.039
  write_file(dir + "/beside.yaml", "models:\n  gpt-35-turbo: {input: 0.1, output: 0.1}\n");   // $0.0039
  write_file(dir + "/named.yaml", "models:\n  gpt-35-turbo: {input: 0.01, output: 0.01}\n");  // $0.00039
  write_file(dir + "/app.yaml", config_text("gpt-35-turbo"));
  write_file(dir + "/named_app.yaml", config_text("gpt-35-turbo", "callbacks: [{type: usage_cost, pricing: named.yaml}]\n"));
  const std::string data_dir = "CHAINPP_DATA_DIR=" + chainpp::test::shell_quote(dir + "/data");

  // CHAINPP_DATA_DIR replaces the bundled directory.
  CHECK(run(run_args_for(dir + "/app.yaml"), data_dir).out == summary("$0.039000"));
  // A pricing.yaml beside the configuration wins over the bundled table.
  write_file(dir + "/pricing.yaml", "models:\n  gpt-35-turbo: {input: 0.1, output: 0.1}\n");
  CHECK(run(run_args_for(dir + "/app.yaml"), data_dir).out == summary("$0.003900"));
  // The configuration's own `pricing:` wins over both.
  CHECK(run(run_args_for(dir + "/named_app.yaml"), data_dir).out == summary("$0.000390"));
  // A CHAINPP_DATA_DIR without the file: no bundled prices, the model is named once.
  std::filesystem::remove(dir + "/pricing.yaml");
  Result r = run(run_args_for(dir + "/app.yaml"), "CHAINPP_DATA_DIR=" + chainpp::test::shell_quote(dir));
  CHECK(r.out == summary("$0.000000") +
                     "(no price for model 'gpt-35-turbo': 1 call not counted in the cost)\n");
}
