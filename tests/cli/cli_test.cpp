// Runs the real `chainpp` binary on configurations using the fake provider and
// asserts its exact standard output, standard error and exit code.
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <chainpp/version.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

using Result = chainpp::test::CommandResult;

// One directory per process for files a test writes: ctest may run test cases in parallel.
const chainpp::test::TempDir work("chainpp_cli_test");

// Runs `chainpp args...` with `input` on standard input and `env` ("NAME=value ...") set.
Result run(const std::vector<std::string>& args, const std::string& input = "", const std::string& env = "") {
  return chainpp::test::run_command(CHAINPP_CLI, args, input, "-u CHAINPP_PLUGIN_PATH " + env);
}

const std::string fake_yaml = std::string(CHAINPP_SOURCE_DIR) + "/configs/fake.yaml";
std::string config(const std::string& name) { return std::string(CHAINPP_CLI_CONFIGS) + "/" + name; }
const std::string plugin_dir = fs::weakly_canonical(CHAINPP_PLUGIN_DIR).string();
const std::string test_plugin_dir = fs::weakly_canonical(CHAINPP_TEST_PLUGIN_DIR).string();

const std::vector<std::string> translate_inputs = {"--input", "input_language=English", "--input",
                                                   "output_language=French", "--input", "input=I love programming."};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Message ids are random ("run-<uuid>-0"): replace them with run-ID-0.
std::string mask_ids(const std::string& s) {
  static const std::regex id("run-[0-9a-f-]{36}-0");
  return std::regex_replace(s, id, "run-ID-0");
}

const std::string usage_summary =
    "Tokens Used: 39\n"
    "\tPrompt Tokens: 31\n"
    "\tCompletion Tokens: 8\n"
    "Successful Requests: 1\n"
    "Total Cost (USD): $0.000063\n";

}  // namespace

TEST_CASE("cli: run prints the pipeline's text output") {
  Result r = run(with({"run", fake_yaml, "--pipeline", "translate"}, translate_inputs));
  CHECK(r.err == "");
  CHECK(r.out == "J'adore la programmation.\n");
  CHECK(r.code == 0);
}

TEST_CASE("cli: run --stream prints the tokens as they arrive") {
  Result r = run(with({"run", fake_yaml, "--pipeline", "translate", "--stream"}, translate_inputs));
  CHECK(r.err == "");
  CHECK(r.out == "J'adore la programmation.\n");
  CHECK(r.code == 0);
}

TEST_CASE("cli: run --json prints the AI message as one JSON object") {
  Result r = run(with({"run", fake_yaml, "--pipeline", "translate_message", "--json"}, translate_inputs));
  CHECK(r.err == "");
  CHECK(mask_ids(r.out) ==
        R"({"type":"ai","content":"J'adore la programmation.","id":"run-ID-0",)"
        R"("response_metadata":{"model_name":"gpt-35-turbo","finish_reason":"stop"},)"
        R"("usage_metadata":{"input_tokens":31,"output_tokens":8,"total_tokens":39},"tool_calls":[]})"
        "\n");
  CHECK(r.code == 0);
}

TEST_CASE("cli: run --stream --json prints the merged message") {
  Result r = run(with({"run", fake_yaml, "--pipeline", "translate_message", "--stream", "--json"}, translate_inputs));
  CHECK(r.err == "");
  CHECK(mask_ids(r.out) ==
        R"({"type":"ai","content":"J'adore la programmation.","id":"run-ID-0",)"
        R"("response_metadata":{"model_name":"gpt-35-turbo","finish_reason":"stop"},)"
        R"("usage_metadata":{"input_tokens":31,"output_tokens":8,"total_tokens":39},"tool_calls":[]})"
        "\n");
  CHECK(r.code == 0);
}

TEST_CASE("cli: run --usage prints token totals and the cost") {
  Result r = run(with({"run", fake_yaml, "--pipeline", "translate", "--usage"}, translate_inputs));
  CHECK(r.err == "");
  CHECK(r.out == "J'adore la programmation.\n" + usage_summary);
  CHECK(r.code == 0);
}

TEST_CASE("cli: run with a missing pipeline input names the variable") {
  Result r = run({"run", fake_yaml, "--pipeline", "translate", "--input", "input=hi"});
  CHECK(r.err == "missing input 'input_language' for pipeline 'translate' (pass --input input_language=VALUE)\n");
  CHECK(r.out == "");
  CHECK(r.code == 2);
}

TEST_CASE("cli: run with several pipelines and no --pipeline") {
  Result r = run(with({"run", fake_yaml}, translate_inputs));
  CHECK(r.err == fake_yaml + ": several pipelines (translate, translate_message); choose one with --pipeline\n");
  CHECK(r.code == 2);
}

TEST_CASE("cli: run an unknown pipeline") {
  Result r = run({"run", fake_yaml, "--pipeline", "translat"});
  CHECK(r.err == fake_yaml + ": unknown pipeline 'translat' (did you mean 'translate'?)\n");
  CHECK(r.code == 2);
}

TEST_CASE("cli: run a pipeline that starts with a model, message from standard input") {
  Result r = run({"run", config("model_first.yaml")}, "hello from stdin\n");
  CHECK(r.err == "");
  CHECK(r.out == "hello from stdin\n");
  CHECK(r.code == 0);
  r = run({"run", config("model_first.yaml"), "--input", "message=hello from --input"});
  CHECK(r.out == "hello from --input\n");
  CHECK(r.code == 0);
}

TEST_CASE("cli: chat --message makes one exchange") {
  Result r = run({"chat", fake_yaml, "--model", "parrot", "--message", "hello there"});
  CHECK(r.err == "");
  CHECK(r.out == "hello there\n");
  CHECK(r.code == 0);
}

TEST_CASE("cli: chat --message --stream --usage") {
  Result r = run({"chat", fake_yaml, "--model", "translator", "--message", "I love programming.", "--stream",
                  "--usage"});
  CHECK(r.err == "");
  CHECK(r.out == "J'adore la programmation.\n" + usage_summary);
  CHECK(r.code == 0);
}

TEST_CASE("cli: chat sends all of a piped standard input as one message") {
  Result r = run({"chat", config("chat.yaml"), "--system", "Be brief.", "--json"}, "first\n\nsecond\n");
  CHECK(r.err == "");
  CHECK(mask_ids(r.out) ==
        R"({"type":"ai","content":"first\n\nsecond","id":"run-ID-0","response_metadata":{"model_name":"fake",)"
        R"("finish_reason":"stop","message_count":2},"usage_metadata":null,"tool_calls":[]})"
        "\n");
  CHECK(r.code == 0);
}

TEST_CASE("cli: chat - reads the message from standard input") {
  Result r = run({"chat", config("chat.yaml"), "-"}, "one\ntwo\n");
  CHECK(r.err == "");
  CHECK(r.out == "one\ntwo\n");
  CHECK(r.code == 0);
  r = run({"chat", config("chat.yaml")}, "");
  CHECK(r.err == "chainpp chat: standard input is empty: no message to send\n");
  CHECK(r.code == 2);
}

TEST_CASE("cli: run --input NAME=- reads that input from standard input") {
  Result r = run({"run", fake_yaml, "--pipeline", "translate", "--input", "input_language=English", "--input",
                  "output_language=French", "--input", "input=-"},
                 "I love programming.\n");
  CHECK(r.err == "");
  CHECK(r.out == "J'adore la programmation.\n");
  CHECK(r.code == 0);
  r = run({"run", fake_yaml, "--pipeline", "translate", "--input", "input_language=-", "--input",
           "output_language=-", "--input", "input=x"});
  CHECK(r.err == "--input: only one input can be read from standard input (input_language, output_language)\n");
  CHECK(r.code == 2);
}

TEST_CASE("cli: plugins lists the fake plugin with its path, version and providers") {
  Result r = run({"plugins"});
  CHECK(r.err == "");
  CHECK(r.out.rfind("search path: " + plugin_dir + "\n", 0) == 0);
  CHECK(r.out.find("fake 0.1.0 " + plugin_dir + "/libchainpp_fake.so\n  providers: fake\n") != std::string::npos);
  CHECK(r.code == 0);
}

TEST_CASE("cli: plugins lists a plugin the configuration loads by path") {
  const std::string yaml = work.path("by_path.yaml");
  std::ofstream(yaml) << "plugins: {load: [" << test_plugin_dir << "/libchainpp_test_upper.so]}\n";
  Result r = run({"plugins", yaml});
  CHECK(r.err == "");
  CHECK(r.out.find("test_upper 1.2.3 " + test_plugin_dir + "/libchainpp_test_upper.so\n  providers: upper\n") !=
        std::string::npos);
  CHECK(r.code == 0);
}

TEST_CASE("cli: plugins reports a broken plugin and exits 2") {
  Result r = run({"plugins"}, "", "CHAINPP_PLUGIN_PATH=" + test_plugin_dir);
  CHECK(r.out.rfind("search path: " + test_plugin_dir + ":" + plugin_dir + "\n", 0) == 0);
  CHECK(r.out.find("test_upper 1.2.3 " + test_plugin_dir + "/libchainpp_test_upper.so\n  providers: upper\n") !=
        std::string::npos);
  CHECK(r.err.find(test_plugin_dir + "/libchainpp_test_abi.so: plugin 'test_abi' was built for chainpp ABI "
                                     "version 999, but this core has ABI version 3\n") != std::string::npos);
  CHECK(r.err.find(test_plugin_dir + "/libchainpp_test_noentry.so: not a chainpp plugin (no 'chainpp_plugin_v1' "
                                     "entry symbol)\n") != std::string::npos);
  CHECK(r.code == 2);
}

TEST_CASE("cli: validate a valid configuration") {
  Result r = run({"validate", fake_yaml});
  CHECK(r.err == "");
  CHECK(r.out == fake_yaml +
                     ": valid\n"
                     "  models: translator, parrot\n"
                     "  prompts: translate\n"
                     "  pipelines: translate, translate_message\n");
  CHECK(r.code == 0);
}

TEST_CASE("cli: configuration errors are located, exit 2") {
  struct Case {
    const char* file;
    std::string message;
  };
  const Case cases[] = {
      {"unknown_key.yaml", ":5:5: unknown key 'respones' in models.m (did you mean 'responses'?)"},
      {"unknown_provider.yaml", ":3:17: unknown provider 'fakee'; available providers: fake"},
      {"missing_env.yaml", ":5:17: environment variable 'CHAINPP_CLI_TEST_UNSET' is not set"},
      {"syntax.yaml", ":3:6: end of map flow not found (the '{' here is not closed before the end of the file)"},
      {"unknown_prompt.yaml", ":8:22: unknown prompt 'gret' (did you mean 'greet'?)"},
      {"unknown_model.yaml", ":7:16: unknown model 'other' (available models: m)"},
      {"bad_template.yaml", ":8:17: prompt template: unbalanced '{' at position 6 in \"hello {name\""},
      {"unknown_parser.yaml", ":5:39: unknown parser 'jsn' (did you mean 'json'?)"},
      {"missing_plugin.yaml", ":3:10: plugin 'nope' not found: no libchainpp_nope.so in " + std::string(CHAINPP_CLI_CONFIGS) +
                                  "/no-such-dir, " + plugin_dir},
  };
  for (const auto& c : cases) {
    SECTION(c.file) {
      Result r = run({"validate", config(c.file)});
      CHECK(r.err == config(c.file) + c.message + "\n");
      CHECK(r.out == "");
      CHECK(r.code == 2);
    }
  }
}

TEST_CASE("cli: validate reports every error of the file at once, in file order, exit 2") {
  const std::string path = work.path("many_errors.yaml");
  chainpp::test::write_file(path,
                            "plugins: {load: [fake]}\n"
                            "models:\n"
                            "  a: {provider: fake, echoo: true}\n"
                            "  b: {provider: fake, echo: true}\n"
                            "  c: {provider: nope}\n"
                            "prompts:\n"
                            "  p:\n"
                            "    messages:\n"
                            "      - [human, \"{unclosed\"]\n"
                            "  q:\n"
                            "    messages: [[robot, \"hi\"]]\n"
                            "pipelines:\n"
                            "  uses_a: {steps: [{model: a}]}\n"  // reported with model a, not again
                            "  bad_parser: {steps: [{model: b}, {parser: xml}]}\n"
                            "  unknown_model: {steps: [{model: zz}]}\n"
                            "callbacks:\n"
                            "  - {type: usage_costs}\n"
                            "extra: 1\n");
  Result r = run({"validate", path});
  CHECK(r.out == "");
  CHECK(r.err == path + ":3:23: unknown key 'echoo' in models.a (did you mean 'echo'?)\n" +
                     path + ":5:17: unknown provider 'nope'; available providers: fake\n" +
                     path + ":9:17: prompt template: unbalanced '{' at position 0 in \"{unclosed\"\n" +
                     path + ":11:17: unknown message role 'robot' in prompt template; expected one of: system, "
                            "human, user, ai, assistant, placeholder\n" +
                     path + ":14:45: unknown parser 'xml' (available parsers: json, str)\n" +
                     path + ":15:35: unknown model 'zz' (available models: b)\n" +
                     path + ":17:12: unknown callback type 'usage_costs' (did you mean 'usage_cost'?)\n" +
                     path + ":18:1: unknown key 'extra' (valid keys: callbacks, models, pipelines, plugins, prompts)\n");
  CHECK(r.code == 2);
}

TEST_CASE("cli: a provider error exits 3 naming the provider, status and request id") {
  Result r = run({"chat", config("provider_error.yaml"), "--message", "hi"});
  CHECK(r.err == "fake: HTTP 429: Rate limit is exceeded. (request id req-42)\n");
  CHECK(r.out == "");
  CHECK(r.code == 3);
}

TEST_CASE("cli: usage errors exit 2") {
  Result r = run({"run", fake_yaml, "--bogus"});
  CHECK(r.err == "chainpp run: unknown option '--bogus' (see chainpp run --help)\n");
  CHECK(r.code == 2);
  r = run({"run", fake_yaml, "--input", "novalue"});
  CHECK(r.err == "--input expects KEY=VALUE, got 'novalue'\n");
  CHECK(r.code == 2);
  r = run({"frobnicate"});
  CHECK(r.err.rfind("chainpp: unknown command 'frobnicate'\nusage: chainpp COMMAND [options]\n", 0) == 0);
  CHECK(r.code == 2);
}

TEST_CASE("cli: --version and -V") {
  for (const char* flag : {"--version", "-V"}) {
    Result r = run({flag});
    CHECK(r.err == "");
    CHECK(r.out == std::string("chainpp ") + CHAINPP_VERSION + "\n");
    CHECK(r.code == 0);
  }
}

TEST_CASE("cli: help COMMAND is COMMAND --help, with examples, wrapped to the width") {
  for (const char* command : {"run", "chat", "batch", "batch-status", "batch-fetch", "batch-cancel", "plugins",
                              "validate"}) {
    SECTION(command) {
      Result help = run({"help", command});
      CHECK(help.err == "");
      CHECK(help.code == 0);
      CHECK(help.out == run({command, "--help"}).out);
      CHECK(help.out.find(std::string("\nExamples:\n  chainpp ") + command) != std::string::npos);
      for (const auto& line : chainpp::test::split_lines(help.out)) {
        INFO(line);
        CHECK(line.size() <= 80);  // not a terminal, no COLUMNS: 80
      }
      bool examples = false;  // command lines to copy, never wrapped
      for (const auto& line : chainpp::test::split_lines(run({"help", command}, "", "COLUMNS=50").out)) {
        INFO(line);
        examples = line == "Examples:" || (examples && !line.empty());
        if (!examples) CHECK(line.size() <= 50);
      }
    }
  }
  Result chat = run({"help", "chat"});
  CHECK(chat.out.rfind("usage: chainpp chat [-m MODEL] [-s TEXT] [options] [MESSAGE...]\n", 0) == 0);
  CHECK(chat.out.find("\n-mNAME, --model=NAME ") != std::string::npos);
  CHECK(chat.out.find("\n-oKEY=VALUE, --option=KEY=VALUE ") != std::string::npos);
  CHECK(chat.out.find("\nExamples:\n  chainpp chat -m gpt-4o \"Tell me a joke\"\n") != std::string::npos);
  Result unknown = run({"help", "chta"});
  CHECK(unknown.err.rfind("chainpp: unknown command 'chta' (did you mean 'chat'?)\nusage: chainpp COMMAND", 0) == 0);
  CHECK(unknown.code == 2);
  CHECK(run({"help"}).out == run({"--help"}).out);
}

TEST_CASE("cli: a mistyped option gets \"did you mean\"") {
  Result r = run({"chat", fake_yaml, "--modle", "parrot", "hi"});
  CHECK(r.err == "chainpp chat: unknown option '--modle' (did you mean '--model'?) (see chainpp chat --help)\n");
  CHECK(r.code == 2);
  r = run({"chat", fake_yaml, "-x", "hi"});
  CHECK(r.err == "chainpp chat: unknown option '-x' (see chainpp chat --help)\n");
  CHECK(r.code == 2);
}

TEST_CASE("cli: --help on every command") {
  for (const char* command : {"run", "chat", "plugins", "validate"}) {
    SECTION(command) {
      Result r = run({command, "--help"});
      CHECK(r.err == "");
      CHECK(r.out.rfind(std::string("usage: chainpp ") + command, 0) == 0);
      CHECK(r.out.find("--help") != std::string::npos);
      CHECK(r.code == 0);
    }
  }
  Result r = run({"--help"});
  CHECK(r.out.rfind("usage: chainpp COMMAND [options]\n", 0) == 0);
  CHECK(r.code == 0);
}
