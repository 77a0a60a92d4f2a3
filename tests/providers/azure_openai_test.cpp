// The azure_openai plugin, loaded at run time, against the local Azure OpenAI
// emulator over loopback: every feature of the seed page, with the exact
// request sent and the exact result parsed.
#include "emulator_process.hpp"
#include "request_schema.hpp"

#include <catch2/catch.hpp>
#include <chainpp/app.hpp>
#include <chainpp/batch_runner.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/output_parsers.hpp>
#include <chainpp/prompts.hpp>
#include <chainpp/registry.hpp>
#include <chainpp/usage_cost.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <stop_token>
#include <thread>

using namespace chainpp;
using chainpp::test::EmulatorProcess;
using chainpp::test::request_schema_violation;

namespace {

const std::string script = CHAINPP_SOURCE_DIR "/tests/providers/azure_emulator.yaml";

PluginRegistry& registry() {
  static PluginRegistry r;
  static bool loaded = (r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so"), true);
  (void)loaded;
  return r;
}

struct Fixture {
  EmulatorProcess emu{{"--config", script}};

  std::shared_ptr<ChatModel> model(const std::string& deployment = "gpt-35-turbo", const std::string& extra = "",
                                   const ProviderContext& ctx = {}) const {
    std::string yaml = "provider: azure_openai\nazure_deployment: " + deployment + "\nazure_endpoint: " +
                       emu.base_url() + "/\napi_version: 2024-10-21\napi_key: test-key\n" + extra;
    if (extra.find("api_key") != std::string::npos || extra.find("azure_ad_token") != std::string::npos ||
        extra.find("use_v1_api") != std::string::npos)
      yaml = "provider: azure_openai\nazure_deployment: " + deployment + "\nazure_endpoint: " + emu.base_url() + "\n" +
             extra;
    return registry().create("azure_openai", ConfigNode::parse_yaml(yaml, "model.yaml"), ctx);
  }
  /// The body of the request number `i` the emulator received, as text.
  std::string body(std::size_t i = 0) const { return emu.requests().at(i)["body"].dump(); }
  Json request(std::size_t i = 0) const { return emu.requests().at(i); }
};

const Messages seed_messages = messages_from_pairs(
    {{"system", "You are a helpful assistant that translates English to French. Translate the user sentence."},
     {"human", "I love programming."}});

const char* safe_filters =
    R"({"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},)"
    R"("sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}})";

bool has_header(const Json& request, const std::string& name) {
  for (const auto& [k, v] : request["headers"].as_object()) {
    std::string lower = k;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) return true;
  }
  return false;
}

std::string header(const Json& request, const std::string& name) {
  for (const auto& [k, v] : request["headers"].as_object()) {
    std::string lower = k;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == name) return v.as_string();
  }
  return "";
}

}  // namespace

TEST_CASE_METHOD(Fixture, "invoke: the seed page's translation, field by field") {
  CallOptions o;
  o.temperature = 0.0;
  AIMessage m = model()->invoke(seed_messages, o);
  REQUIRE(m.text() == "J'adore la programmation.");
  REQUIRE(std::regex_match(m.id, std::regex("run-[0-9a-f-]{36}-0")));
  REQUIRE(m.response_metadata.dump() ==
          std::string(R"({"token_usage":{"completion_tokens":8,"prompt_tokens":31,"total_tokens":39},)"
                      R"("model_name":"gpt-35-turbo","system_fingerprint":null,)"
                      R"("prompt_filter_results":[{"prompt_index":0,"content_filter_results":)") +
              safe_filters + R"(}],"finish_reason":"stop","logprobs":null,"content_filter_results":)" + safe_filters +
              "}");
  REQUIRE(m.usage_metadata->to_json().dump() == R"({"input_tokens":31,"output_tokens":8,"total_tokens":39})");

  Json req = request();
  REQUIRE(req["method"].as_string() == "POST");
  REQUIRE(req["uri"].as_string() == "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-10-21");
  REQUIRE(header(req, "api-key") == "test-key");
  REQUIRE_FALSE(has_header(req, "authorization"));
  REQUIRE(header(req, "content-type") == "application/json");
  REQUIRE(body() ==
          R"({"messages":[{"role":"system","content":"You are a helpful assistant that translates English to French. Translate the user sentence."},)"
          R"({"role":"user","content":"I love programming."}],"temperature":0.0})");
  REQUIRE(request_schema_violation(body()) == "");
}

TEST_CASE_METHOD(Fixture, "model_version: model_name gets the version and the cost uses its price") {
  PricingTable prices = PricingTable::load(CHAINPP_SOURCE_DIR "/configs/pricing.yaml");
  auto base_cb = std::make_shared<UsageCostHandler>(prices);
  auto v_cb = std::make_shared<UsageCostHandler>(prices);
  RunConfig base_config, v_config;
  base_config.callbacks = {base_cb};
  v_config.callbacks = {v_cb};
  AIMessage base = model()->invoke(seed_messages, {}, base_config);
  AIMessage v0301 = model("gpt-35-turbo", "model_version: '0301'\n")->invoke(seed_messages, {}, v_config);
  REQUIRE(base.response_metadata["model_name"].as_string() == "gpt-35-turbo");
  REQUIRE(v0301.response_metadata["model_name"].as_string() == "gpt-35-turbo-0301");
  REQUIRE("Total Cost (USD): " + format_cost(base_cb->totals().total_cost) == "Total Cost (USD): $0.000063");
  REQUIRE("Total Cost (USD): " + format_cost(v_cb->totals().total_cost) == "Total Cost (USD): $0.000078");
}

TEST_CASE_METHOD(Fixture, "chaining: ChatPromptTemplate | model reproduces the seed's German translation") {
  auto prompt = ChatPromptTemplate::from_messages(
      {{"system", "You are a helpful assistant that translates {input_language} to {output_language}."},
       {"human", "{input}"}});
  auto chain = prompt | model();
  Value out = chain->invoke(Value(ValueMap{{"input_language", Value("English")},
                                           {"output_language", Value("German")},
                                           {"input", Value("I love programming.")}}));
  REQUIRE(out.as_message().text() == "Ich liebe das Programmieren.");
  REQUIRE(out.as_message().usage_metadata->to_json().dump() ==
          R"({"input_tokens":26,"output_tokens":6,"total_tokens":32})");
  REQUIRE(body() ==
          R"({"messages":[{"role":"system","content":"You are a helpful assistant that translates English to German."},)"
          R"({"role":"user","content":"I love programming."}]})");
}

TEST_CASE_METHOD(Fixture, "chaining: the YAML pipeline equivalent") {
  const std::string path = "/tmp/chainpp_azure_pipeline_" + std::to_string(emu.port()) + ".yaml";
  {
    std::ofstream f(path);
    f << "plugins: {paths: [" CHAINPP_PLUGIN_DIR "], load: [azure_openai]}\n"
         "models:\n  translator:\n    provider: azure_openai\n    azure_deployment: gpt-35-turbo\n"
         "    azure_endpoint: " << emu.base_url() << "\n    api_version: 2024-10-21\n    api_key: test-key\n"
         "    temperature: 0\n"
         "prompts:\n  translate:\n    messages:\n"
         "      - [system, \"You are a helpful assistant that translates {input_language} to {output_language}.\"]\n"
         "      - [human, \"{input}\"]\n"
         "pipelines:\n  translate:\n    steps: [{prompt: translate}, {model: translator}, {parser: str}]\n";
  }
  App app = App::load(path);
  Value out = app.pipeline("translate")->invoke(Value(ValueMap{{"input_language", Value("English")},
                                                              {"output_language", Value("German")},
                                                              {"input", Value("I love programming.")}}));
  REQUIRE(out.as_text() == "Ich liebe das Programmieren.");
  REQUIRE(body() ==
          R"({"messages":[{"role":"system","content":"You are a helpful assistant that translates English to German."},)"
          R"({"role":"user","content":"I love programming."}],"temperature":0.0})");
  std::remove(path.c_str());
}

TEST_CASE_METHOD(Fixture, "streaming: deltas arrive as they are sent and merge to what invoke returns") {
  auto m = model("gpt-35-turbo", "stream_usage: true\n");
  AIMessage invoked = m->invoke(seed_messages);

  struct Tokens : CallbackHandler {
    std::mutex mutex;
    std::vector<std::string> tokens;
    void on_llm_new_token(const RunInfo&, const std::string& t, const AIMessageChunk&) override {
      std::lock_guard lock(mutex);
      tokens.push_back(t);
    }
  };
  auto tokens = std::make_shared<Tokens>();
  RunConfig config;
  config.callbacks = {tokens};
  AIMessageChunk merged;
  std::vector<std::string> pieces;
  for (auto& c : m->stream(seed_messages, {}, config)) {
    pieces.push_back(c.content);
    merged += c;
  }
  REQUIRE(merged.content == "J'adore la programmation.");
  REQUIRE(pieces.size() >= 4);  // filter chunk, role chunk, content deltas, finish, usage
  REQUIRE(tokens->tokens == pieces);
  AIMessage streamed = merged.to_message();
  REQUIRE(streamed.id == merged.id);
  REQUIRE(streamed.text() == invoked.text());
  REQUIRE(streamed.usage_metadata == invoked.usage_metadata);
  for (const char* k : {"finish_reason", "model_name", "prompt_filter_results", "content_filter_results", "token_usage"})
    REQUIRE(streamed.response_metadata[k] == invoked.response_metadata[k]);
  REQUIRE(body(1) ==
          R"({"messages":[{"role":"system","content":"You are a helpful assistant that translates English to French. Translate the user sentence."},)"
          R"({"role":"user","content":"I love programming."}],"stream":true,"stream_options":{"include_usage":true}})");
  REQUIRE(request_schema_violation(body(1)) == "");
}

TEST_CASE_METHOD(Fixture, "streaming: the first delta is in the caller's hands before the server has finished") {
  // With 150 ms between events, a client that buffered the whole response
  // would see every chunk at once; a streaming one sees them spread out.
  auto m = model("gpt-35-turbo", "default_headers: {x-emulator-fault: 'slow-stream:150'}\n");
  std::vector<std::chrono::steady_clock::time_point> at;
  for (auto& c : m->stream(seed_messages)) {
    (void)c;
    at.push_back(std::chrono::steady_clock::now());
  }
  REQUIRE(at.size() >= 4);
  REQUIRE(at.back() - at.front() >= std::chrono::milliseconds(300));
}

TEST_CASE_METHOD(Fixture, "an abandoned stream closes its connection; the next call on the pool succeeds") {
  auto m = model("gpt-35-turbo", "default_headers: {x-emulator-fault: 'slow-stream:20'}\n");
  {
    auto s = m->stream(seed_messages);
    REQUIRE(s.next().has_value());  // the first chunk, then the caller walks away
  }
  REQUIRE(model()->invoke(seed_messages).text() == "J'adore la programmation.");
  REQUIRE(emu.stats()["requests"].as_int() == 2);
  REQUIRE(emu.stats()["connections"].as_int() == 2);  // the half-read connection was not reused
}

namespace {

// Waits (bounded) until the emulator has received `n` requests.
void wait_for_requests(const EmulatorProcess& emu, long n) {
  for (int i = 0; i < 500 && emu.stats()["requests"].as_int() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(emu.stats()["requests"].as_int() == n);
}

std::string what(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

}  // namespace

TEST_CASE_METHOD(Fixture, "cancellation: an async call in flight ends with CancelledError; the pool stays clean") {
  // Without the stop the call would answer after 3 s: the error shows the stop took effect.
  auto slow = model("gpt-35-turbo", "default_headers: {x-emulator-fault: 'slow-first-byte:3000'}\n");
  std::stop_source source;
  RunConfig config;
  config.stop = source.get_token();
  auto call = slow->ainvoke(seed_messages, {}, config);
  wait_for_requests(emu, 1);
  source.request_stop();
  std::exception_ptr error;
  try {
    call.get();
  } catch (const CancelledError&) {
    error = std::current_exception();
  }
  REQUIRE(error);
  REQUIRE(what(error) == "azure_openai: the call was cancelled (127.0.0.1:" + std::to_string(emu.port()) +
                             ") (1 attempt)");
  REQUIRE(model()->invoke(seed_messages).text() == "J'adore la programmation.");
  REQUIRE(emu.stats()["connections"].as_int() == 2);  // the cancelled connection was closed, not pooled
}

TEST_CASE_METHOD(Fixture, "cancellation: an async stream stopped mid-way keeps the chunks delivered") {
  auto slow = model("gpt-35-turbo", "default_headers: {x-emulator-fault: 'slow-stream:3000'}\n");
  std::stop_source source;
  RunConfig config;
  config.stop = source.get_token();
  std::promise<void> first;
  int chunks = 0;
  auto streamed = slow->astream(
      seed_messages,
      [&](const AIMessageChunk&) {
        if (++chunks == 1) first.set_value();
      },
      {}, config);
  first.get_future().wait();  // the prompt-filter chunk; the next one is 3 s away
  source.request_stop();
  std::string message;
  try {
    streamed.get();
  } catch (const CancelledError& e) {
    message = e.what();
    // The transport's error carries the response's status; the model's (a
    // stop seen between two chunks) has none.
    REQUIRE(e.status() == (message == "azure_openai: the stream was cancelled" ? 0 : 200));
  }
  // Stopped while the reader waits for bytes, the transport reports it with
  // its connection details; stopped between two chunks, the model does.
  const std::string from_transport = "azure_openai: the stream was cancelled (127.0.0.1:" + std::to_string(emu.port()) +
                                     ") (request id 00000000-0000-4000-8000-000000000001, 1 attempt)";
  REQUIRE((message == from_transport || message == "azure_openai: the stream was cancelled"));
  REQUIRE(chunks == 1);
  REQUIRE(model()->invoke(seed_messages).text() == "J'adore la programmation.");
  REQUIRE(emu.stats()["connections"].as_int() == 2);
}

TEST_CASE_METHOD(Fixture, "cancellation: a stop reaches every step of a chain; nothing is sent after it") {
  auto prompt = ChatPromptTemplate::from_messages({{"human", "{input}"}});
  std::stop_source source;
  RunConfig config;
  config.stop = source.get_token();
  auto stop_here = make_lambda("stop_here", [&](const Value& v) {
    source.request_stop();
    return v;
  });
  auto chain = prompt | stop_here | model() | std::make_shared<StrOutputParser>();
  REQUIRE_THROWS_WITH(chain->invoke(Value(ValueMap{{"input", Value("I love programming.")}}), config),
                      "AzureChatOpenAI: cancelled before it started");
  REQUIRE(emu.stats()["requests"].as_int() == 0);
  // A stop requested before the chain starts ends it at its first step.
  REQUIRE_THROWS_AS(chain->invoke(Value(ValueMap{{"input", Value("x")}}), config), CancelledError);
  REQUIRE_THROWS_AS(model()->invoke(seed_messages, {}, config), CancelledError);
  REQUIRE_THROWS_AS(model()->stream(seed_messages, {}, config), CancelledError);
  REQUIRE(emu.stats()["requests"].as_int() == 0);
}

namespace {

class QuotaRecorder : public CallbackHandler {
public:
  void on_rate_limit_status(const RunInfo&, const RateLimitStatus& status) override {
    std::lock_guard lock(mutex);
    seen.push_back(std::to_string(status.remaining_requests.value_or(-1)) + "/" +
                   std::to_string(status.remaining_tokens.value_or(-1)));
  }
  std::mutex mutex;
  std::vector<std::string> seen;
};

}  // namespace

TEST_CASE_METHOD(Fixture, "x-ratelimit-remaining-*: reported to handlers and honoured by batches") {
  auto recorder = std::make_shared<QuotaRecorder>();
  RunConfig config;
  config.callbacks = {recorder};
  model()->invoke(seed_messages, {}, config);
  auto low = model("gpt-35-turbo", "default_headers: {x-emulator-remaining-requests: '0', "
                                   "x-emulator-remaining-tokens: '1234'}\n");
  for (auto& c : low->stream(seed_messages, {}, config)) (void)c;
  REQUIRE(recorder->seen == std::vector<std::string>{"99/99000", "0/1234"});

  // A batch over that deployment pauses a second after each answer.
  const std::string dir = (std::filesystem::temp_directory_path() / ("chainpp_quota_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/in.jsonl") << "{\"input\":\"I love programming.\"}\n{\"input\":\"I love programming.\"}\n";
  auto chain = ChatPromptTemplate::from_messages({{"human", "{input}"}}) | low | StrOutputParser();
  BatchOptions options;
  options.concurrency = 1;
  const BatchSummary summary = run_batch(*chain, dir + "/in.jsonl", dir + "/out.jsonl", options);
  std::filesystem::remove_all(dir);
  REQUIRE(summary.ok == 2);
  REQUIRE(summary.quota_pauses == 2);
}

TEST_CASE_METHOD(Fixture, "native async: many calls in flight over pooled connections") {
  auto m = model();
  std::vector<std::future<AIMessage>> futures;
  for (int i = 0; i < 8; ++i) futures.push_back(m->ainvoke(seed_messages));
  for (auto& f : futures) REQUIRE(f.get().text() == "J'adore la programmation.");
  RunConfig config;
  config.max_concurrency = 4;
  auto results = m->batch(std::vector<Messages>(6, seed_messages), {}, config);
  REQUIRE(results.size() == 6);
  for (const auto& r : results) REQUIRE(r.usage_metadata->total_tokens == 39);
  Json stats = emu.stats();
  REQUIRE(stats["requests"].as_int() == 14);
  REQUIRE(stats["connections"].as_int() <= 8);
}

TEST_CASE_METHOD(Fixture, "native async: abatch and async streaming do not block the caller") {
  auto m = model("gpt-35-turbo", "default_headers: {x-emulator-fault: 'slow-stream:50'}\nstream_usage: true\n");
  std::mutex mutex;
  std::string seen;
  auto streamed = m->astream(seed_messages, [&](const AIMessageChunk& c) {
    std::lock_guard lock(mutex);
    seen += c.content;
  });
  // The stream takes several 50 ms gaps: the caller is back long before it ends.
  REQUIRE(streamed.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  auto batched = model()->abatch(std::vector<Messages>(3, seed_messages));
  AIMessage merged = streamed.get();
  REQUIRE(merged.text() == "J'adore la programmation.");
  REQUIRE(seen == "J'adore la programmation.");
  REQUIRE(merged.usage_metadata->total_tokens == 39);
  auto results = batched.get();
  REQUIRE(results.size() == 3);
  for (const auto& r : results) REQUIRE(r.text() == "J'adore la programmation.");
}

TEST_CASE_METHOD(Fixture, "tool calling: bind_tools, the call parsed, and the ToolMessage answer round-trips") {
  auto tool = tool_from_function("get_weather", "Get the current weather", {{"location", "string", "City name", true}});
  auto m = model("gpt-4o")->bind_tools({tool}, Json("auto"), true);
  Messages conv{HumanMessage("What is the weather in Paris")};
  AIMessage first = m->invoke(conv);
  REQUIRE(first.tool_calls == std::vector<ToolCall>{ToolCall{"get_weather", Json{{"location", "Paris"}}, "call_weather_1"}});
  REQUIRE(first.response_metadata["finish_reason"].as_string() == "tool_calls");
  REQUIRE(body(0) ==
          R"({"messages":[{"role":"user","content":"What is the weather in Paris"}],)"
          R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Get the current weather",)"
          R"("parameters":{"type":"object","properties":{"location":{"type":"string","description":"City name"}},"required":["location"]}}}],)"
          R"("tool_choice":"auto","parallel_tool_calls":true})");
  REQUIRE(request_schema_violation(body(0)) == "");

  conv.push_back(first);
  conv.push_back(ToolMessage("22 degrees and sunny", "call_weather_1"));
  AIMessage answer = m->invoke(conv);
  REQUIRE(answer.text() == "It is sunny and 22 degrees in Paris.");
  REQUIRE(body(1).find(R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_weather_1","type":"function",)"
                       R"("function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},)"
                       R"({"role":"tool","content":"22 degrees and sunny","tool_call_id":"call_weather_1"}])") !=
          std::string::npos);
  REQUIRE(request_schema_violation(body(1)) == "");

  // Streamed, the tool-call deltas merge by index into the same call.
  AIMessageChunk merged;
  for (auto& c : m->stream({HumanMessage("What is the weather in Paris")})) merged += c;
  REQUIRE(merged.to_message().tool_calls == first.tool_calls);
}

TEST_CASE_METHOD(Fixture, "tool_choice: none, required and a named tool are sent as Azure expects") {
  auto tool = tool_from_function("get_weather", "", {{"location", "string", "", true}});
  auto base = model("gpt-4o");
  base->bind_tools({tool}, Json("required"))->invoke({HumanMessage("What is the weather in Oslo")});
  base->bind_tools({tool}, Json("get_weather"), std::nullopt, true)->invoke({HumanMessage("What is the weather in Oslo")});
  AIMessage none = base->bind_tools({tool}, Json("none"))->invoke({HumanMessage("What is the weather in Oslo")});
  REQUIRE(emu.requests().at(0)["body"]["tool_choice"] == Json("required"));
  REQUIRE(emu.requests().at(1)["body"]["tool_choice"] ==
          Json{{"type", "function"}, {"function", Json{{"name", "get_weather"}}}});
  REQUIRE(emu.requests().at(1)["body"]["tools"][0]["function"]["strict"] == Json(true));
  REQUIRE(emu.requests().at(2)["body"]["tool_choice"] == Json("none"));
  REQUIRE(none.tool_calls.empty());
  REQUIRE(none.response_metadata["finish_reason"].as_string() == "stop");
}

TEST_CASE_METHOD(Fixture, "structured output: json_schema (strict), validated against the schema") {
  Json schema{{"title", "Inventor"},
              {"type", "object"},
              {"properties", Json{{"name", Json{{"type", "string"}}}, {"year", Json{{"type", "integer"}}}}},
              {"required", Json::array({"name", "year"})},
              {"additionalProperties", false}};
  auto structured = model("gpt-4o")->with_structured_output(schema);
  REQUIRE(structured->invoke(Value("Who built the analytical engine?")).as_json() ==
          Json{{"name", "Charles Babbage"}, {"year", 1837}});
  REQUIRE(emu.requests().at(0)["body"]["response_format"] ==
          Json{{"type", "json_schema"}, {"json_schema", Json{{"name", "Inventor"}, {"schema", schema}, {"strict", true}}}});
  REQUIRE(request_schema_violation(body()) == "");

  Json stricter = schema;
  stricter["properties"]["year"] = Json{{"type", "string"}};
  REQUIRE_THROWS_WITH(model("gpt-4o")->with_structured_output(stricter)->invoke(Value("Who built the analytical engine?")),
                      "JSON schema violation at /year: 'type' expected string, got integer");
}

TEST_CASE_METHOD(Fixture, "structured output: function_calling and json_mode, include_raw") {
  Json schema{{"title", "get_weather"},
              {"type", "object"},
              {"properties", Json{{"location", Json{{"type", "string"}}}}},
              {"required", Json::array({"location"})}};
  StructuredOutputOptions fc;
  fc.method = StructuredOutputMethod::function_calling;
  REQUIRE(model("gpt-4o")->with_structured_output(schema, fc)->invoke(Value("What is the weather in Rome")).as_json() ==
          Json{{"location", "Rome"}});
  REQUIRE(emu.requests().at(0)["body"]["tool_choice"] ==
          Json{{"type", "function"}, {"function", Json{{"name", "get_weather"}}}});

  StructuredOutputOptions jm;
  jm.method = StructuredOutputMethod::json_mode;
  jm.include_raw = true;
  Json inventor{{"type", "object"}, {"required", Json::array({"name"})}};
  Json out = model("gpt-4o")->with_structured_output(inventor, jm)->invoke(Value("Who built the analytical engine?")).as_json();
  REQUIRE(out["parsed"] == Json{{"name", "Charles Babbage"}, {"year", 1837}});
  REQUIRE(out["parsing_error"].is_null());
  REQUIRE(out["raw"]["type"].as_string() == "ai");
  REQUIRE(emu.requests().at(1)["body"]["response_format"] == Json{{"type", "json_object"}});
}

TEST_CASE_METHOD(Fixture, "JSON mode from the configuration: response_format json_object") {
  AIMessage m = model("gpt-4o", "response_format: json_object\n")->invoke({HumanMessage("Who built the analytical engine?")});
  REQUIRE(Json::parse(m.text()) == Json{{"name", "Charles Babbage"}, {"year", 1837}});
  REQUIRE(body() ==
          R"({"messages":[{"role":"user","content":"Who built the analytical engine?"}],"response_format":{"type":"json_object"}})");
}

TEST_CASE_METHOD(Fixture, "image input: a local file sent as a base64 data URI with detail") {
  const std::string path = "/tmp/chainpp_image_" + std::to_string(emu.port()) + ".png";
  {
    std::ofstream f(path, std::ios::binary);
    f << "\x89PNG\r\n";
  }
  HumanMessage m(std::vector<ContentPart>{ContentPart::text_part("Describe the weather in this picture"),
                                          ContentPart::image_part(image_data_uri(path), "low"),
                                          ContentPart::image_part("https://example.com/sky.jpg")});
  model("gpt-4o")->invoke({m});
  REQUIRE(body() ==
          R"({"messages":[{"role":"user","content":[{"type":"text","text":"Describe the weather in this picture"},)"
          R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0K","detail":"low"}},)"
          R"({"type":"image_url","image_url":{"url":"https://example.com/sky.jpg"}}]}]})");
  REQUIRE(request_schema_violation(body()) == "");
  std::remove(path.c_str());
  REQUIRE_THROWS_WITH(image_data_uri(path), "image file '" + path + "': cannot be opened (missing or unreadable)");
}

TEST_CASE_METHOD(Fixture, "token usage: cache-read and reasoning details on o-series deployments") {
  CallOptions o;
  o.max_completion_tokens = 1000;
  o.reasoning_effort = "low";
  AIMessage m = model("o3-mini")->invoke({HumanMessage("Think hard.")}, o);
  REQUIRE(m.usage_metadata->to_json().dump() ==
          R"({"input_tokens":12,"output_tokens":60,"total_tokens":72,"input_token_details":{"cache_read":8},"output_token_details":{"reasoning":50}})");
  REQUIRE(m.response_metadata["token_usage"].dump() ==
          R"({"completion_tokens":60,"prompt_tokens":12,"total_tokens":72,"completion_tokens_details":{"reasoning_tokens":50},"prompt_tokens_details":{"cached_tokens":8}})");
  REQUIRE(m.response_metadata["system_fingerprint"].as_string() == "fp_emulator");
  REQUIRE(body() == R"({"messages":[{"role":"user","content":"Think hard."}],"max_completion_tokens":1000,"reasoning_effort":"low"})");
}

TEST_CASE_METHOD(Fixture, "logprobs: each token's logprob and top alternatives") {
  CallOptions o;
  o.logprobs = true;
  o.top_logprobs = 2;
  AIMessage m = model()->invoke(seed_messages, o);
  const Json& content = m.response_metadata["logprobs"]["content"];
  REQUIRE(content.size() >= 3);
  std::string joined;
  for (const auto& t : content.as_array()) {
    joined += t["token"].as_string();
    REQUIRE(t["logprob"].is_number());
    REQUIRE(t["top_logprobs"].size() == 2);
  }
  REQUIRE(joined == "J'adore la programmation.");
  REQUIRE(emu.requests().at(0)["body"]["logprobs"] == Json(true));
  REQUIRE(emu.requests().at(0)["body"]["top_logprobs"] == Json(2));
}

TEST_CASE_METHOD(Fixture, "call options the service refuses fail the call; nothing reaches the server") {
  CallOptions bias;
  bias.logit_bias = Json{{"50256", 150}};
  REQUIRE_THROWS_WITH(model()->invoke(seed_messages, bias),
                      "'logit_bias' value for token '50256' must be an integer between -100 and 100 (got 150)");
  CallOptions stops;
  stops.stop = std::vector<std::string>{"1", "2", "3", "4", "5"};
  REQUIRE_THROWS_AS(model("gpt-35-turbo", "streaming: true\n")->stream(seed_messages, stops), InputError);
  CallOptions top;
  top.top_logprobs = 1;
  REQUIRE_THROWS_WITH(model()->invoke(seed_messages, top), "'top_logprobs' requires 'logprobs: true'");
  REQUIRE(emu.requests().size() == 0);
  REQUIRE(emu.stats().at("requests").as_int() == 0);
}

TEST_CASE_METHOD(Fixture, "content filter: a rejected prompt and a cut completion are ContentFilterErrors") {
  try {
    model()->invoke({HumanMessage("Tell me something violent.")});
    FAIL("no error");
  } catch (const ContentFilterError& e) {
    REQUIRE(e.status() == 400);
    REQUIRE(e.code() == "content_filter");
    REQUIRE(e.filter_results()["violence"]["filtered"] == Json(true));
    REQUIRE_FALSE(e.request_id().empty());
    REQUIRE(std::string(e.what()).find("azure_openai: HTTP 400 content_filter") == 0);
  }
  try {
    model()->invoke({HumanMessage("Write a violent story.")});
    FAIL("no error");
  } catch (const ContentFilterError& e) {
    REQUIRE(e.partial_content() == "Once upon a time");
    REQUIRE(e.filter_results()["violence"]["filtered"] == Json(true));
  }
  AIMessageChunk seen;
  try {
    for (auto& c : model()->stream({HumanMessage("Write a violent story.")})) seen += c;
    FAIL("no error");
  } catch (const ContentFilterError& e) {
    REQUIRE(e.partial_content() == "Once upon a time");
    REQUIRE(seen.content == "Once upon a time");
  }
}

TEST_CASE_METHOD(Fixture, "errors: Azure's codes surfaced; 429 retried with the retry event; no key printed") {
  try {
    model("no-such-deployment")->invoke(seed_messages);
    FAIL("no error");
  } catch (const NotFoundError& e) {
    REQUIRE(e.status() == 404);
    REQUIRE(e.code() == "DeploymentNotFound");
    REQUIRE(e.attempts() == 1);
    // what was called rides on the error; what() stays the provider's message
    const std::string call = "azure_openai at " + emu.base_url().substr(7) +
                             ", deployment no-such-deployment, api-version 2024-10-21";
    CHECK(e.info().call == call);
    CHECK(std::string(e.what()).find("[calling") == std::string::npos);
    CHECK(e.described() == std::string(e.what()) + " [calling " + call + "]");
  }
  try {
    model("gpt-35-turbo", "api_key: wrong-secret-key\napi_version: 2024-10-21\n")->invoke(seed_messages);
    FAIL("no error");
  } catch (const AuthenticationError& e) {
    REQUIRE(e.status() == 401);
    REQUIRE(std::string(e.what()).find("wrong-secret-key") == std::string::npos);
  }

  struct Retries : CallbackHandler {
    std::vector<int> attempts;
    void on_retry(const RunInfo&, int attempt, const std::exception&, double) override { attempts.push_back(attempt); }
  };
  auto retries = std::make_shared<Retries>();
  RunConfig config;
  config.callbacks = {retries};
  REQUIRE(model("flaky")->invoke(seed_messages, {}, config).text() == "J'adore la programmation.");
  REQUIRE(retries->attempts == std::vector<int>{1});

  try {
    model("throttled", "max_retries: 1\n")->invoke(seed_messages);
    FAIL("no error");
  } catch (const RateLimitError& e) {
    REQUIRE(e.status() == 429);
    REQUIRE(e.attempts() == 2);
    REQUIRE(e.info().retry_after_seconds.has_value());
  }
}

TEST_CASE_METHOD(Fixture, "credentials: exactly one is sent; Entra ID tokens come from the provider per request") {
  ProviderContext ctx;
  int calls = 0;
  ctx.azure_ad_token_provider = [&calls] {
    ++calls;
    return std::string("entra-token");
  };
  auto m = registry().create("azure_openai",
                             ConfigNode::from_json(Json{{"provider", "azure_openai"},
                                                        {"azure_deployment", "gpt-35-turbo"},
                                                        {"azure_endpoint", emu.base_url()},
                                                        {"api_version", "2024-10-21"}}),
                             ctx);
  m->invoke(seed_messages);
  m->invoke(seed_messages);
  REQUIRE(calls == 2);
  REQUIRE(header(request(0), "authorization") == "Bearer entra-token");
  REQUIRE_FALSE(has_header(request(0), "api-key"));

  model("gpt-35-turbo", "azure_ad_token: entra-token\napi_version: 2024-10-21\n")->invoke(seed_messages);
  REQUIRE(header(request(2), "authorization") == "Bearer entra-token");
  REQUIRE_FALSE(has_header(request(2), "api-key"));
}

TEST_CASE_METHOD(Fixture, "use_v1_api: the /openai/v1/ form with the deployment as model; default query and headers") {
  model("gpt-4o", "api_key: test-key\nuse_v1_api: true\ndefault_query: {feature: x y}\ndefault_headers: {x-team: blue}\n")
      ->invoke({HumanMessage("Who built the analytical engine?")});
  Json req = request();
  REQUIRE(req["uri"].as_string() == "/openai/v1/chat/completions?feature=x%20y");
  REQUIRE(header(req, "x-team") == "blue");
  REQUIRE(body() == R"({"model":"gpt-4o","messages":[{"role":"user","content":"Who built the analytical engine?"}]})");
}

TEST_CASE_METHOD(Fixture, "a parameter the deployment rejects is a BadRequestError with Azure's message") {
  CallOptions o;
  o.temperature = 0.5;
  try {
    model("o3-mini")->invoke({HumanMessage("Think hard.")}, o);
    FAIL("no error");
  } catch (const BadRequestError& e) {
    REQUIRE(e.status() == 400);
    REQUIRE(e.code() == "unsupported_value");
    REQUIRE(e.info().provider_message ==
            "Unsupported value: 'temperature' does not support 0.5 with this model. Only the default value is supported.");
  }
}

// The README's C++ example, verbatim but for the paths and the checks.
TEST_CASE_METHOD(Fixture, "README: instantiation, invocation, chaining and cost in C++") {
  setenv("AZURE_OPENAI_ENDPOINT", emu.base_url().c_str(), 1);
  setenv("AZURE_OPENAI_API_KEY", "test-key", 1);
  // --- from the README
  chainpp::App app = chainpp::App::load(CHAINPP_SOURCE_DIR "/configs/azure.yaml");
  auto llm = app.model("translator");

  chainpp::Messages messages = chainpp::messages_from_pairs({
      {"system", "You are a helpful assistant that translates English to French. Translate the user sentence."},
      {"human", "I love programming."},
  });
  chainpp::AIMessage ai_msg = llm->invoke(messages);
  std::string printed = ai_msg.text();  // J'adore la programmation.

  auto prompt = chainpp::ChatPromptTemplate::from_messages({
      {"system", "You are a helpful assistant that translates {input_language} to {output_language}."},
      {"human", "{input}"},
  });
  auto chain = prompt | llm | chainpp::StrOutputParser();
  chainpp::Value german = chainpp::Value(chainpp::ValueMap{
      {"input_language", "English"}, {"output_language", "German"}, {"input", "I love programming."}});
  std::string streamed;
  for (const chainpp::Value& piece : chain->stream(german)) streamed += piece.as_text();

  auto cost = std::make_shared<chainpp::UsageCostHandler>(
      chainpp::PricingTable::load(CHAINPP_SOURCE_DIR "/configs/pricing.yaml"));
  chainpp::RunConfig config;
  config.callbacks = {cost};
  app.model("translator_0301")->invoke(messages, {}, config);
  std::string cost_line = "Total Cost (USD): " + chainpp::format_cost(cost->totals().total_cost);
  // --- end of the README example
  unsetenv("AZURE_OPENAI_ENDPOINT");
  unsetenv("AZURE_OPENAI_API_KEY");
  REQUIRE(printed == "J'adore la programmation.");
  REQUIRE(streamed == "Ich liebe das Programmieren.");
  REQUIRE(cost_line == "Total Cost (USD): $0.000078");
  REQUIRE(ai_msg.response_metadata["model_name"].as_string() == "gpt-35-turbo");
}
