// The openai plugin (OpenAI and OpenAI-compatible servers) against the
// emulator's OpenAI layout: the same shared wire code as azure_openai, with
// OpenAI's URL, Bearer authentication and response metadata.
#include "emulator_process.hpp"
#include "request_schema.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/registry.hpp>

using namespace chainpp;
using chainpp::test::EmulatorProcess;
using chainpp::test::request_schema_violation;

namespace {

PluginRegistry& registry() {
  static PluginRegistry r;
  static bool loaded = (r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_openai.so"), true);
  (void)loaded;
  return r;
}

struct Fixture {
  EmulatorProcess emu;
  std::shared_ptr<ChatModel> model(const std::string& extra = "", const std::string& key = "test-key") const {
    return registry().create("openai", ConfigNode::parse_yaml("provider: openai\nmodel: gpt-4o-mini\nbase_url: " +
                                                                  emu.base_url() + "/v1/\napi_key: " + key + "\n" + extra,
                                                              "openai.yaml"));
  }
  std::string body(std::size_t i = 0) const { return emu.requests().at(i)["body"].dump(); }
  std::string header(std::size_t i, const std::string& name) const {
    const Json request = emu.requests().at(i);
    for (const auto& [k, v] : request["headers"].as_object()) {
      std::string lower = k;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == name) return v.as_string();
    }
    return "";
  }
};

const Messages seed = messages_from_pairs(
    {{"system", "You are a helpful assistant that translates English to French. Translate the user sentence."},
     {"human", "I love programming."}});

}  // namespace

TEST_CASE_METHOD(Fixture, "openai: invoke on {base_url}/chat/completions with a Bearer key and OpenAI's metadata") {
  AIMessage m = model("temperature: 0\norganization: org-1\n")->invoke(seed);
  REQUIRE(m.text() == "J'adore la programmation.");
  REQUIRE(m.response_metadata.dump() ==
          R"({"token_usage":{"completion_tokens":8,"prompt_tokens":31,"total_tokens":39},)"
          R"("model_name":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_emulator","finish_reason":"stop","logprobs":null})");
  REQUIRE(m.usage_metadata->to_json().dump() == R"({"input_tokens":31,"output_tokens":8,"total_tokens":39})");
  Json req = emu.requests().at(0);
  REQUIRE(req["uri"].as_string() == "/v1/chat/completions");
  REQUIRE(header(0, "authorization") == "Bearer test-key");
  REQUIRE(header(0, "openai-organization") == "org-1");
  REQUIRE(header(0, "api-key").empty());
  REQUIRE(body() ==
          R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant that translates English to French. Translate the user sentence."},)"
          R"({"role":"user","content":"I love programming."}],"temperature":0.0})");
  REQUIRE(request_schema_violation(body()) == "");
}

TEST_CASE_METHOD(Fixture, "openai: streaming with usage merges to what invoke returns") {
  auto m = model("stream_usage: true\n");
  AIMessage invoked = m->invoke(seed);
  AIMessageChunk merged;
  for (auto& c : m->stream(seed)) merged += c;
  AIMessage streamed = merged.to_message();
  REQUIRE(streamed.text() == invoked.text());
  REQUIRE(streamed.usage_metadata == invoked.usage_metadata);
  REQUIRE(streamed.response_metadata["model_name"] == invoked.response_metadata["model_name"]);
  REQUIRE(streamed.response_metadata["finish_reason"] == invoked.response_metadata["finish_reason"]);
  REQUIRE(emu.requests().at(1)["body"]["stream"] == Json(true));
  REQUIRE(emu.requests().at(1)["body"]["stream_options"] == Json{{"include_usage", true}});
}

TEST_CASE_METHOD(Fixture, "openai: tool calls, invoked and streamed") {
  auto m = model()->bind_tools({tool_from_function("get_weather", "Weather", {{"location", "string", "", true}})});
  AIMessage first = m->invoke({HumanMessage("What is the weather in Lima")});
  REQUIRE(first.tool_calls.size() == 1);
  REQUIRE(first.tool_calls[0].name == "get_weather");
  REQUIRE(first.tool_calls[0].args == Json{{"location", "Lima"}});
  AIMessageChunk merged;
  for (auto& c : m->stream({HumanMessage("What is the weather in Lima")})) merged += c;
  REQUIRE(merged.to_message().tool_calls == first.tool_calls);
  REQUIRE(body(0) ==
          R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the weather in Lima"}],)"
          R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]})");
}

TEST_CASE_METHOD(Fixture, "openai: bind_tools and call options send tool_choice as LangChain normalises it") {
  const auto tool = tool_from_function("get_weather", "Weather", {{"location", "string", "", true}});
  const Messages ask{HumanMessage("What is the weather in Lima")};
  model()->bind_tools({tool}, Json("any"))->invoke(ask);
  model()->bind_tools({tool}, Json(true))->invoke(ask);
  model()->bind_tools({tool}, Json(false))->invoke(ask);
  CallOptions call;
  call.tool_choice = Json("get_weather");
  model()->bind_tools({tool}, Json("none"))->invoke(ask, call);
  const std::string before =
      R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the weather in Lima"}],)"
      R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}])";
  CHECK(body(0) == before + R"(,"tool_choice":"required"})");
  CHECK(body(1) == before + R"(,"tool_choice":"required"})");
  CHECK(body(2) == before + "}");
  CHECK(body(3) == before + R"(,"tool_choice":{"type":"function","function":{"name":"get_weather"}}})");
  call.tool_choice = Json("get_wether");
  REQUIRE_THROWS_WITH(model()->bind_tools({tool})->invoke(ask, call),
                      "tool_choice 'get_wether' names no bound tool and no built-in tool type (bound tools: get_weather)");
  CHECK(emu.requests().size() == 4);  // the refused call sent nothing
}

TEST_CASE_METHOD(Fixture, "openai: structured output (json_schema) validated") {
  Json schema{{"title", "Reply"},
              {"type", "object"},
              {"properties", Json{{"answer", Json{{"type", "string"}}}}},
              {"required", Json::array({"answer"})},
              {"additionalProperties", false}};
  Json out = model()->with_structured_output(schema)->invoke(Value("Say hi")).as_json();
  REQUIRE(out.contains("answer"));
  REQUIRE(out["answer"].is_string());
  REQUIRE(emu.requests().at(0)["body"]["response_format"]["type"].as_string() == "json_schema");
}

TEST_CASE_METHOD(Fixture, "openai: errors in OpenAI's shape map to the same error types") {
  try {
    model("", "wrong")->invoke(seed);
    FAIL("no error");
  } catch (const AuthenticationError& e) {
    REQUIRE(e.status() == 401);
    REQUIRE(e.code() == "invalid_api_key");
    REQUIRE(std::string(e.what()).find("wrong") == std::string::npos);
  }
  try {
    registry()
        .create("openai", ConfigNode::parse_yaml("provider: openai\nmodel: gpt-9\nbase_url: " + emu.base_url() +
                                                     "/v1\napi_key: test-key\n",
                                                 "openai.yaml"))
        ->invoke(seed);
    FAIL("no error");
  } catch (const NotFoundError& e) {
    REQUIRE(e.status() == 404);
    REQUIRE(e.code() == "model_not_found");
  }
}

TEST_CASE("openai: configuration errors") {
  unsetenv("OPENAI_API_KEY");
  unsetenv("OPENAI_BASE_URL");
  REQUIRE_THROWS_WITH(registry().create("openai", ConfigNode::parse_yaml("provider: openai\n", "o.yaml")),
                      "o.yaml:1:1: openai has no credential: set the environment variable OPENAI_API_KEY or "
                      "'api_key' in the configuration (only local servers at another base_url may go without)");
  REQUIRE_THROWS_WITH(
      registry().create("openai", ConfigNode::parse_yaml("provider: openai\nbase_url: http://127.0.0.1:8080/v1\n", "o.yaml")),
      "o.yaml:1:1: openai needs 'model' (e.g. gpt-4o-mini, or the local server's model name)");
  REQUIRE_THROWS_WITH(registry().create("openai", ConfigNode::parse_yaml("provider: openai\nbase_url: localhost/v1\n", "o.yaml")),
                      "o.yaml:2:11: openai: base_url 'localhost/v1' must start with http:// or https://");
  // A local server needs no key.
  auto local = registry().create(
      "openai", ConfigNode::parse_yaml("provider: openai\nmodel: llama\nbase_url: http://127.0.0.1:8080/v1\n", "o.yaml"));
  REQUIRE(local->to_config()["base_url"].as_string() == "http://127.0.0.1:8080/v1");
}
