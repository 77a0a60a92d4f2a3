// The Responses API in both OpenAI dialects (issue #18, items 1-6): the
// settings, the URLs, the exact request JSON of each mapping, the exact
// AIMessage of the official specification's example responses, the exact
// chunks of its event sequences (merged, exactly what invoke returns), and
// the errors. Canned bodies are served by a loopback server
// (tests/support/raw_server.hpp); the examples are vendored in
// tests/data/openai-responses (see its README).
#include "openai_plugins.hpp"
#include "raw_server.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/json.hpp>
#include <chainpp/registry.hpp>
#include <chainpp/remote_batch.hpp>
#include <chainpp/sse.hpp>
#include <chainpp/usage_cost.hpp>

#include "responses.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace chainpp;
using chainpp::openai_wire::ResponsesStreamDecoder;
using chainpp::openai_wire::ResponseShape;
using chainpp::test::RawServer;
using chainpp::test::Reply;

namespace {

PluginRegistry& registry() { return chainpp::test::openai_plugins(); }
using chainpp::test::CleanEnv;

std::string data(const std::string& name) {
  std::ifstream in(CHAINPP_SOURCE_DIR "/tests/data/openai-responses/" + name, std::ios::binary);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::shared_ptr<ChatModel> make(const std::string& provider, const std::string& yaml) {
  return registry().create(provider, ConfigNode::parse_yaml(yaml, "app.yaml").at("m"), {});
}

std::string load_error(const std::string& provider, const std::string& yaml) {
  try {
    make(provider, yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// An openai model "m" at `base` with `lines` (indented by four) added.
std::string openai_yaml(const std::string& base, const std::string& lines = "    use_responses_api: true\n") {
  return "m:\n    provider: openai\n    model: gpt-5.4\n    api_key: k\n    max_retries: 0\n    base_url: " + base +
         "\n" + lines;
}

std::string azure_yaml(const std::string& endpoint, const std::string& lines) {
  return "m:\n    provider: azure_openai\n    azure_deployment: dep\n    api_key: k\n    max_retries: 0\n"
         "    azure_endpoint: " + endpoint + "\n" + lines;
}

std::string json_reply(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::string sse_reply(const std::string& events) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + events;
}

std::string body_of(const std::string& request) { return request.substr(request.find("\r\n\r\n") + 4); }
std::string request_line(const std::string& request) { return request.substr(0, request.find("\r\n")); }

// The data of each event of an SSE text, as the transcript carries them.
std::vector<std::string> events_of(const std::string& sse) {
  SseParser parser;
  parser.feed(sse);
  parser.finish();
  std::vector<std::string> out;
  while (auto e = parser.next()) out.push_back(e->data);
  return out;
}

const ResponseShape kShape{"openai", "", "", "gpt-5.4", 200};

// The body the model sends for `messages` with `options` (one call against a canned text response).
std::string sent_body(const Messages& messages, const CallOptions& options = {},
                      const std::string& lines = "    use_responses_api: true\n") {
  CleanEnv env;
  RawServer server({{json_reply(data("text.response.json"))}});
  make("openai", openai_yaml(server.base(), lines))->invoke(messages, options);
  REQUIRE(server.requests().size() == 1);
  return body_of(server.requests()[0]);
}

// A merged stream: what the chunks add up to, as a message, without the run id.
AIMessage merged(std::vector<AIMessageChunk> chunks) {
  AIMessageChunk all;
  for (const auto& c : chunks) all += c;
  AIMessage m = all.to_message();
  m.id.clear();
  return m;
}

// The chunks the decoder makes of every event of `sse`.
std::vector<AIMessageChunk> decode_all(const std::string& sse, ResponseShape shape = kShape) {
  ResponsesStreamDecoder decoder(std::move(shape));
  std::vector<AIMessageChunk> out;
  for (const auto& e : events_of(sse)) out.push_back(decoder.decode(e));
  REQUIRE(decoder.finished());
  return out;
}

std::string event(const std::string& json) { return "event: x\ndata: " + Json::parse(json).dump() + "\n\n"; }

}  // namespace

// ---------------------------------------------------------------- 1. settings

TEST_CASE("responses: settings are read and checked at load, where they are") {
  CleanEnv env;
  const std::string base = "http://127.0.0.1:9";
  CHECK(load_error("openai", openai_yaml(base, "    use_responses_api: sometimes\n")) ==
        "app.yaml:7:24: 'use_responses_api' must be true, false or auto");
  CHECK(load_error("openai", openai_yaml(base, "    reasoning: {effort: huge}\n")) ==
        "app.yaml:7:25: 'reasoning.effort' must be none, minimal, low, medium, high, xhigh or max");
  CHECK(load_error("openai", openai_yaml(base, "    reasoning:\n      summary: long\n")) ==
        "app.yaml:8:16: 'reasoning.summary' must be auto, concise or detailed");
  CHECK(load_error("openai", openai_yaml(base, "    reasoning:\n      budget: 3\n")) ==
        "app.yaml:8:15: 'reasoning' takes effort and summary, not 'budget'");
  CHECK(load_error("openai", openai_yaml(base, "    reasoning: high\n")) ==
        "app.yaml:7:16: 'reasoning' must be a map of effort and summary");
  CHECK(load_error("openai", openai_yaml(base, "    truncation: sometimes\n")) ==
        "app.yaml:7:17: 'truncation' must be auto or disabled");
  CHECK(load_error("openai", openai_yaml(base, "    max_output_tokens: 0\n")) ==
        "app.yaml:7:24: 'max_output_tokens' must be between 1 and 2147483647");
  CHECK(load_error("openai", openai_yaml(base, "    include: []\n")) == "app.yaml:7:14: 'include' must not be an empty list");
  CHECK(load_error("openai", openai_yaml(base, "    store: maybe\n")) == "app.yaml:7:12: m.store must be true or false");
  CHECK(load_error("openai", openai_yaml(base, "    use_responses_api: false\n    background: true\n")) ==
        "app.yaml:8:17: 'background' needs the Responses API, which 'use_responses_api: false' turns off");
  CHECK(load_error("azure_openai", azure_yaml(base, "    api_version: v\n    reasoning: {summary: auto, effort: low}\n"
                                                    "    use_responses_api: false\n")) ==
        "app.yaml:8:16: 'reasoning' needs the Responses API, which 'use_responses_api: false' turns off");
  // A model that only speaks Responses needs no api-version (it uses v1).
  CHECK(load_error("azure_openai", azure_yaml(base, "    use_responses_api: true\n")) == "");
  CHECK(load_error("azure_openai", azure_yaml(base, "")) ==
        "app.yaml:2:5: azure_openai needs an API version: set 'api_version' or the environment variable "
        "OPENAI_API_VERSION (e.g. 2024-10-21), or use_v1_api: true");

  // Every setting is shown in the model's configuration.
  const Json config = make("openai", openai_yaml(base, "    use_responses_api: true\n    reasoning: {effort: low, summary: auto}\n"
                                                       "    max_output_tokens: 100\n    store: false\n"
                                                       "    include: [reasoning.encrypted_content]\n"
                                                       "    previous_response_id: resp_1\n    use_previous_response_id: true\n"
                                                       "    background: false\n    truncation: auto\n"))
                          ->to_config();
  CHECK(config.at("use_responses_api") == Json(true));
  CHECK(config.at("reasoning") == Json{{"effort", "low"}, {"summary", "auto"}});
  CHECK(config.at("max_output_tokens") == Json(100));
  CHECK(config.at("store") == Json(false));
  CHECK(config.at("include") == Json::array({"reasoning.encrypted_content"}));
  CHECK(config.at("previous_response_id") == Json("resp_1"));
  CHECK(config.at("use_previous_response_id") == Json(true));
  CHECK(config.at("background") == Json(false));
  CHECK(config.at("truncation") == Json("auto"));
}

TEST_CASE("responses: auto routes a call by what it asks for; false refuses what needs Responses") {
  CleanEnv env;
  const std::string completion =
      R"({"id":"c1","object":"chat.completion","created":1,"model":"gpt-5.4","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]})";
  RawServer server({{json_reply(completion)}, {json_reply(data("text.response.json"))},
                    {json_reply(data("text.response.json"))}, {json_reply(data("text.response.json"))}});
  auto model = make("openai", openai_yaml(server.base(), ""));
  model->invoke({HumanMessage("hi")});
  CallOptions summary;
  summary.reasoning = Json{{"summary", "auto"}};
  model->invoke({HumanMessage("hi")}, summary);
  model->bind_tools({builtin_tool(Json{{"type", "web_search"}})})->invoke({HumanMessage("hi")});
  CallOptions chained;
  chained.previous_response_id = "resp_1";
  model->invoke({HumanMessage("hi")}, chained);
  const auto requests = server.requests();
  REQUIRE(requests.size() == 4);
  CHECK(request_line(requests[0]) == "POST /chat/completions HTTP/1.1");
  CHECK(request_line(requests[1]) == "POST /responses HTTP/1.1");
  CHECK(request_line(requests[2]) == "POST /responses HTTP/1.1");
  CHECK(request_line(requests[3]) == "POST /responses HTTP/1.1");
  CHECK(body_of(requests[0]) == R"({"model":"gpt-5.4","messages":[{"role":"user","content":"hi"}]})");

  auto off = make("openai", openai_yaml(server.base(), "    use_responses_api: false\n"));
  REQUIRE_THROWS_MATCHES(off->invoke({HumanMessage("hi")}, summary), InputError,
                         Catch::Matchers::Message("openai: 'reasoning' needs the Responses API; set "
                                                  "use_responses_api: true (or auto) on the model"));
  REQUIRE_THROWS_MATCHES(
      off->bind_tools({builtin_tool(Json{{"type", "web_search"}})})->invoke({HumanMessage("hi")}, chained), InputError,
      Catch::Matchers::Message("openai: 'previous_response_id' and the built-in tool web_search need the Responses "
                               "API; set use_responses_api: true (or auto) on the model"));
  REQUIRE_THROWS_MATCHES(builtin_tool(Json{{"type", "function"}}), InputError,
                         Catch::Matchers::Message("a built-in tool must be an object whose \"type\" is a string "
                                                  "other than \"function\""));
  CHECK(server.requests().size() == 4);  // nothing more was sent
}

TEST_CASE("responses: auto sends a model its profile serves by Responses only there; an explicit false wins") {
  CleanEnv env;
  const std::string completion =
      R"({"id":"c1","object":"chat.completion","created":1,"model":"gpt-5-codex","choices":[{"index":0,)"
      R"("message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]})";
  RawServer server({{json_reply(data("text.response.json"))}, {json_reply(completion)}, {json_reply(completion)}});
  const std::string insecure = "    allow_insecure_http: true\n";
  // gpt-5-codex: responses_api_only in the bundled model_profiles.yaml; the deployment name is not the key.
  make("azure_openai", azure_yaml(server.base(), insecure + "    model: gpt-5-codex\n"))->invoke({HumanMessage("hi")});
  make("azure_openai", azure_yaml(server.base(), insecure + "    model: gpt-5-codex\n    use_responses_api: false\n"
                                                            "    api_version: 2024-10-21\n"))
      ->invoke({HumanMessage("hi")});
  make("azure_openai", azure_yaml(server.base(), insecure + "    model: gpt-4o\n    api_version: 2024-10-21\n"))
      ->invoke({HumanMessage("hi")});
  const auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  CHECK(request_line(requests[0]) == "POST /openai/v1/responses HTTP/1.1");
  CHECK(body_of(requests[0]) == R"({"model":"dep","input":[{"type":"message","role":"user","content":"hi"}]})");
  CHECK(request_line(requests[1]) == "POST /openai/deployments/dep/chat/completions?api-version=2024-10-21 HTTP/1.1");
  CHECK(request_line(requests[2]) == "POST /openai/deployments/dep/chat/completions?api-version=2024-10-21 HTTP/1.1");
}

// ---------------------------------------------------------------- 2. URLs

TEST_CASE("responses: the URL and model of each dialect") {
  CleanEnv env;
  RawServer server({{json_reply(data("text.response.json"))}, {json_reply(data("text.response.json"))},
                    {json_reply(data("text.response.json"))}, {json_reply(data("text.response.json"))}});
  const std::string insecure = "    allow_insecure_http: true\n";
  make("azure_openai", azure_yaml(server.base(), insecure + "    use_responses_api: true\n"))->invoke({HumanMessage("hi")});
  make("azure_openai", azure_yaml(server.base(), insecure + "    use_responses_api: true\n    api_version: 2024-10-21\n"))
      ->invoke({HumanMessage("hi")});
  make("azure_openai",
       azure_yaml(server.base(), insecure + "    use_responses_api: true\n    api_version: 2025-04-01-preview\n"))
      ->invoke({HumanMessage("hi")});
  make("openai", openai_yaml(server.base() + "/v1"))->invoke({HumanMessage("hi")});
  const auto requests = server.requests();
  REQUIRE(requests.size() == 4);
  CHECK(request_line(requests[0]) == "POST /openai/v1/responses HTTP/1.1");
  CHECK(request_line(requests[1]) == "POST /openai/v1/responses HTTP/1.1");  // a GA version has no /responses
  CHECK(request_line(requests[2]) == "POST /openai/responses?api-version=2025-04-01-preview HTTP/1.1");
  CHECK(request_line(requests[3]) == "POST /v1/responses HTTP/1.1");
  for (int i = 0; i < 3; ++i) {
    CHECK(body_of(requests[i]) == R"({"model":"dep","input":[{"type":"message","role":"user","content":"hi"}]})");
    CHECK(requests[i].find("\r\napi-key: k\r\n") != std::string::npos);
  }
  CHECK(requests[3].find("\r\nAuthorization: Bearer k\r\n") != std::string::npos);
}

// ---------------------------------------------------------------- 3. requests

TEST_CASE("responses: requests as the specification's examples write them") {
  // Each official example request, written by chainpp from the same input.
  // chainpp sends input as items (type "message") where an example may use
  // the string shorthand, and an image's detail ("auto" when unset).
  const Json text = Json::parse(data("text.request.json"));
  CHECK(sent_body({HumanMessage(text.at("input").as_string())}) ==
        Json{{"model", text.at("model")},
             {"input", Json::array({Json{{"type", "message"}, {"role", "user"}, {"content", text.at("input")}}})}}
            .dump());

  const Json image = Json::parse(data("image.request.json"));
  const Json& parts = image.at("input").at(0).at("content");
  const Json sent_image = Json::parse(sent_body({HumanMessage(std::vector<ContentPart>{
      ContentPart::text_part(parts.at(0).at("text").as_string()),
      ContentPart::image_part(parts.at(1).at("image_url").as_string())})}));
  Json expected_parts = parts;
  expected_parts.as_array()[1].set("detail", "auto");
  CHECK(sent_image.at("input").at(0).at("role") == Json("user"));
  CHECK(sent_image.at("input").at(0).at("content") == expected_parts);

  const Json functions = Json::parse(data("functions.request.json"));
  const Json& tool = functions.at("tools").at(0);
  CallOptions with_tool;
  with_tool.tools = {ToolDefinition{tool.at("name").as_string(), tool.at("description").as_string(),
                                    tool.at("parameters"), std::nullopt, {}}};
  with_tool.tool_choice = functions.at("tool_choice");
  const Json sent_functions = Json::parse(sent_body({HumanMessage(functions.at("input").as_string())}, with_tool));
  CHECK(sent_functions.at("tools") == functions.at("tools"));
  CHECK(sent_functions.at("tool_choice") == functions.at("tool_choice"));

  const Json reasoning = Json::parse(data("reasoning.request.json"));
  CallOptions effort;
  effort.reasoning_effort = "high";
  CHECK(Json::parse(sent_body({HumanMessage("q")}, effort)).at("reasoning") == reasoning.at("reasoning"));
}

TEST_CASE("responses: each mapping of messages and options, byte for byte") {
  // System, human, AI with tool calls, tool results: input items in order.
  AIMessage called("Let me look.", {ToolCall{"get_weather", Json{{"city", "Paris"}}, "call_1"}});
  CHECK(sent_body({SystemMessage("Be brief."), HumanMessage("Weather?"), called, ToolMessage("18C", "call_1"),
                   ChatMessage("developer", "Use metric units.")}) ==
        R"({"model":"gpt-5.4","input":[{"type":"message","role":"system","content":"Be brief."},)"
        R"({"type":"message","role":"user","content":"Weather?"},)"
        R"({"type":"message","role":"assistant","content":"Let me look."},)"
        R"({"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},)"
        R"({"type":"function_call_output","call_id":"call_1","output":"18C"},)"
        R"({"type":"message","role":"developer","content":"Use metric units."}]})");

  // Every option, in the body's order; the chat-completions spellings mapped.
  CallOptions all;
  all.temperature = 0.5;
  all.top_p = 0.9;
  all.max_tokens = 50;
  all.reasoning = Json{{"summary", "auto"}};
  all.reasoning_effort = "low";
  all.logprobs = true;
  all.top_logprobs = 2;
  all.user = "u1";
  all.store = false;
  all.include = std::vector<std::string>{"reasoning.encrypted_content"};
  all.previous_response_id = "resp_0";
  all.background = false;
  all.truncation = "auto";
  all.tools = {ToolDefinition{"f", "", Json{{"type", "object"}}, true, {}},
               builtin_tool(Json{{"type", "file_search"}, {"vector_store_ids", Json::array({"vs_1"})}})};
  all.tool_choice = "f";
  all.parallel_tool_calls = false;
  CHECK(sent_body({HumanMessage("x")}, all) ==
        R"({"model":"gpt-5.4","input":[{"type":"message","role":"user","content":"x"}],"temperature":0.5,)"
        R"("top_p":0.9,"max_output_tokens":50,"reasoning":{"summary":"auto","effort":"low"},"top_logprobs":2,)"
        R"("user":"u1","store":false,"include":["reasoning.encrypted_content","message.output_text.logprobs"],"previous_response_id":"resp_0",)"
        R"("background":false,"truncation":"auto","tools":[{"type":"function","name":"f","parameters":{"type":"object"},)"
        R"("strict":true},{"type":"file_search","vector_store_ids":["vs_1"]}],"tool_choice":{"type":"function","name":"f"},)"
        R"("parallel_tool_calls":false})");

  // tool_choice in the Responses forms.
  CallOptions choice;
  choice.tools = {builtin_tool(Json{{"type", "web_search"}})};
  choice.tool_choice = "web_search";
  CHECK(Json::parse(sent_body({HumanMessage("x")}, choice)).at("tool_choice") == Json{{"type", "web_search"}});
  choice.tool_choice = "any";
  CHECK(Json::parse(sent_body({HumanMessage("x")}, choice)).at("tool_choice") == Json("required"));

  // use_previous_response_id: only what follows the last AI message that carries a response id.
  AIMessage answered("Paris.");
  answered.response_metadata = Json{{"id", "resp_42"}, {"status", "completed"}};
  AIMessage chat_answer("Hello.");  // a chat-completions answer: no response id
  CallOptions chain;
  chain.use_previous_response_id = true;
  CHECK(sent_body({HumanMessage("Capital of France?"), answered, HumanMessage("And of Italy?"), chat_answer,
                   HumanMessage("Thanks")},
                  chain) ==
        R"({"model":"gpt-5.4","input":[{"type":"message","role":"user","content":"And of Italy?"},)"
        R"({"type":"message","role":"assistant","content":"Hello."},)"
        R"({"type":"message","role":"user","content":"Thanks"}],"previous_response_id":"resp_42"})");
  CHECK(sent_body({HumanMessage("First")}, chain) ==
        R"({"model":"gpt-5.4","input":[{"type":"message","role":"user","content":"First"}]})");
}

TEST_CASE("responses: with_structured_output asks for text.format json_schema and reads the answer") {
  CleanEnv env;
  const std::string answer =
      R"({"id":"resp_1","object":"response","status":"completed","model":"gpt-5.4","output":[{"type":"message",)"
      R"("id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"{\"name\":\"Ada\"}","annotations":[]}]}]})";
  RawServer server({{json_reply(answer)}});
  const Json schema{{"title", "Person"},
                    {"type", "object"},
                    {"properties", Json{{"name", Json{{"type", "string"}}}}},
                    {"required", Json::array({"name"})}};
  const Value out = make("openai", openai_yaml(server.base()))->with_structured_output(schema)->invoke(Value("Who?"));
  CHECK(out.as_json() == Json{{"name", "Ada"}});
  REQUIRE(server.requests().size() == 1);
  CHECK(body_of(server.requests()[0]) ==
        R"({"model":"gpt-5.4","input":[{"type":"message","role":"user","content":"Who?"}],"text":{"format":)"
        R"({"type":"json_schema","name":"Person","schema":{"title":"Person","type":"object","properties":{"name":)"
        R"({"type":"string"}},"required":["name"]},"strict":true}}})");
}

TEST_CASE("responses: options without an equivalent are refused before anything is sent") {
  CleanEnv env;
  RawServer server({});
  auto model = make("openai", openai_yaml(server.base()));
  CallOptions stop;
  stop.stop = std::vector<std::string>{"\n"};
  REQUIRE_THROWS_MATCHES(model->invoke({HumanMessage("x")}, stop), InputError,
                         Catch::Matchers::Message("'stop' has no equivalent in the Responses API: leave it unset for "
                                                  "this model (or set use_responses_api: false)"));
  CallOptions bad;
  bad.reasoning = Json{{"effort", "extreme"}};
  REQUIRE_THROWS_MATCHES(model->invoke({HumanMessage("x")}, bad), InputError,
                         Catch::Matchers::Message("'reasoning.effort' must be none, minimal, low, medium, high, xhigh or max"));
  CHECK(server.connections() == 0);
}

// ---------------------------------------------------------------- 4. responses

TEST_CASE("responses: the specification's example responses, read exactly") {
  const AIMessage text = openai_wire::parse_response(data("text.response.json"), kShape);
  CHECK(text.text().starts_with("In a peaceful grove beneath a silver moon, a unicorn named Lumina"));
  CHECK(text.tool_calls.empty());
  CHECK(text.response_metadata ==
        Json{{"id", "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"},
             {"model_name", "gpt-5.4"},
             {"status", "completed"},
             {"finish_reason", "stop"},
             {"token_usage", Json::parse(R"({"input_tokens":36,"input_tokens_details":{"cached_tokens":0,)"
                                         R"("cache_write_tokens":0},"output_tokens":87,"output_tokens_details":)"
                                         R"({"reasoning_tokens":0},"total_tokens":123})")}});
  CHECK(text.usage_metadata == UsageMetadata{36, 87, 123, 0, 0});

  const AIMessage functions = openai_wire::parse_response(data("functions.response.json"), kShape);
  CHECK(functions.text().empty());
  CHECK(functions.tool_calls ==
        std::vector<ToolCall>{{"get_current_weather", Json{{"location", "Boston, MA"}, {"unit", "celsius"}},
                               "call_unLAR8MvFNptuiZK6K6HCy5k"}});
  CHECK(functions.response_metadata.at("finish_reason") == Json("tool_calls"));
  CHECK(functions.usage_metadata == UsageMetadata{291, 23, 314, std::nullopt, 0});  // no input details in this one

  const AIMessage reasoning = openai_wire::parse_response(data("reasoning.response.json"), kShape);
  CHECK(reasoning.text() == "The classic tongue twister...");
  CHECK(reasoning.response_metadata.at("model_name") == Json("o1-2024-12-17"));
  CHECK(reasoning.usage_metadata == UsageMetadata{81, 1035, 1116, 0, 832});

  const AIMessage web = openai_wire::parse_response(data("web_search.response.json"), kShape);
  const Json web_json = Json::parse(data("web_search.response.json"));
  CHECK(web.text() == "As of today, March 9, 2025, one notable positive news story...");
  CHECK(web.response_metadata.at("annotations") == web_json.at("output").at(1).at("content").at(0).at("annotations"));
  CHECK(web.response_metadata.at("tool_outputs") == Json::array({web_json.at("output").at(0)}));
  CHECK(web.response_metadata.as_object().front().first == "tool_outputs");  // in the output's order

  const AIMessage files = openai_wire::parse_response(data("file_search.response.json"), kShape);
  const Json files_json = Json::parse(data("file_search.response.json"));
  CHECK(files.response_metadata.at("annotations").size() == 8);
  CHECK(files.response_metadata.at("annotations") ==
        files_json.at("output").at(1).at("content").at(0).at("annotations"));
  CHECK(files.response_metadata.at("tool_outputs").at(0).at("queries") ==
        Json::array({"attributes of an ancient brown dragon"}));

  // The image and file examples read as the text one does.
  CHECK(openai_wire::parse_response(data("image.response.json"), kShape).text().starts_with("The image depicts"));
}

TEST_CASE("responses: reasoning summaries, refusals, unparsable arguments, versions") {
  const std::string body =
      R"({"id":"resp_9","status":"completed","model":"gpt-5","output":[)"
      R"({"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"First."},)"
      R"({"type":"summary_text","text":"Second."}]},)"
      R"({"type":"message","id":"msg_1","role":"assistant","content":[{"type":"refusal","refusal":"I can't."}]},)"
      R"({"type":"function_call","id":"fc_1","call_id":"call_a","name":"f","arguments":"{\"a\":"}],)"
      R"("usage":{"input_tokens":5,"input_tokens_details":{"cached_tokens":3},"output_tokens":7,)"
      R"("output_tokens_details":{"reasoning_tokens":4},"total_tokens":12}})";
  ResponseShape shape = kShape;
  shape.model_version = "2025-08-07";
  const AIMessage m = openai_wire::parse_response(body, shape);
  CHECK(m.text().empty());
  CHECK(m.tool_calls.empty());
  REQUIRE(m.invalid_tool_calls.size() == 1);
  CHECK(m.invalid_tool_calls[0].name == "f");
  CHECK(m.invalid_tool_calls[0].args == "{\"a\":");
  CHECK(m.invalid_tool_calls[0].id == "call_a");
  CHECK(m.response_metadata ==
        Json{{"reasoning_summary", Json::array({"First.", "Second."})},
             {"refusal", "I can't."},
             {"id", "resp_9"},
             {"model_name", "gpt-5-2025-08-07"},
             {"status", "completed"},
             {"finish_reason", "tool_calls"},
             {"token_usage", Json::parse(body).at("usage")}});
  CHECK(m.usage_metadata == UsageMetadata{5, 7, 12, 3, 4});
}

TEST_CASE("responses: failed, incomplete and malformed responses") {
  const Json failed = Json::parse(data("event_failed.json")).at("response");
  REQUIRE_THROWS_MATCHES(openai_wire::parse_response(failed.dump(), kShape), ServerError,
                         Catch::Matchers::Message("openai: the response failed server_error: The model failed to "
                                                  "generate a response. (response id resp_123)"));
  Json limited = failed;
  limited.set("error", Json{{"code", "rate_limit_exceeded"}, {"message", "Slow down."}});
  REQUIRE_THROWS_AS(openai_wire::parse_response(limited.dump(), kShape), RateLimitError);
  limited.set("error", Json{{"code", "invalid_prompt"}, {"message", "No."}});
  REQUIRE_THROWS_AS(openai_wire::parse_response(limited.dump(), kShape), BadRequestError);

  const Json incomplete = Json::parse(data("event_incomplete.json")).at("response");
  const AIMessage cut = openai_wire::parse_response(incomplete.dump(), kShape);
  CHECK(cut.response_metadata ==
        Json{{"id", "resp_123"},
             {"model_name", "gpt-4o-mini-2024-07-18"},
             {"status", "incomplete"},
             {"finish_reason", "length"},
             {"incomplete_details", Json{{"reason", "max_tokens"}}}});
  CHECK(!cut.usage_metadata);

  Json filtered = incomplete;
  filtered.set("incomplete_details", Json{{"reason", "content_filter"}});
  filtered.set("output", Json::parse(R"([{"type":"message","content":[{"type":"output_text","text":"Once"}]}])"));
  try {
    openai_wire::parse_response(filtered.dump(), kShape);
    FAIL("expected ContentFilterError");
  } catch (const ContentFilterError& e) {
    CHECK(std::string(e.what()) ==
          "openai: the completion was stopped by the content filter (finish_reason content_filter)");
    CHECK(e.partial_content() == "Once");
  }

  REQUIRE_THROWS_MATCHES(openai_wire::parse_response(R"({"output":{}})", kShape), BadResponseError,
                         Catch::Matchers::Message("openai: malformed response: output is object, expected an array"));
  REQUIRE_THROWS_MATCHES(
      openai_wire::parse_response(R"({"output":[{"type":"message","content":[{"type":"output_text","text":5}]}]})", kShape),
      BadResponseError,
      Catch::Matchers::Message("openai: malformed response: output[0].content[0].text is integer, expected a string"));
  REQUIRE_THROWS_MATCHES(
      openai_wire::parse_response(R"({"status":"completed","output":[],"usage":{"input_tokens":-1}})", kShape),
      BadResponseError,
      Catch::Matchers::Message("openai: malformed response: usage.input_tokens is -1, expected a non-negative integer"));
}

// ---------------------------------------------------------------- 5. streaming

TEST_CASE("responses: the specification's streaming transcript, chunk by chunk") {
  const std::string sse = data("stream_text.sse");
  const std::vector<AIMessageChunk> chunks = decode_all(sse);
  REQUIRE(chunks.size() == 9);  // created, in_progress, item added, part added, delta, text done, part done, item done, completed
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 7}) CHECK(chunks[i] == AIMessageChunk{});
  AIMessageChunk delta;
  delta.content = "Hi";
  CHECK(chunks[4] == delta);
  // The transcript elides the later deltas ("..."): the terminal event, which
  // is authoritative, brings the rest of the text.
  AIMessageChunk last;
  last.content = " there! How can I assist you today?";
  last.response_metadata =
      Json{{"id", "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654"},
           {"model_name", "gpt-5.4"},
           {"status", "completed"},
           {"finish_reason", "stop"},
           {"token_usage", Json::parse(R"({"input_tokens":37,"output_tokens":11,"output_tokens_details":)"
                                       R"({"reasoning_tokens":0},"total_tokens":48})")}};
  last.usage_metadata = UsageMetadata{37, 11, 48, std::nullopt, 0};
  CHECK(chunks[8] == last);
  // Merged, exactly what invoke makes of the final Response.
  const std::string final_response = Json::parse(events_of(sse).back()).at("response").dump();
  CHECK(merged(chunks) == openai_wire::parse_response(final_response, kShape));
}

TEST_CASE("responses: a function call stream joins its argument deltas to the call's id and name") {
  // The official Functions example, streamed in the order of the event
  // schemas: the call announced, its arguments in deltas, then done.
  const Json response = Json::parse(data("functions.response.json"));
  Json item = response.at("output").at(0);
  Json announced = item;
  announced.set("arguments", "");
  announced.set("status", "in_progress");
  const std::string args = item.at("arguments").as_string();
  Json in_progress = response;
  in_progress.set("status", "in_progress");
  in_progress.set("output", Json::array());
  in_progress.set("usage", Json());
  const std::string id = item.at("id").as_string();
  std::string sse = event(Json{{"type", "response.created"}, {"response", in_progress}}.dump()) +
                    event(Json{{"type", "response.output_item.added"}, {"output_index", 0}, {"item", announced}}.dump());
  const std::vector<std::string> pieces = {args.substr(0, 12), args.substr(12, 20), args.substr(32)};
  for (const auto& piece : pieces)
    sse += event(Json{{"type", "response.function_call_arguments.delta"}, {"item_id", id}, {"output_index", 0},
                      {"delta", piece}}.dump());
  sse += event(Json{{"type", "response.function_call_arguments.done"}, {"item_id", id}, {"output_index", 0},
                    {"arguments", args}}.dump()) +
         event(Json{{"type", "response.output_item.done"}, {"output_index", 0}, {"item", item}}.dump()) +
         event(Json{{"type", "response.completed"}, {"response", response}}.dump());
  const auto chunks = decode_all(sse);
  REQUIRE(chunks.size() == 8);
  CHECK(chunks[1].tool_call_chunks ==
        std::vector<ToolCallChunk>{{"get_current_weather", std::nullopt, "call_unLAR8MvFNptuiZK6K6HCy5k", 0}});
  for (int i = 0; i < 3; ++i)
    CHECK(chunks[2 + i].tool_call_chunks == std::vector<ToolCallChunk>{{std::nullopt, pieces[i], std::nullopt, 0}});
  CHECK(chunks[5] == AIMessageChunk{});
  CHECK(chunks[6] == AIMessageChunk{});
  CHECK(chunks[7].tool_call_chunks.empty());
  CHECK(chunks[7].response_metadata.at("finish_reason") == Json("tool_calls"));
  const AIMessage m = merged(chunks);
  CHECK(m == openai_wire::parse_response(response.dump(), kShape));
  CHECK(m.tool_calls.size() == 1);

  // A stream that only announces the response: the terminal event brings the whole call.
  const auto bare = decode_all(event(Json{{"type", "response.created"}, {"response", in_progress}}.dump()) +
                               event(Json{{"type", "response.completed"}, {"response", response}}.dump()));
  REQUIRE(bare.size() == 2);
  CHECK(bare[1].tool_call_chunks ==
        std::vector<ToolCallChunk>{{"get_current_weather", args, "call_unLAR8MvFNptuiZK6K6HCy5k", 0}});
  CHECK(merged(bare) == m);

  // A delta for a call nobody announced is an error, never a guess.
  ResponsesStreamDecoder decoder(kShape);
  REQUIRE_THROWS_MATCHES(
      decoder.decode(R"({"type":"response.function_call_arguments.delta","item_id":"fc_x","output_index":3,"delta":"{"})"),
      BadResponseError,
      Catch::Matchers::Message("openai: malformed response: response.function_call_arguments.delta event for "
                               "output_index 3, which no response.output_item.added announced as a function_call"));
  // The specification's own delta example is not valid JSON (a comma is missing).
  REQUIRE_THROWS_AS(decoder.decode(data("event_function_call_arguments_delta.json")), BadResponseError);
}

TEST_CASE("responses: a reasoning summary streams and merges into the message's reasoning_summary") {
  // The official reasoning-summary events, then a message, then completed.
  const Json added = Json::parse(data("event_reasoning_summary_part_added.json"));
  const Json delta = Json::parse(data("event_reasoning_summary_text_delta.json"));
  const Json text_done = Json::parse(data("event_reasoning_summary_text_done.json"));
  const Json part_done = Json::parse(data("event_reasoning_summary_part_done.json"));
  const std::string summary = part_done.at("part").at("text").as_string();
  const Json reasoning_item{{"type", "reasoning"}, {"id", added.at("item_id")},
                            {"summary", Json::array({part_done.at("part")})}};
  const Json message_item = Json::parse(
      R"({"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello! How can I help?","annotations":[]}]})");
  Json response = Json::parse(data("event_completed.json")).at("response");
  response.set("output", Json::array({reasoning_item, message_item}));
  const std::string sse =
      event(Json{{"type", "response.output_item.added"}, {"output_index", 0},
                 {"item", Json{{"type", "reasoning"}, {"id", added.at("item_id")}, {"summary", Json::array()}}}}.dump()) +
      event(added.dump()) + event(delta.dump()) + event(text_done.dump()) + event(part_done.dump()) +
      event(Json{{"type", "response.output_item.done"}, {"output_index", 0}, {"item", reasoning_item}}.dump()) +
      event(R"({"type":"response.output_text.delta","item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hello! "})") +
      event(R"({"type":"response.output_text.delta","item_id":"msg_1","output_index":1,"content_index":0,"delta":"How can I help?"})") +
      event(Json{{"type", "response.output_item.done"}, {"output_index", 1}, {"item", message_item}}.dump()) +
      event(Json{{"type", "response.completed"}, {"response", response}}.dump());
  const auto chunks = decode_all(sse);
  REQUIRE(chunks.size() == 10);
  AIMessageChunk summary_chunk;
  summary_chunk.response_metadata = Json{{"reasoning_summary", Json::array({summary})}};
  CHECK(chunks[5] == summary_chunk);
  CHECK(chunks[6].content == "Hello! ");
  CHECK(chunks[7].content == "How can I help?");
  const AIMessage m = merged(chunks);
  CHECK(m == openai_wire::parse_response(response.dump(), kShape));
  CHECK(m.response_metadata.at("reasoning_summary") == Json::array({summary}));
  CHECK(m.text() == "Hello! How can I help?");
}

TEST_CASE("responses: terminal errors in a stream") {
  ResponsesStreamDecoder failed(kShape);
  REQUIRE_THROWS_MATCHES(failed.decode(Json::parse(data("event_failed.json")).dump()), ServerError,
                         Catch::Matchers::Message("openai: the response failed server_error: The model failed to "
                                                  "generate a response. (response id resp_123)"));
  ResponsesStreamDecoder error(kShape);
  REQUIRE_THROWS_MATCHES(error.decode(Json::parse(data("event_error.json")).dump()), ServerError,
                         Catch::Matchers::Message("openai: error in stream ERR_SOMETHING: Something went wrong"));
  ResponsesStreamDecoder incomplete(kShape);
  const AIMessageChunk last = incomplete.decode(Json::parse(data("event_incomplete.json")).dump());
  CHECK(incomplete.finished());
  CHECK(last.response_metadata.at("finish_reason") == Json("length"));
  ResponsesStreamDecoder filtered(kShape);
  filtered.decode(R"({"type":"response.output_text.delta","output_index":0,"delta":"Once"})");
  try {
    filtered.decode(R"({"type":"response.incomplete","response":{"id":"r","status":"incomplete",)"
                    R"("incomplete_details":{"reason":"content_filter"},"output":[]}})");
    FAIL("expected ContentFilterError");
  } catch (const ContentFilterError& e) {
    CHECK(e.partial_content() == "Once");
  }
  // Events a message keeps nothing of (a refusal is kept whole from its item's done).
  ResponsesStreamDecoder quiet(kShape);
  CHECK(quiet.decode(Json::parse(data("event_refusal_delta.json")).dump()) == AIMessageChunk{});
  CHECK(quiet.decode(Json::parse(data("event_function_call_arguments_done.json")).dump()) == AIMessageChunk{});
  CHECK(!quiet.finished());
  ResponsesStreamDecoder limited(kShape, 4);
  REQUIRE_THROWS_MATCHES(limited.decode(R"({"type":"response.output_text.delta","output_index":0,"delta":"12345"})"),
                         ResponseTooLargeError,
                         Catch::Matchers::Message("openai: streamed content (text and tool arguments) exceeds "
                                                  "max_stream_bytes (4 bytes); raise max_stream_bytes to accept it"));
}

TEST_CASE("responses: through the plugins, stream and invoke give the same message; a cut stream is an error") {
  CleanEnv env;
  const std::string sse = data("stream_text.sse");
  const std::string final_response = Json::parse(events_of(sse).back()).at("response").dump();
  RawServer server({{sse_reply(sse), true, true}, {json_reply(final_response)}, {sse_reply(sse), false, true}});
  auto model = make("openai", openai_yaml(server.base()));
  std::vector<AIMessageChunk> chunks;
  auto stream = model->stream({HumanMessage("Hello!")});
  while (auto c = stream.next()) chunks.push_back(*c);
  REQUIRE(chunks.size() == 2);  // events that carry nothing make no chunk
  CHECK(chunks[0].content == "Hi");
  AIMessage invoked = model->invoke({HumanMessage("Hello!")});
  invoked.id.clear();
  CHECK(merged(chunks) == invoked);
  const auto requests = server.requests();
  CHECK(body_of(requests[0]) ==
        R"({"model":"gpt-5.4","input":[{"type":"message","role":"user","content":"Hello!"}],"stream":true})");
  CHECK(requests[0].find("\r\nAccept: text/event-stream\r\n") != std::string::npos);

  // Streaming with callbacks: invoke through streaming: true gives the same.
  AIMessage via_stream = make("openai", openai_yaml(server.base(), "    use_responses_api: true\n    streaming: true\n"))
                             ->invoke({HumanMessage("Hello!")});
  via_stream.id.clear();
  CHECK(via_stream == invoked);

  // Cut before the terminal event: an error, never a short answer.
  const std::string cut = sse.substr(0, sse.find("event: response.completed"));
  RawServer cutting({{sse_reply(cut), false, true}});
  auto cut_model = make("openai", openai_yaml(cutting.base()));
  auto cut_stream = cut_model->stream({HumanMessage("Hello!")});
  REQUIRE_THROWS_MATCHES(
      [&] {
        while (cut_stream.next()) {
        }
      }(),
      BadResponseError,
      Catch::Matchers::Message("openai: the stream ended without response.completed after 8 events (truncated)"));
  // A [DONE] (which this API does not send) before the terminal event is the same error.
  RawServer done({{sse_reply(cut + "data: [DONE]\n\n"), false, true}});
  auto done_stream = make("openai", openai_yaml(done.base()))->stream({HumanMessage("Hello!")});
  REQUIRE_THROWS_MATCHES(
      [&] {
        while (done_stream.next()) {
        }
      }(),
      BadResponseError,
      Catch::Matchers::Message("openai: the stream ended without response.completed after 8 events (truncated)"));
}

// ---------------------------------------------------------------- 6. the rest

TEST_CASE("responses: HTTP errors are typed as for chat completions; a batch is refused clearly") {
  CleanEnv env;
  const std::string body = R"({"error":{"message":"Rate limit reached.","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
  RawServer server({{"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body}});
  auto model = make("openai", openai_yaml(server.base()));
  REQUIRE_THROWS_AS(model->invoke({HumanMessage("x")}), RateLimitError);
  CHECK(request_line(server.requests().at(0)) == "POST /responses HTTP/1.1");

  auto azure = make("azure_openai", azure_yaml("http://127.0.0.1:9", "    allow_insecure_http: true\n    use_responses_api: true\n"));
  const auto service = remote_batch_service(*azure);
  REQUIRE(service);
  REQUIRE_THROWS_MATCHES(service->submit({RemoteBatchRequest{"r1", {HumanMessage("x")}}}), InputError,
                         Catch::Matchers::Message("azure_openai: a batch of Responses API calls is not supported yet; "
                                                  "run the batch with use_responses_api: false and without "
                                                  "Responses-only settings"));
}

TEST_CASE("responses: callbacks see tokens as they arrive, a 429 is retried, a cancelled call sends nothing") {
  CleanEnv env;
  struct Recorder : CallbackHandler {
    std::vector<std::string> tokens;
    std::vector<int> retries;
    Json params;
    std::optional<UsageMetadata> usage;
    void on_chat_model_start(const RunInfo&, const Messages&, const Json& p) override { params = p; }
    void on_llm_new_token(const RunInfo&, const std::string& token, const AIMessageChunk&) override {
      tokens.push_back(token);
    }
    void on_retry(const RunInfo&, int attempt, const std::exception&, double) override { retries.push_back(attempt); }
    void on_llm_end(const RunInfo&, const AIMessage& m) override { usage = m.usage_metadata; }
  };
  const std::string sse = data("stream_text.sse");
  const std::string limited =
      "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
  RawServer server({{limited}, {sse_reply(sse), false, true}});
  auto model = make("openai", "m:\n    provider: openai\n    model: gpt-5.4\n    api_key: k\n    max_retries: 1\n"
                              "    base_url: " + server.base() + "\n    use_responses_api: true\n    reasoning: {effort: low}\n");
  auto recorder = std::make_shared<Recorder>();
  RunConfig config;
  config.callbacks = {recorder};
  auto stream = model->stream({HumanMessage("Hello!")}, {}, config);
  while (stream.next()) {
  }
  CHECK(recorder->tokens == std::vector<std::string>{"Hi", " there! How can I assist you today?"});
  CHECK(recorder->retries == std::vector<int>{1});
  CHECK(recorder->params.at("reasoning") == Json{{"effort", "low"}});
  CHECK(recorder->usage == UsageMetadata{37, 11, 48, std::nullopt, 0});
  CHECK(server.requests().size() == 2);
  CHECK(body_of(server.requests()[0]) == body_of(server.requests()[1]));

  std::stop_source cancel;
  cancel.request_stop();
  RunConfig cancelled;
  cancelled.stop = cancel.get_token();
  REQUIRE_THROWS_AS(model->invoke({HumanMessage("Hello!")}, {}, cancelled), CancelledError);
  CHECK(server.requests().size() == 2);
}

TEST_CASE("responses: usage and cost are counted from the Response's usage, by its model") {
  CleanEnv env;
  // The official reasoning example: 81 input (0 cached), 1035 output (832 reasoning) tokens of o1-2024-12-17.
  RawServer server({{json_reply(data("reasoning.response.json"))}});
  PricingTable prices;
  prices.set("o1-2024-12-17", ModelPrice{0.015, 0.06, 0.0075});
  auto cost = std::make_shared<UsageCostHandler>(prices);
  RunConfig config;
  config.callbacks = {cost};
  make("openai", openai_yaml(server.base()))->invoke({HumanMessage("How much wood would a woodchuck chuck?")}, {}, config);
  const UsageCostHandler::Totals t = cost->totals();
  CHECK(t.prompt_tokens == 81);
  CHECK(t.completion_tokens == 1035);
  CHECK(t.total_tokens == 1116);
  CHECK(t.cached_tokens == 0);
  CHECK(t.reasoning_tokens == 832);
  CHECK(t.successful_requests == 1);
  CHECK(t.total_cost == Approx(81 * 0.015 / 1000 + 1035 * 0.06 / 1000));
  CHECK(t.unpriced_models.empty());
}
