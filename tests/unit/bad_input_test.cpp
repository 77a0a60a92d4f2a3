// Bad input everywhere (issue #7, item 8): tables of malformed inputs fed to
// every in-process entry point a user or a server reaches (YAML configuration,
// pipeline inputs, server responses, error bodies, JSON output and tool-call
// arguments). Each row names the error kind and its exact message (or an exact
// distinctive substring): a clear error of the right kind, never a crash.
// The CLI's arguments have their own table in tests/cli/bad_args_test.cpp.
#include "temp_dir.hpp"

#include <chainpp/app.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/output_parsers.hpp>
#include <chainpp/prompts.hpp>
#include <chainpp/runnable.hpp>
#include <chainpp/value.hpp>

#include <openai_wire.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <typeinfo>
#include <vector>

using namespace chainpp;

namespace {

// ---------------------------------------------------------------- the table machinery

/// What a call ended with: "ok", or the most derived chainpp error kind and its text.
struct Outcome {
  std::string kind;
  std::string message;
};

Outcome outcome(const std::function<void()>& f) {
  try {
    f();
    return {"ok", ""};
  } catch (const ContentFilterError& e) {
    return {"ContentFilterError", e.what()};
  } catch (const BadResponseError& e) {
    return {"BadResponseError", e.what()};
  } catch (const AuthenticationError& e) {
    return {"AuthenticationError", e.what()};
  } catch (const NotFoundError& e) {
    return {"NotFoundError", e.what()};
  } catch (const RateLimitError& e) {
    return {"RateLimitError", e.what()};
  } catch (const BadRequestError& e) {
    return {"BadRequestError", e.what()};
  } catch (const ServerError& e) {
    return {"ServerError", e.what()};
  } catch (const TimeoutError& e) {
    return {"TimeoutError", e.what()};
  } catch (const ProviderError& e) {
    return {"ProviderError", e.what()};
  } catch (const ConfigError& e) {
    return {"ConfigError", e.what()};
  } catch (const PluginError& e) {
    return {"PluginError", e.what()};
  } catch (const PromptError& e) {
    return {"PromptError", e.what()};
  } catch (const InputError& e) {
    return {"InputError", e.what()};
  } catch (const OutputParserError& e) {
    return {"OutputParserError", e.what()};
  } catch (const JsonError& e) {
    return {"JsonError", e.what()};
  } catch (const Error& e) {
    return {"Error", e.what()};
  } catch (const std::exception& e) {
    return {std::string("std::exception (") + typeid(e).name() + ")", e.what()};
  } catch (...) {
    return {"unknown exception", ""};
  }
}

/// One row: a malformed input, the error kind expected ("ok" when the input is
/// accepted) and its exact message, or with `contains` an exact substring of it.
struct Row {
  std::string name;
  std::string input;
  std::string kind;
  std::string message;
  bool contains = false;
};

void check_outcome(const Row& row, const Outcome& got) {
  CHECK(got.kind == row.kind);
  if (row.contains)
    CHECK_THAT(got.message, Catch::Contains(row.message));
  else
    CHECK(got.message == row.message);
}

/// Runs every row of `rows` as its own section, named by the row.
void run_table(const std::vector<Row>& rows, const std::function<void(const std::string&)>& entry) {
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) { check_outcome(row, outcome([&] { entry(row.input); })); }
  }
}

const chainpp::test::TempDir work("chainpp_bad_input_test");

// Clears the Azure environment variables for the duration of a test.
struct CleanEnv {
  static void clear() {
    for (const char* v : {"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN",
                          "OPENAI_API_VERSION", "CHAINPP_BAD_INPUT_UNSET"})
      unsetenv(v);
  }
  CleanEnv() { clear(); }
  ~CleanEnv() { clear(); }
};

AppOptions app_options() {
  AppOptions o;
  o.plugin_dirs = {CHAINPP_PLUGIN_DIR};
  o.use_default_plugin_dirs = false;
  return o;
}

/// Loads a configuration given as text, named "app.yaml" in its messages.
App load_yaml(const std::string& text) {
  return App::from_config(ConfigNode::parse_yaml(text, "app.yaml"), work.path(""), app_options());
}

const std::string fake_model = "plugins: {load: [fake]}\nmodels:\n  m: {provider: fake, responses: [hi]}\n";
// An azure_openai model whose settings are completed by each row (its 7th line on).
const std::string azure_model =
    "plugins: {load: [azure_openai]}\n"
    "models:\n"
    "  m:\n"
    "    provider: azure_openai\n"
    "    azure_deployment: gpt-35-turbo\n"
    "    azure_endpoint: https://example.openai.azure.com\n"
    "    api_version: 2024-10-21\n"
    "    api_key: not-a-real-key\n";

std::string nested_lists(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// "a: &a0 [x, x, ...]" then each level repeats the previous one ten times.
std::string billion_laughs() {
  std::string y = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    y += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) y += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    y += "]\n";
  }
  return y;
}

}  // namespace

// ---------------------------------------------------------------- YAML configuration

TEST_CASE("bad input: YAML configuration is a ConfigError with file:line:col", "[bad_input]") {
  CleanEnv env;
  const std::vector<Row> rows = {
      // --- syntax
      {"invalid YAML syntax", "models: {m: [a, b}\n", "ConfigError", "app.yaml:1:18: illegal flow end"},
      // An unclosed '[' or '{' is located at the bracket, not past the end of the file.
      {"an unclosed quote in a flow map", "models:\n  m: {provider: \"fake}\n", "ConfigError",
       "app.yaml:2:6: end of map flow not found (the '{' here is not closed before the end of the file)"},
      {"an unclosed '[' on the last line", "plugins: {load: [fake]}\nmodels:\n  m:\n    responses: [a, b\n",
       "ConfigError",
       "app.yaml:4:16: end of sequence flow not found (the '[' here is not closed before the end of the file)"},
      {"an unclosed '[' and blank lines after it", "a: 1\nb: 2\nc: 3\nd: [1, 2\n\n", "ConfigError",
       "app.yaml:4:4: end of sequence flow not found (the '[' here is not closed before the end of the file)"},
      {"an unclosed '{' after a closed one", "a: [1, {b: 2, c: [3]}, {d: 4\n", "ConfigError",
       "app.yaml:1:24: end of map flow not found (the '{' here is not closed before the end of the file)"},
      // Any other error yaml-cpp notices at the end is located at the last character.
      {"an unclosed verbatim tag at the end", "a: !<tag\n\n\n", "ConfigError",
       "app.yaml:1:8: end of verbatim tag not found"},
      {"an unclosed '[' without a final newline", "x: {a: ok}\ny: [\"]\", '#[', 2", "ConfigError",
       "app.yaml:2:4: end of sequence flow not found (the '[' here is not closed before the end of the file)"},
      // yaml-cpp reads a double-quoted scalar left open at the end of the file
      // up to the end: the value names itself, trailing space included.
      {"an unclosed quote at the end", "plugins: {load: [fake]}\nmodels:\n  m:\n    provider: \"fake\n", "ConfigError",
       "app.yaml:4:15: unknown provider 'fake '; available providers: fake"},
      {"a tab as indentation", "models:\n\tm: {provider: fake}\n", "ConfigError",
       "app.yaml:2:3: illegal map value (line 2 is indented with a tab; YAML indents with spaces only)"},
      {"a duplicate key", "models:\n  m: {provider: fake, responses: [a]}\n  m: {provider: fake}\n", "ConfigError",
       "app.yaml:3:3: duplicate key 'm' (first defined at line 2)"},
      {"a map as a key", "{a: 1}: 2\n", "ConfigError", "app.yaml:1:1: a key must be a plain string"},
      // --- the document as a whole
      {"an empty file", "", "ConfigError", "app.yaml:1:1: the configuration is empty"},
      {"only comments", "# nothing here\n", "ConfigError", "app.yaml:1:1: the configuration is empty"},
      {"a scalar document", "hello\n", "ConfigError", "app.yaml:1:1: the configuration must be a map of sections"},
      {"a list document", "- models\n", "ConfigError", "app.yaml:1:1: the configuration must be a map of sections"},
      {"an unknown section with a suggestion", "modles: {}\n", "ConfigError",
       "app.yaml:1:1: unknown key 'modles' (did you mean 'models'?)"},
      {"an unknown section without a close match", "servers: {}\n", "ConfigError",
       "app.yaml:1:1: unknown key 'servers' (valid keys: callbacks, models, pipelines, plugins, prompts)"},
      {"nesting 10,000 levels deep", "a: " + nested_lists(10000) + "\n", "ConfigError",
       "app.yaml:1:20004: the configuration is nested more than 200 levels deep"},
      {"nesting past the reader's limit", "a: " + nested_lists(250) + "\n", "ConfigError",
       "app.yaml:1:203: the configuration is nested more than 200 levels deep"},
      {"aliases repeating a subtree (billion laughs)", billion_laughs(), "ConfigError",
       "the configuration has more than 1000000 values (aliases repeating a subtree?)", true},
      {"invalid UTF-8 in a key", "models:\n  m\xff\xfe: {provider: fake}\n", "ConfigError",
       "app.yaml:2:4: invalid UTF-8 byte 0xff: a configuration file must be UTF-8 text"},
      {"invalid UTF-8 in a value", fake_model + "prompts:\n  p: {template: \"caf\xc3\x28\"}\n", "ConfigError",
       "app.yaml:5:21: invalid UTF-8 byte 0xc3: a configuration file must be UTF-8 text"},
      {"a NUL byte", std::string("models:\n  m: {provider: fa\0ke}\n", 30), "ConfigError",
       "app.yaml:2:19: control character 0x00: a configuration file must be UTF-8 text"},
      {"an unset environment variable", "models:\n  m: {provider: \"${CHAINPP_BAD_INPUT_UNSET}\"}\n", "ConfigError",
       "app.yaml:2:17: environment variable 'CHAINPP_BAD_INPUT_UNSET' is not set"},
      {"an unterminated ${", "models:\n  m: {provider: \"${HOME\"}\n", "ConfigError",
       "app.yaml:2:17: unterminated '${' in value"},
      {"an invalid variable name", "models:\n  m: {provider: \"${1X}\"}\n", "ConfigError",
       "app.yaml:2:17: invalid environment variable reference '${1X}'"},
      // --- plugins
      {"plugins as a list", "plugins: [fake]\n", "ConfigError", "app.yaml:1:10: plugins must be a map"},
      {"plugins.load as a string", "plugins: {load: fake}\n", "ConfigError",
       "app.yaml:1:17: plugins.load must be a list of plugin names or paths"},
      {"plugins.load with a map", "plugins: {load: [{a: b}]}\n", "ConfigError",
       "app.yaml:1:18: plugins.load[0] must be a string"},
      {"plugins.paths as a map", "plugins: {paths: {a: b}}\n", "ConfigError",
       "app.yaml:1:18: plugins.paths must be a list of directories"},
      {"plugins.allow_writable not a boolean", "plugins: {allow_writable: yes}\n", "ConfigError",
       "app.yaml:1:27: plugins.allow_writable must be true or false"},
      {"a short sha256 pin", "plugins: {load: [fake], sha256: {fake: abc}}\n", "ConfigError",
       "app.yaml:1:40: plugins.sha256.fake must be 64 hexadecimal digits"},
      {"an unknown plugins key", "plugins: {laod: [fake]}\n", "ConfigError",
       "app.yaml:1:11: unknown key 'laod' in plugins (did you mean 'load'?)"},
      // --- models
      {"models as a string", "models: translator\n", "ConfigError", "app.yaml:1:9: models must be a map"},
      {"models as a list", "models: [a, b]\n", "ConfigError", "app.yaml:1:9: models must be a map"},
      {"a model as a string", "plugins: {load: [fake]}\nmodels:\n  m: fake\n", "ConfigError",
       "app.yaml:3:6: models.m must be a map with a provider"},
      {"a model without a provider", "plugins: {load: [fake]}\nmodels:\n  m: {responses: [hi]}\n", "ConfigError",
       "app.yaml:3:6: missing required key 'provider' in models.m"},
      {"a provider as a list", "plugins: {load: [fake]}\nmodels:\n  m: {provider: [fake]}\n", "ConfigError",
       "app.yaml:3:17: models.m.provider must be a string"},
      {"an unknown provider", "plugins: {load: [fake]}\nmodels:\n  m: {provider: fak}\n", "ConfigError",
       "app.yaml:3:17: unknown provider 'fak'; available providers: fake"},
      {"fake responses as a string", "plugins: {load: [fake]}\nmodels:\n  m: {provider: fake, responses: hi}\n",
       "ConfigError", "app.yaml:3:34: models.m.responses must be a list"},
      {"a fake token count that is text",
       "plugins: {load: [fake]}\nmodels:\n  m: {provider: fake, responses: [hi], usage: {input_tokens: x}}\n",
       "ConfigError", "app.yaml:3:62: models.m.usage.input_tokens must be an integer"},
      {"a negative fake token count",
       "plugins: {load: [fake]}\nmodels:\n  m: {provider: fake, responses: [hi], usage: {input_tokens: -1}}\n",
       "ConfigError", "app.yaml:3:62: 'input_tokens' must be a token count from 0 to 1000000000000"},
      {"fake token counts whose sum would overflow",
       "plugins: {load: [fake]}\nmodels:\n  m: {provider: fake, responses: [hi], usage: {input_tokens: 9223372036854775807, "
       "output_tokens: 1}}\n",
       "ConfigError", "app.yaml:3:62: 'input_tokens' must be a token count from 0 to 1000000000000"},
      // --- azure_openai settings (wrong types, out of range)
      {"an unknown model key with a suggestion", azure_model + "    temprature: 0\n", "ConfigError",
       "app.yaml:9:5: unknown key 'temprature' in models.m (did you mean 'temperature'?)"},
      {"temperature as text", azure_model + "    temperature: hot\n", "ConfigError",
       "app.yaml:9:18: models.m.temperature must be a number"},
      {"temperature quoted", azure_model + "    temperature: \"0.5\"\n", "ConfigError",
       "app.yaml:9:18: models.m.temperature must be a number"},
      {"temperature as a list", azure_model + "    temperature: [0]\n", "ConfigError",
       "app.yaml:9:18: models.m.temperature must be a number"},
      {"temperature out of range", azure_model + "    temperature: 3\n", "ConfigError",
       "app.yaml:9:18: 'temperature' must be between 0 and 2"},
      {"temperature not a number (.nan)", azure_model + "    temperature: .nan\n", "ConfigError",
       "app.yaml:9:18: models.m.temperature must be a finite number"},
      {"a negative timeout", azure_model + "    timeout: -1\n", "ConfigError",
       "app.yaml:9:14: 'timeout' must be a positive number of seconds, at most 1000000"},
      {"a zero timeout", azure_model + "    timeout: 0\n", "ConfigError",
       "app.yaml:9:14: 'timeout' must be a positive number of seconds, at most 1000000"},
      {"an infinite timeout", azure_model + "    timeout: .inf\n", "ConfigError",
       "app.yaml:9:14: models.m.timeout must be a finite number"},
      {"a timeout with a unit", azure_model + "    timeout: 10s\n", "ConfigError",
       "app.yaml:9:14: models.m.timeout must be a number"},
      {"a timeout of 1e300 seconds", azure_model + "    timeout: 1e300\n", "ConfigError",
       "app.yaml:9:14: 'timeout' must be a positive number of seconds, at most 1000000"},
      {"a zero stream_idle_timeout", azure_model + "    stream_idle_timeout: 0\n", "ConfigError",
       "app.yaml:9:26: 'stream_idle_timeout' must be a positive number of seconds, at most 1000000"},
      {"a stream_idle_timeout as text", azure_model + "    stream_idle_timeout: soon\n", "ConfigError",
       "app.yaml:9:26: models.m.stream_idle_timeout must be a number"},
      {"a negative max_retry_after", azure_model + "    max_retry_after: -1\n", "ConfigError",
       "app.yaml:9:22: 'max_retry_after' must be between 0 and 1000000"},
      {"top_p above 1", azure_model + "    top_p: 1.5\n", "ConfigError",
       "app.yaml:9:12: 'top_p' must be between 0 and 1"},
      {"a presence_penalty below -2", azure_model + "    presence_penalty: -3\n", "ConfigError",
       "app.yaml:9:23: 'presence_penalty' must be between -2 and 2"},
      {"a zero max_tokens", azure_model + "    max_tokens: 0\n", "ConfigError",
       "app.yaml:9:17: 'max_tokens' must be between 1 and 2147483647"},
      {"n of 1000", azure_model + "    n: 1000\n", "ConfigError", "app.yaml:9:8: 'n' must be between 1 and 128"},
      {"top_logprobs of 21", azure_model + "    top_logprobs: 21\n", "ConfigError",
       "app.yaml:9:19: 'top_logprobs' must be between 0 and 20"},
      {"a negative max_retries", azure_model + "    max_retries: -1\n", "ConfigError",
       "app.yaml:9:18: 'max_retries' must be between 0 and 100"},
      {"a huge max_retries", azure_model + "    max_retries: 1000000\n", "ConfigError",
       "app.yaml:9:18: 'max_retries' must be between 0 and 100"},
      {"max_retries past int64", azure_model + "    max_retries: 99999999999999999999\n", "ConfigError",
       "app.yaml:9:18: models.m.max_retries must be an integer between -9223372036854775808 and "
       "9223372036854775807"},
      {"a fractional max_retries", azure_model + "    max_retries: 1.5\n", "ConfigError",
       "app.yaml:9:18: models.m.max_retries must be an integer"},
      {"max_tokens as a map", azure_model + "    max_tokens: {n: 1}\n", "ConfigError",
       "app.yaml:9:17: models.m.max_tokens must be an integer"},
      {"streaming as yes", azure_model + "    streaming: yes\n", "ConfigError",
       "app.yaml:9:16: models.m.streaming must be true or false"},
      {"stop as a map", azure_model + "    stop: {a: b}\n", "ConfigError", "app.yaml:9:11: models.m.stop must be a string"},
      {"stop with a list inside", azure_model + "    stop: [[a]]\n", "ConfigError",
       "app.yaml:9:12: models.m.stop[0] must be a string"},
      {"default_headers as a list", azure_model + "    default_headers: [a]\n", "ConfigError",
       "app.yaml:9:22: 'default_headers' must be a map of names to strings"},
      {"a default header as a map", azure_model + "    default_headers: {x-a: {b: c}}\n", "ConfigError",
       "app.yaml:9:28: models.m.default_headers.x-a must be a string"},
      {"reasoning_effort unknown", azure_model + "    reasoning_effort: extreme\n", "ConfigError",
       "app.yaml:9:23: 'reasoning_effort' must be low, medium or high"},
      {"response_format as a list", azure_model + "    response_format: [json]\n", "ConfigError",
       "app.yaml:9:22: 'response_format' must be text, json_object, or a map"},
      {"an endpoint without https://", "plugins: {load: [azure_openai]}\nmodels:\n  m:\n"
       "    provider: azure_openai\n    azure_deployment: d\n    azure_endpoint: example.com\n"
       "    api_version: v\n    api_key: k\n", "ConfigError",
       "app.yaml:6:21: azure_openai: azure_endpoint 'example.com' must start with http:// or https:// "
       "(e.g. https://YOUR-RESOURCE.openai.azure.com)"},
      {"a missing deployment", "plugins: {load: [azure_openai]}\nmodels:\n  m:\n    provider: azure_openai\n"
       "    azure_endpoint: https://x\n    api_version: v\n    api_key: k\n", "ConfigError",
       "app.yaml:4:5: azure_openai needs 'azure_deployment' (the name of your deployment)"},
      // --- prompts
      {"prompts as a list", "prompts: [a]\n", "ConfigError", "app.yaml:1:10: prompts must be a map"},
      {"a prompt as a string", "prompts:\n  p: hello\n", "ConfigError",
       "app.yaml:2:6: prompts.p must be a map with messages"},
      {"a prompt without messages", "prompts:\n  p: {}\n", "ConfigError",
       "app.yaml:2:6: missing required key 'messages' in prompts.p"},
      {"messages as a string", "prompts:\n  p: {messages: hello}\n", "ConfigError",
       "app.yaml:2:17: prompts.p.messages must be a non-empty list of [role, template] pairs"},
      {"an empty message list", "prompts:\n  p: {messages: []}\n", "ConfigError",
       "app.yaml:2:17: prompts.p.messages must be a non-empty list of [role, template] pairs"},
      {"a message of three items", "prompts:\n  p: {messages: [[human, a, b]]}\n", "ConfigError",
       "app.yaml:2:18: prompts.p.messages[0] must be a [role, template] pair"},
      {"a message as a map", "prompts:\n  p: {messages: [{human: hi}]}\n", "ConfigError",
       "app.yaml:2:18: prompts.p.messages[0] must be a [role, template] pair"},
      {"a template as a map", "prompts:\n  p: {messages: [[human, {a: b}]]}\n", "ConfigError",
       "app.yaml:2:26: prompts.p.messages[0][1] must be a string"},
      {"a role as a list", "prompts:\n  p: {messages: [[[human], hi]]}\n", "ConfigError",
       "app.yaml:2:19: prompts.p.messages[0][0] must be a string"},
      {"an unknown role", "prompts:\n  p: {messages: [[robot, hi]]}\n", "ConfigError",
       "app.yaml:2:19: unknown message role 'robot' in prompt template; expected one of: system, human, user, ai, "
       "assistant, placeholder"},
      {"an unbalanced template", "prompts:\n  p: {template: \"hi {name\"}\n", "ConfigError",
       "app.yaml:2:17: prompt template: unbalanced '{' at position 3 in \"hi {name\""},
      {"both template and messages", "prompts:\n  p: {template: hi, messages: [[human, hi]]}\n", "ConfigError",
       "app.yaml:2:17: prompts.p has both template and messages"},
      // --- pipelines
      {"pipelines as a list", "pipelines: [a]\n", "ConfigError", "app.yaml:1:12: pipelines must be a map"},
      {"steps as a string", fake_model + "pipelines:\n  x: {steps: m}\n", "ConfigError",
       "app.yaml:5:14: pipelines.x.steps must be a non-empty list of steps"},
      {"a pipeline without steps", fake_model + "pipelines:\n  x: {}\n", "ConfigError",
       "app.yaml:5:6: missing required key 'steps' in pipelines.x"},
      {"a step with two kinds", fake_model + "pipelines:\n  x: {steps: [{model: m, parser: str}]}\n", "ConfigError",
       "app.yaml:5:15: pipelines.x.steps[0] must be one of {prompt: NAME}, {model: NAME}, {parser: str|json}"},
      {"a misspelt step kind", fake_model + "pipelines:\n  x: {steps: [{modle: m}]}\n", "ConfigError",
       "app.yaml:5:16: unknown key 'modle' in pipelines.x.steps[0] (did you mean 'model'?)"},
      {"a step naming a list", fake_model + "pipelines:\n  x: {steps: [{model: [m]}]}\n", "ConfigError",
       "app.yaml:5:23: pipelines.x.steps[0].model must be a string"},
      {"an unknown model in a step", fake_model + "pipelines:\n  x: {steps: [{model: n}]}\n", "ConfigError",
       "app.yaml:5:23: unknown model 'n' (did you mean 'm'?)"},
      {"an unknown parser", fake_model + "pipelines:\n  x: {steps: [{model: m}, {parser: xml}]}\n", "ConfigError",
       "app.yaml:5:36: unknown parser 'xml' (available parsers: json, str)"},
      // --- callbacks
      {"callbacks as a map", "callbacks: {type: trace}\n", "ConfigError", "app.yaml:1:12: callbacks must be a list"},
      {"a callback as a string", "callbacks: [trace]\n", "ConfigError",
       "app.yaml:1:13: callbacks[0] must be a map with a type"},
      {"a callback without a type", "callbacks: [{path: t.jsonl}]\n", "ConfigError",
       "app.yaml:1:13: missing required key 'type' in callbacks[0]"},
      {"an unknown callback type", "callbacks: [{type: tracer}]\n", "ConfigError",
       "app.yaml:1:20: unknown callback type 'tracer' (did you mean 'trace'?)"},
      {"a missing pricing file", "callbacks: [{type: usage_cost, pricing: no-such-pricing.yaml}]\n", "ConfigError",
       "app.yaml:1:41: pricing file not found: ", true},
  };
  run_table(rows, [](const std::string& text) { load_yaml(text); });
}

TEST_CASE("bad input: configuration files that are not YAML text", "[bad_input]") {
  const std::string missing = work.path("no-such-config.yaml");
  const std::string directory = work.path("a-directory.yaml");
  std::filesystem::create_directories(directory);
  const std::string empty = work.path("empty.yaml");
  std::ofstream(empty).flush();
  const std::string binary = work.path("binary.yaml");
  {
    std::ofstream out(binary, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 7919 + 13) % 256));
  }
  const std::string elf = work.path("plugin.yaml");
  {
    std::ofstream out(elf, std::ios::binary);
    out << std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0", 20);
  }
  const std::string utf16 = work.path("utf16.yaml");
  {
    std::ofstream out(utf16, std::ios::binary);
    out << std::string("\xff\xfem\0o\0d\0e\0l\0s\0:\0 \0[\0", 20);
  }
  const std::vector<Row> rows = {
      {"a missing file", missing, "ConfigError", missing + ": cannot open configuration file"},
      {"a directory", directory, "ConfigError", directory + ": is a directory, not a configuration file"},
      {"an empty file", empty, "ConfigError", empty + ":1:1: the configuration is empty"},
      {"a binary file", binary, "ConfigError",
       binary + ":1:2: invalid UTF-8 byte 0xfc: a configuration file must be UTF-8 text"},
      {"an ELF header", elf, "ConfigError", elf + ":1:1: control character 0x7f: a configuration file must be UTF-8 text"},
      {"UTF-16", utf16, "ConfigError", utf16 + ":1:1: invalid UTF-8 byte 0xff: a configuration file must be UTF-8 text"},
  };
  run_table(rows, [](const std::string& path) { App::load(path, app_options()); });
}

// ---------------------------------------------------------------- pipeline inputs

TEST_CASE("bad input: prompt templates and pipeline inputs", "[bad_input]") {
  const auto translate = ChatPromptTemplate::from_messages(
      {{"system", "Translate {input_language} to {output_language}."}, {"human", "{input}"}});
  const auto single = ChatPromptTemplate::from_template("Say {input}");
  const auto with_history = ChatPromptTemplate::from_messages(
      {{"system", "Be brief."}, MessagesPlaceholder{"history", false}, {"human", "{input}"}});
  const std::string huge(10 * 1024 * 1024, 'x');
  const std::string bad_utf8 = "caf\xc3\x28 \xff";

  SECTION("template text") {
    const std::vector<Row> rows = {
        {"an unbalanced '{'", "Hello {name", "PromptError",
         "prompt template: unbalanced '{' at position 6 in \"Hello {name\""},
        {"an unbalanced '}'", "Hello name}", "PromptError",
         "prompt template: unbalanced '}' at position 10 in \"Hello name}\""},
        {"an empty placeholder", "Hello {}", "PromptError",
         "prompt template: empty placeholder '{}' at position 6 in \"Hello {}\""},
        {"a name with a space", "Hello {first name}", "PromptError",
         "prompt template: invalid variable name 'first name' at position 6 in \"Hello {first name}\"; write '{{' "
         "and '}}' for literal braces"},
        {"a JSON example in the template", "Answer as {\"a\": 1}", "PromptError",
         "prompt template: invalid variable name '\"a\": 1' at position 10 in \"Answer as {\"a\": 1}\"; write '{{' "
         "and '}}' for literal braces"},
        {"a lone '}' after an escaped one", "a }} b } c", "PromptError",
         "prompt template: unbalanced '}' at position 7 in \"a }} b } c\""},
        {"invalid UTF-8 in a name", "{na\xffme}", "PromptError",
         "prompt template: invalid variable name 'na\xffme' at position 0", true},
        {"a 10 MB template without placeholders", huge, "ok", ""},
    };
    run_table(rows, [](const std::string& text) { PromptTemplate t(text); });
  }

  SECTION("roles") {
    const std::vector<Row> rows = {
        {"an unknown role", "robot", "PromptError",
         "unknown message role 'robot' in prompt template; expected one of: system, human, user, ai, assistant, "
         "placeholder"},
        {"an empty role", "", "PromptError",
         "unknown message role '' in prompt template; expected one of: system, human, user, ai, assistant, "
         "placeholder"},
        {"a placeholder that is not one variable", "placeholder", "PromptError",
         "a 'placeholder' message must be exactly \"{variable}\", got \"x {y}\""},
    };
    run_table(rows, [](const std::string& role) { MessageLike m(role, role == "placeholder" ? "x {y}" : "hi"); });
  }

  SECTION("invoke") {
    struct InputRow {
      std::string name;
      std::shared_ptr<ChatPromptTemplate> prompt;
      Value input;
      std::string kind;
      std::string message;
    };
    const std::vector<InputRow> rows = {
        {"a missing variable", translate, Value(ValueMap{{"input", "hi"}, {"input_language", "English"}}),
         "PromptError",
         "missing variable 'output_language' for prompt template; expected: input, input_language, "
         "output_language; received: input, input_language"},
        {"no variables at all", translate, Value(ValueMap{}), "PromptError",
         "missing variables 'input', 'input_language', 'output_language' for prompt template; expected: input, "
         "input_language, output_language; received: (none)"},
        {"a misspelt variable", single, Value(ValueMap{{"inptu", "x"}}), "PromptError",
         "missing variable 'input' for prompt template; expected: input; received: inptu"},
        {"text where a map of several variables is expected", translate, Value("hello"), "InputError",
         "ChatPromptTemplate expects a map of variables (input, input_language, output_language), got text"},
        {"a JSON list where a map is expected", translate, Value::json(Json::array({1, 2})), "InputError",
         "ChatPromptTemplate expects a map of variables (input, input_language, output_language), got json"},
        {"null where a map is expected", translate, Value(), "InputError",
         "ChatPromptTemplate expects a map of variables (input, input_language, output_language), got null"},
        {"text where messages are expected", with_history, Value(ValueMap{{"history", "hi"}, {"input", "x"}}),
         "InputError", "messages placeholder 'history' expects messages, got text"},
        {"a map where messages are expected", with_history,
         Value(ValueMap{{"history", Value(ValueMap{})}, {"input", "x"}}), "InputError",
         "messages placeholder 'history' expects messages, got map"},
        {"null where messages are expected", with_history, Value(ValueMap{{"history", Value()}, {"input", "x"}}),
         "InputError", "messages placeholder 'history' expects messages, got null"},
        // Accepted: a single-variable prompt takes any value as that variable; a
        // JSON value is written as JSON, text is passed through byte for byte.
        {"a JSON object for a text variable", single, Value(ValueMap{{"input", Value::json(Json{{"a", 1}})}}), "ok",
         ""},
        {"invalid UTF-8 in an input", single, Value(ValueMap{{"input", bad_utf8}}), "ok", ""},
        {"a 10 MB input", single, Value(ValueMap{{"input", huge}}), "ok", ""},
    };
    for (const auto& row : rows) {
      DYNAMIC_SECTION(row.name) {
        check_outcome({row.name, "", row.kind, row.message}, outcome([&] { row.prompt->invoke(row.input); }));
      }
    }
  }

  SECTION("values converted for the next step") {
    const std::vector<Row> rows = {
        {"StrOutputParser given a map", "str", "InputError",
         "StrOutputParser expects text, a message or a chunk, got map"},
        {"JsonOutputParser given a map", "json", "InputError",
         "JsonOutputParser expects text, a message or a chunk, got map"},
        {"a chat model given a map", "model", "InputError", "a chat model takes messages, a message or text, got a ",
         true},
    };
    App app = load_yaml(fake_model);
    run_table(rows, [&](const std::string& step) {
      RunnablePtr r = step == "str"    ? RunnablePtr(std::make_shared<StrOutputParser>())
                      : step == "json" ? RunnablePtr(std::make_shared<JsonOutputParser>())
                                       : RunnablePtr(app.model("m"));
      r->invoke(Value(ValueMap{{"a", "b"}}));
    });
  }

  SECTION("formatted output keeps the input") {
    CHECK(single->invoke(Value(ValueMap{{"input", Value::json(Json{{"a", 1}})}})).as_messages()[0].text() ==
          "Say {\"a\":1}");
    CHECK(single->invoke(Value(ValueMap{{"input", huge}})).as_messages()[0].text().size() == huge.size() + 4);
  }
}

TEST_CASE("bad input: text the request body cannot carry", "[bad_input]") {
  const std::vector<Row> rows = {
      {"invalid UTF-8 in a message", "caf\xc3\x28", "InputError",
       "messages[1].content is not valid UTF-8: invalid byte 0xc3 at offset 3"},
      {"a lone continuation byte", "ab\x80", "InputError",
       "messages[1].content is not valid UTF-8: invalid byte 0x80 at offset 2"},
      {"a truncated sequence at the end", "ab\xe2\x82", "InputError",
       "messages[1].content is not valid UTF-8: invalid byte 0xe2 at offset 2"},
      {"an encoded surrogate", "\xed\xa0\x80", "InputError",
       "messages[1].content is not valid UTF-8: invalid byte 0xed at offset 0"},
      {"an overlong encoding", "\xc0\xaf", "InputError",
       "messages[1].content is not valid UTF-8: invalid byte 0xc0 at offset 0"},
      {"valid multi-byte text", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "ok", ""},
      {"a NUL byte", std::string("a\0b", 3), "ok", ""},
  };
  run_table(rows, [](const std::string& text) {
    openai_wire::build_request_body({SystemMessage("ok"), HumanMessage(text)}, {}, {});
  });
}

// ---------------------------------------------------------------- server responses

namespace {

openai_wire::ResponseShape shape() { return {"azure_openai", "", "req-1"}; }

std::string completion(const std::string& message, const std::string& rest = "") {
  return R"({"model":"gpt-35-turbo","choices":[{"index":0,"message":)" + message +
         R"(,"finish_reason":"stop"}])" + rest + "}";
}
std::string with_usage(const std::string& usage) {
  return completion(R"({"role":"assistant","content":"hi"})", R"(,"usage":)" + usage);
}
std::string malformed(const std::string& what) {
  return "azure_openai: malformed response: " + what + " (request id req-1)";
}

}  // namespace

TEST_CASE("bad input: chat-completion responses", "[bad_input]") {
  const std::string ten_mb(10 * 1024 * 1024, 'a');
  const std::vector<Row> rows = {
      {"an empty body", "", "BadResponseError", malformed("the body is empty (HTTP 200)")},
      {"an HTML page", "<html>Bad Gateway</html>", "BadResponseError",
       malformed("invalid JSON at offset 0: Invalid value.")},
      {"a truncated body", R"({"choices":[{"message":{"content":"Hel)", "BadResponseError",
       malformed("invalid JSON at offset 38: Missing a closing quotation mark in string.")},
      {"a body cut after a member", R"({"choices":[)", "BadResponseError",
       malformed("invalid JSON at offset 12: Invalid value.")},
      {"trailing garbage", R"({"choices":[]} x)", "BadResponseError",
       malformed("invalid JSON at offset 15: The document root must not be followed by other values.")},
      {"an array", "[]", "BadResponseError", malformed("expected a JSON object")},
      {"a string", "\"ok\"", "BadResponseError", malformed("expected a JSON object")},
      {"a number", "42", "BadResponseError", malformed("expected a JSON object")},
      {"null", "null", "BadResponseError", malformed("expected a JSON object")},
      {"no choices", R"({"id":"x"})", "BadResponseError", malformed("the response has no choices")},
      {"empty choices", R"({"choices":[]})", "BadResponseError", malformed("the response has no choices")},
      {"choices as an object", R"({"choices":{"message":{}}})", "BadResponseError",
       malformed("choices is object, expected an array")},
      {"a choice that is a number", R"({"choices":[1]})", "BadResponseError",
       malformed("choices[0] has no message")},
      {"no message", R"({"choices":[{"index":0}]})", "BadResponseError", malformed("choices[0] has no message")},
      {"a message that is a string", completion("\"hi\""), "BadResponseError",
       malformed("choices[0].message is string, expected an object")},
      {"content as a number", completion(R"({"role":"assistant","content":42})"), "BadResponseError",
       malformed("choices[0].message.content is integer, expected a string or null")},
      {"content as an object", completion(R"({"role":"assistant","content":{"text":"hi"}})"), "BadResponseError",
       malformed("choices[0].message.content is object, expected a string or null")},
      {"tool_calls as an object", completion(R"({"content":null,"tool_calls":{"id":"c"}})"), "BadResponseError",
       malformed("choices[0].message.tool_calls is object, expected an array")},
      {"a tool call that is a string", completion(R"({"content":null,"tool_calls":["f"]})"), "BadResponseError",
       malformed("choices[0].message.tool_calls[0] has no function")},
      {"a tool call without a function", completion(R"({"content":null,"tool_calls":[{"id":"c"}]})"),
       "BadResponseError", malformed("choices[0].message.tool_calls[0] has no function")},
      {"usage with negative tokens", with_usage(R"({"prompt_tokens":-5,"completion_tokens":1,"total_tokens":-4})"),
       "BadResponseError", malformed("usage.prompt_tokens is -5, expected a non-negative integer")},
      {"usage with fractional tokens", with_usage(R"({"prompt_tokens":1.5,"completion_tokens":1})"),
       "BadResponseError", malformed("usage.prompt_tokens is 1.5, expected a non-negative integer")},
      {"usage with a token count as text", with_usage(R"({"prompt_tokens":"12","completion_tokens":1})"),
       "BadResponseError", malformed("usage.prompt_tokens is \"12\", expected a non-negative integer")},
      {"usage with a count past int64", with_usage(R"({"prompt_tokens":1,"completion_tokens":1e30})"),
       "BadResponseError", malformed("usage.completion_tokens is 1e30, expected a non-negative integer")},
      {"usage with a count past uint64",
       with_usage(R"({"prompt_tokens":1,"completion_tokens":1,"total_tokens":99999999999999999999})"),
       "BadResponseError",
       malformed("usage.total_tokens is 100000000000000000000.0, expected a non-negative integer")},
      {"usage details with a negative count",
       with_usage(R"({"prompt_tokens":1,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":-1}})"),
       "BadResponseError",
       malformed("usage.prompt_tokens_details.cached_tokens is -1, expected a non-negative integer")},
      {"invalid UTF-8 in content", completion("{\"content\":\"caf\xc3\x28\"}"), "BadResponseError",
       malformed("invalid JSON at offset 71: Invalid encoding in string.")},
      {"invalid UTF-8 in a key", "{\"cho\xffices\":[]}", "BadResponseError",
       malformed("invalid JSON at offset 5: Invalid encoding in string.")},
      {"the content filter cut the completion",
       R"({"choices":[{"message":{"content":"partial"},"finish_reason":"content_filter",)"
       R"("content_filter_results":{"violence":{"filtered":true,"severity":"high"}}}]})",
       "ContentFilterError",
       "azure_openai: the completion was stopped by the content filter (finish_reason content_filter) (triggered: "
       "violence (high)) (request id req-1)"},
      // Accepted: what the protocol allows, and huge but well-formed values.
      {"content null", completion(R"({"role":"assistant","content":null})"), "ok", ""},
      {"usage counts of null", with_usage(R"({"prompt_tokens":null,"completion_tokens":2})"), "ok", ""},
      {"usage counts at int64's maximum",
       with_usage(R"({"prompt_tokens":9223372036854775807,"completion_tokens":0,"total_tokens":9223372036854775807})"),
       "ok", ""},
      {"a 10 MB content string", completion(R"({"content":")" + ten_mb + "\"}"), "ok", ""},
      {"tool-call arguments as an object",
       completion(R"({"content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":{"x":1}}}]})"),
       "ok", ""},
  };
  run_table(rows, [](const std::string& body) { openai_wire::parse_completion(body, shape()); });

  SECTION("what the accepted rows give") {
    const auto big = openai_wire::parse_completion(completion(R"({"content":")" + ten_mb + "\"}"), shape());
    CHECK(big.text().size() == ten_mb.size());
    const auto nulls =
        openai_wire::parse_completion(with_usage(R"({"prompt_tokens":null,"completion_tokens":2})"), shape());
    REQUIRE(nulls.usage_metadata);
    CHECK(nulls.usage_metadata->input_tokens == 0);
    CHECK(nulls.usage_metadata->total_tokens == 2);
    const auto object_args = openai_wire::parse_completion(
        completion(R"({"content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":{"x":1}}},)"
                   R"({"id":"d","function":{"name":"g","arguments":[1]}}]})"),
        shape());
    REQUIRE(object_args.tool_calls.size() == 1);
    CHECK(object_args.tool_calls[0] == ToolCall{"f", Json{{"x", 1}}, "c"});
    REQUIRE(object_args.invalid_tool_calls.size() == 1);
    CHECK(object_args.invalid_tool_calls[0] ==
          InvalidToolCall{"g", "[1]", "d", "arguments are a JSON array, expected an object"});
  }
}

TEST_CASE("bad input: stream events", "[bad_input]") {
  const std::vector<Row> rows = {
      {"an empty event", "", "BadResponseError", malformed("invalid JSON at offset 0: The document is empty.")},
      {"a truncated event", R"({"choices":[{"delta":{"content":"Hel)", "BadResponseError",
       malformed("invalid JSON at offset 36: Missing a closing quotation mark in string.")},
      {"an array", "[1]", "BadResponseError", malformed("stream event is not a JSON object")},
      {"a string", "\"[DONE]\"", "BadResponseError", malformed("stream event is not a JSON object")},
      {"content as a number", R"({"choices":[{"index":0,"delta":{"content":5}}]})", "BadResponseError",
       malformed("choices[0].delta.content is integer, expected a string or null")},
      {"a fractional tool-call index",
       R"({"choices":[{"delta":{"tool_calls":[{"index":1.5,"function":{"arguments":"{"}}]}}]})", "BadResponseError",
       malformed("choices[0].delta.tool_calls[0].index is 1.5, expected a non-negative integer")},
      {"a negative tool-call index", R"({"choices":[{"delta":{"tool_calls":[{"index":-1}]}}]})",
       "BadResponseError", malformed("choices[0].delta.tool_calls[0].index is -1, expected a non-negative integer")},
      {"a huge tool-call index", R"({"choices":[{"delta":{"tool_calls":[{"index":4294967296}]}}]})",
       "BadResponseError",
       malformed("choices[0].delta.tool_calls[0].index is 4294967296, expected a non-negative integer")},
      {"usage with a fractional count", R"({"choices":[],"usage":{"prompt_tokens":2.5,"completion_tokens":1}})",
       "BadResponseError", malformed("usage.prompt_tokens is 2.5, expected a non-negative integer")},
      {"invalid UTF-8 in a delta", "{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}", "BadResponseError",
       malformed("invalid JSON at offset 33: Invalid encoding in string.")},
      {"an error event as text", R"({"error":"overloaded"})", "ServerError",
       "azure_openai: error in stream: overloaded (request id req-1)"},
      {"an error event with wrong member types", R"({"error":{"code":5,"message":["x"]}})", "ServerError",
       "azure_openai: error in stream 5: {\"code\":5,\"message\":[\"x\"]} (request id req-1)"},
      {"an error event from the content filter",
       R"({"error":{"code":"content_filter","message":"filtered","innererror":{"content_filter_result":{}}}})",
       "ContentFilterError", "azure_openai: error in stream content_filter: filtered (request id req-1)"},
      {"a content-filter stop", R"({"choices":[{"delta":{},"finish_reason":"content_filter"}]})",
       "ContentFilterError",
       "azure_openai: the completion was stopped by the content filter (finish_reason content_filter) (request id "
       "req-1)"},
      {"choices as an object", R"({"choices":{"delta":{}}})", "BadResponseError",
       malformed("choices is object, expected an array")},
      {"a delta that is a string", R"({"choices":[{"delta":"hi"}]})", "BadResponseError",
       malformed("choices[0].delta is string, expected an object")},
      // Accepted: Azure's filter-only and usage-only chunks, null members.
      {"no choices (a usage chunk)", R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}})", "ok", ""},
      {"no delta (a filter chunk)", R"({"choices":[{"index":0,"content_filter_results":{}}]})", "ok", ""},
      {"content null", R"({"choices":[{"delta":{"content":null}}]})", "ok", ""},
  };
  run_table(rows, [](const std::string& data) {
    openai_wire::StreamDecoder decoder(shape());
    decoder.decode(data);
  });
}

TEST_CASE("bad input: HTTP error bodies", "[bad_input]") {
  struct ErrorRow {
    std::string name;
    int status;
    HttpHeaders headers;
    std::string body;
    std::string kind;
    std::string message;
    bool contains = false;
  };
  const std::string huge_message(1024 * 1024, 'm');
  const std::vector<ErrorRow> rows = {
      {"an empty body", 500, {}, "", "ServerError", "azure_openai: HTTP 500: Internal Server Error (1 attempt)"},
      {"an HTML body", 502, {}, "<html>\r\n<h1>Bad Gateway</h1>\n</html>", "ServerError",
       "azure_openai: HTTP 502: Bad Gateway (1 attempt) Response body: <html>  <h1>Bad Gateway</h1> </html>"},
      {"a 1 MB text body", 503, {}, std::string(1024 * 1024, 'x'), "ServerError",
       "azure_openai: HTTP 503: Service Unavailable (1 attempt) Response body: " + std::string(200, 'x') + "..."},
      {"a truncated JSON body", 400, {}, R"({"error":{"message":"Invalid)", "BadRequestError",
       R"(azure_openai: HTTP 400: Bad Request (1 attempt) Response body: {"error":{"message":"Invalid)"},
      {"error as a string", 500, {}, R"({"error":"upstream timed out"})", "ServerError",
       "azure_openai: HTTP 500: upstream timed out (1 attempt)"},
      {"a JSON array", 400, {}, "[1,2]", "BadRequestError", "azure_openai: HTTP 400: Bad Request (1 attempt)"},
      {"error as a number", 404, {}, R"({"error":404})", "NotFoundError",
       "azure_openai: HTTP 404: Not Found (1 attempt) Check the deployment name, the endpoint and the api-version."},
      {"code and message of the wrong types", 400, {}, R"({"error":{"code":[1],"message":{"a":1}}})",
       "BadRequestError", "azure_openai: HTTP 400: Bad Request (1 attempt)"},
      {"a numeric code", 429, {{"x-request-id", "r-9"}}, R"({"error":{"code":"429","message":"Slow down."}})",
       "RateLimitError", "azure_openai: HTTP 429: Slow down. (request id r-9, 1 attempt)"},
      {"a negative retry-after", 429, {{"retry-after", "-5"}}, R"({"error":{"message":"Slow down."}})",
       "RateLimitError", "azure_openai: HTTP 429: Slow down. (1 attempt)"},
      {"a retry-after that is not a number", 429, {{"retry-after", "soon"}}, "", "RateLimitError",
       "azure_openai: HTTP 429: Too Many Requests (1 attempt)"},
      {"invalid UTF-8 in the message", 400, {}, "{\"error\":{\"message\":\"bad \xff\"}}", "BadRequestError",
       R"(azure_openai: HTTP 400: Bad Request (1 attempt) Response body: {"error":{"message":"bad ?"}})"},
      {"a content filter without results", 400, {}, R"({"error":{"code":"content_filter","message":"Filtered."}})",
       "ContentFilterError", "azure_openai: HTTP 400 content_filter: Filtered. (1 attempt)"},
      {"a 1 MB message", 500, {}, R"({"error":{"message":")" + huge_message + "\"}}", "ServerError",
       "azure_openai: HTTP 500: " + huge_message + " (1 attempt)"},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      check_outcome({row.name, "", row.kind, row.message, row.contains}, outcome([&] {
                      std::rethrow_exception(make_http_error("azure_openai", row.status, row.headers, row.body, 1));
                    }));
    }
  }
}

// ---------------------------------------------------------------- JSON output and tool-call arguments

TEST_CASE("bad input: JSON output parsers", "[bad_input]") {
  const std::vector<Row> rows = {
      {"empty output", "", "OutputParserError", "invalid JSON output at offset 0: unexpected end of input"},
      {"prose", "Sure! Here it is.", "OutputParserError",
       "invalid JSON output at offset 0: invalid value 'Sure'"},
      {"a truncated object", R"({"a": 1, "b": )", "OutputParserError",
       "invalid JSON output at offset 13: unexpected end of input"},
      {"a missing comma", R"({"a": 1 "b": 2})", "OutputParserError",
       "invalid JSON output at offset 8: expected ',' or '}' after an object member"},
      {"a single-quoted key", "{'a': 1}", "OutputParserError",
       "invalid JSON output at offset 1: expected a string key or '}'"},
      {"a trailing comma", "[1, 2,]", "OutputParserError", "invalid JSON output at offset 6: unexpected character ']'"},
      {"an unterminated string", R"({"a": "b)", "OutputParserError",
       "invalid JSON output at offset 6: unterminated string"},
      {"a bad escape", R"(["\x"])", "OutputParserError", "invalid JSON output at offset 1: invalid string"},
      {"invalid UTF-8 in a string", "[\"\xff\"]", "OutputParserError",
       "invalid JSON output at offset 1: invalid string"},
      {"two values", "[1] [2]", "OutputParserError",
       "invalid JSON output at offset 4: unexpected text after the JSON value"},
      {"an unclosed fence", "```json\n{\"a\": ", "OutputParserError",
       "invalid JSON output at offset 13: unexpected end of input"},
      {"nesting 100,000 levels deep", nested_lists(100000), "OutputParserError",
       "invalid JSON output at offset 512: nesting deeper than 512 levels"},
      {"NaN", "NaN", "ok", ""},
  };
  run_table(rows, [](const std::string& text) { JsonOutputParser().invoke(Value(text)); });

  SECTION("a schema that is not an object") {
    CHECK(outcome([] { JsonSchema(Json::array()); }).kind == "InputError");
    CHECK(outcome([] { JsonSchema(Json::array()); }).message == "JSON schema must be an object, got array");
  }
}

TEST_CASE("bad input: tool-call arguments", "[bad_input]") {
  struct ArgsRow {
    std::string name;
    std::string args;
    std::string error;  ///< the invalid tool call's error; "" when the call is valid
  };
  const std::vector<ArgsRow> rows = {
      {"truncated JSON", R"({"location": "Par)", "invalid JSON at offset 17: Missing a closing quotation mark in string."},
      {"an array", "[1, 2]", "arguments are a JSON array, expected an object"},
      {"a string", "\"Paris\"", "arguments are a JSON string, expected an object"},
      {"a number", "42", "arguments are a JSON integer, expected an object"},
      {"null", "null", "arguments are a JSON null, expected an object"},
      {"prose", "location is Paris", "invalid JSON at offset 0: Invalid value."},
      {"invalid UTF-8", "{\"location\": \"\xff\"}", "invalid JSON at offset 14: Invalid encoding in string."},
      {"nesting 100,000 levels deep", "{\"a\":" + nested_lists(100000) + "}",
       "invalid JSON at offset 517: nesting deeper than 512 levels"},
      {"whitespace only", " \n", ""},
      {"a valid object", R"({"location": "Paris"})", ""},
  };
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.name) {
      std::vector<ToolCall> calls;
      std::vector<InvalidToolCall> invalid;
      REQUIRE_NOTHROW(parse_tool_call("get_weather", row.args, "call_1", calls, invalid));
      if (row.error.empty()) {
        CHECK(calls.size() == 1);
        CHECK(invalid.empty());
      } else {
        REQUIRE(invalid.size() == 1);
        CHECK(calls.empty());
        CHECK(invalid[0].error == row.error);
        CHECK(invalid[0].args == row.args);
        CHECK(invalid[0].name == "get_weather");
      }
    }
  }
}
