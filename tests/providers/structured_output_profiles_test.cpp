// Model profiles (issue #17 item 4): with_structured_output falls back to a
// forced tool call for a model whose profile has no json_schema support, and
// a model's configuration is refused at load for settings its profile says
// it does not accept. The exact request bodies that reached a loopback
// server are asserted. A model the table does not cover behaves as before.
#include "provider_plugins.hpp"
#include "raw_server.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/data_files.hpp>
#include <chainpp/errors.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

using namespace chainpp;
using chainpp::test::RawServer;
using chainpp::test::Reply;

namespace {

const chainpp::test::TempDir work("chainpp_structured_output_profiles_test");

std::shared_ptr<ChatModel> make(const std::string& provider, const std::string& yaml,
                                const std::string& file = "app.yaml") {
  ConfigNode root = ConfigNode::parse_yaml(yaml, file);
  return chainpp::test::provider_registry().create(provider, root.at("m"), {});
}

std::string load_error(const std::string& provider, const std::string& yaml, const std::string& file = "app.yaml") {
  try {
    make(provider, yaml, file);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// An Azure model "m" on deployment "my-deployment" at `base`, with `lines` (indented by four).
std::string azure(const std::string& lines, const std::string& base = "http://127.0.0.1:9") {
  return "m:\n    provider: azure_openai\n    azure_endpoint: " + base +
         "\n    azure_deployment: my-deployment\n    api_key: k\n    api_version: 2024-10-21\n" + lines;
}

// Where the bundled table's entry whose `names:` line is `names_line` starts: "path:line:5".
std::string bundled_entry(const std::string& names_line) {
  const std::string path = bundled_data_file("model_profiles.yaml");
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line == "  - " + names_line) return path + ":" + std::to_string(n) + ":5";
  }
  FAIL("no entry '" << names_line << "' in " << path);
  return "";
}

std::string reply(const std::string& message) {
  const std::string body = R"({"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,)"
                           R"("message":)" + message + R"(,"finish_reason":"stop"}]})";
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}
const std::string kToolAnswer =
    R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",)"
    R"("function":{"name":"person","arguments":"{\"name\":\"Ada\"}"}}]})";
const std::string kJsonAnswer = R"({"role":"assistant","content":"{\"name\":\"Ada\"}"})";

const Json kSchema = Json::parse(
    R"({"title":"person","type":"object","properties":{"name":{"type":"string"}},"required":["name"],)"
    R"("additionalProperties":false})");

const std::string kMessages = R"("messages":[{"role":"user","content":"Who?"}])";
// The fallback of a model without json_schema: no `strict` (part of Structured Outputs).
const std::string kForcedTool =
    R"("tools":[{"type":"function","function":{"name":"person","parameters":{"title":"person",)"
    R"("type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}],)"
    R"("tool_choice":{"type":"function","function":{"name":"person"}})";
// function_calling asked for: strict as StructuredOutputOptions::strict says (true).
const std::string kStrictTool =
    R"("tools":[{"type":"function","function":{"name":"person","parameters":{"title":"person",)"
    R"("type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false},)"
    R"("strict":true}}],"tool_choice":{"type":"function","function":{"name":"person"}})";
const std::string kJsonSchema =
    R"("response_format":{"type":"json_schema","json_schema":{"name":"person","schema":{"title":"person",)"
    R"("type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false},)"
    R"("strict":true}})";

// The body of the one request `model` sent for with_structured_output(kSchema, options).
std::string structured_request(const std::string& lines, const std::string& answer,
                               StructuredOutputOptions options = {}) {
  RawServer server({Reply{reply(answer)}});
  auto model = make("azure_openai", azure(lines, server.base()));
  CHECK(model->with_structured_output(kSchema, options)->invoke(Value("Who?")).as_json() == Json{{"name", "Ada"}});
  REQUIRE(server.requests().size() == 1);
  const std::string request = server.requests()[0];
  return request.substr(request.find("\r\n\r\n") + 4);
}

}  // namespace

TEST_CASE("model profiles: structured output on gpt-35-turbo (no json_schema) is a forced tool call") {
  CHECK(structured_request("    model: gpt-35-turbo\n", kToolAnswer) ==
        "{" + kMessages + "," + kForcedTool + "}");
  // Azure's model_version-qualified name: gpt-35-turbo-0613 (its own entry, no json_schema either).
  CHECK(structured_request("    model: gpt-35-turbo\n    model_version: \"0613\"\n", kToolAnswer) ==
        "{" + kMessages + "," + kForcedTool + "}");
}

TEST_CASE("model profiles: structured output on gpt-4o-2024-08-06 (json_schema) is response_format json_schema") {
  CHECK(structured_request("    model: gpt-4o\n    model_version: 2024-08-06\n", kJsonAnswer) ==
        "{" + kMessages + "," + kJsonSchema + "}");
  CHECK(structured_request("    model: gpt-4o-2024-08-06\n", kJsonAnswer) == "{" + kMessages + "," + kJsonSchema + "}");
  // gpt-4o before 2024-08-06 has no json_schema: the dated entry wins over the family's.
  CHECK(structured_request("    model: gpt-4o\n    model_version: 2024-05-13\n", kToolAnswer) ==
        "{" + kMessages + "," + kForcedTool + "}");
}

TEST_CASE("model profiles: an explicit method wins over the profile") {
  StructuredOutputOptions json_schema;
  json_schema.method = StructuredOutputMethod::json_schema;
  CHECK(structured_request("    model: gpt-35-turbo\n", kJsonAnswer, json_schema) ==
        "{" + kMessages + "," + kJsonSchema + "}");
  StructuredOutputOptions tools;
  tools.method = StructuredOutputMethod::function_calling;
  CHECK(structured_request("    model: gpt-4o\n", kToolAnswer, tools) == "{" + kMessages + "," + kStrictTool + "}");
  CHECK(structured_request("    model: gpt-35-turbo\n", kToolAnswer, tools) == "{" + kMessages + "," + kStrictTool + "}");
}

TEST_CASE("model profiles: the key is the configured model, never the Azure deployment name") {
  // No `model`: the deployment is not looked up (as before the table), so json_schema.
  RawServer server({Reply{reply(kJsonAnswer)}});
  auto model = make("azure_openai", "m:\n    provider: azure_openai\n    azure_endpoint: " + server.base() +
                                        "\n    azure_deployment: gpt-35-turbo\n    api_key: k\n"
                                        "    api_version: 2024-10-21\n    temperature: 0.5\n    max_tokens: 9000\n");
  CHECK(model->profile() == std::nullopt);
  CHECK(model->with_structured_output(kSchema)->invoke(Value("Who?")).as_json() == Json{{"name", "Ada"}});
  REQUIRE(server.requests().size() == 1);
  const std::string request = server.requests()[0];
  CHECK(request.substr(request.find("\r\n\r\n") + 4) ==
        "{" + kMessages + R"(,"temperature":0.5,"max_tokens":9000,)" + kJsonSchema + "}");
}

TEST_CASE("model profiles: a model the table does not cover keeps today's behaviour") {
  RawServer server({Reply{reply(kJsonAnswer)}});
  auto model = make("azure_openai", azure("    model: my-own-model\n    temperature: 0.5\n    max_tokens: 999999\n"
                                          "    reasoning_effort: low\n",
                                          server.base()));
  CHECK(model->profile() == std::nullopt);
  CHECK(model->with_structured_output(kSchema)->invoke(Value("Who?")).as_json() == Json{{"name", "Ada"}});
  REQUIRE(server.requests().size() == 1);
  const std::string request = server.requests()[0];
  CHECK(request.substr(request.find("\r\n\r\n") + 4) ==
        "{" + kMessages + R"(,"temperature":0.5,"max_tokens":999999,"reasoning_effort":"low",)" + kJsonSchema + "}");
  // "gpt-4o3" is not a variant of "gpt-4o" (a variant continues with "-", ".ft-" or ":").
  CHECK(make("openai", "m: {provider: openai, api_key: k, model: gpt-4o3, temperature: 1}")->profile() == std::nullopt);
}

TEST_CASE("model profiles: the profile of a configured model") {
  auto p = make("azure_openai", azure("    model: gpt-35-turbo-0613.ft-abc123\n"))->profile();
  REQUIRE(p);
  CHECK(p->name == "gpt-35-turbo-0613");
  CHECK(p->location.to_string() == bundled_entry("names: [gpt-35-turbo-0613, gpt-3.5-turbo-0613]"));
  CHECK(p->json_schema == false);
  CHECK(p->tools == true);
  CHECK(p->parallel_tool_calls == false);
  CHECK(p->context_tokens == 4096);
  auto o3 = make("openai", "m: {provider: openai, api_key: k, model: o3-mini-2025-01-31}")->profile();
  REQUIRE(o3);
  CHECK(o3->name == "o3-mini");
  CHECK(o3->temperature == false);
  CHECK(o3->max_completion_tokens == true);
  CHECK(o3->reasoning_effort == std::vector<std::string>{"low", "medium", "high"});
  CHECK(o3->responses_api_only == false);
  CHECK(o3->output_tokens == 100000);
  auto pro = make("openai", "m: {provider: openai, api_key: k, model: o3-pro}")->profile();
  REQUIRE(pro);
  CHECK(pro->responses_api_only == true);
}

TEST_CASE("model profiles: settings a profile refuses are load errors at the setting") {
  CHECK(load_error("azure_openai", azure("    model: o3-mini\n    temperature: 0.2\n")) ==
        "app.yaml:8:18: 'temperature' is not accepted by model 'o3-mini' (profile 'o3-mini' at " +
            bundled_entry("names: [o3, o3-mini, o4-mini]") + "): remove it (the model uses its own sampling)");
  CHECK(load_error("openai", "m: {provider: openai, api_key: k, model: gpt-5-mini, temperature: 0}") ==
        "app.yaml:1:67: 'temperature' is not accepted by model 'gpt-5-mini' (profile 'gpt-5-mini' at " +
            bundled_entry("names: [gpt-5, gpt-5-mini, gpt-5-nano]") + "): remove it (the model uses its own sampling)");
  CHECK(load_error("azure_openai", azure("    model: o1\n    model_version: 2024-12-17\n    max_tokens: 100\n")) ==
        "app.yaml:9:17: 'max_tokens' is not accepted by model 'o1-2024-12-17' (profile 'o1' at " +
            bundled_entry("names: [o1]") + "): use 'max_completion_tokens'");
  CHECK(load_error("azure_openai", azure("    model: gpt-4o\n    reasoning_effort: low\n")) ==
        "app.yaml:8:23: 'reasoning_effort' is not accepted by model 'gpt-4o' (profile 'gpt-4o' at " +
            bundled_entry("names: [gpt-4o, chatgpt-4o-latest]") + "): remove it (not a reasoning model)");
  CHECK(load_error("azure_openai", azure("    model: gpt-35-turbo\n    max_tokens: 5000\n")) ==
        "app.yaml:8:17: 'max_tokens' 5000 is more than model 'gpt-35-turbo' can write: 4096 output tokens "
        "(profile 'gpt-35-turbo' at " + bundled_entry("names: [gpt-35-turbo, gpt-3.5-turbo]") + ")");
  // What the profile allows loads.
  CHECK(load_error("azure_openai", azure("    model: o4-mini\n    max_completion_tokens: 100000\n"
                                         "    reasoning_effort: high\n")) == "");
}

TEST_CASE("model profiles: model_profiles names a table of one's own, which wins over the bundled one") {
  const std::string dir = work.path("own");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/profiles.yaml") << "profiles:\n  - names: [o3-mini]\n    temperature: true\n"
                                           "    json_schema: false\n";
  const std::string config = dir + "/app.yaml";
  auto model = make("azure_openai", azure("    model: o3-mini\n    temperature: 0.2\n    model_profiles: profiles.yaml\n"),
                    config);
  REQUIRE(model->profile());
  CHECK(model->profile()->location.to_string() == dir + "/profiles.yaml:2:5");
  CHECK(model->profile()->max_completion_tokens == std::nullopt);
  CHECK(model->to_config().value("model_profiles", "") == "profiles.yaml");
  CHECK(load_error("azure_openai", azure("    model: o3-mini\n    model_profiles: nowhere.yaml\n"), config) ==
        config + ":8:21: model profiles file not found: " + dir + "/nowhere.yaml");
  std::ofstream(dir + "/bad.yaml") << "profiles:\n  - names: [o3-mini]\n    temprature: true\n";
  CHECK(load_error("azure_openai", azure("    model: o3-mini\n    model_profiles: bad.yaml\n"), config) ==
        dir + "/bad.yaml:3:5: unknown key 'temprature' in profiles[0] (did you mean 'temperature'?)");
}
