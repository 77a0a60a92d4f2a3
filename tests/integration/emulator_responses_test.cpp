// The emulator's Responses API (/openai/v1/responses and /v1/responses),
// driven over loopback HTTP with raw request bodies: the exact Response
// objects and event sequences, validated against the official OpenAI
// specification (tests/data/openai/responses), tool calls and tool_choice,
// json_schema answers, reasoning deployments, errors and the fault markers.
#include "emulator_process.hpp"
#include "temp_dir.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/output_parsers.hpp>
#include <chainpp/sse.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace chainpp;
using chainpp::test::EmulatorProcess;

namespace {

// One schema of the vendored specification, `#/components/schemas/<name>`, checked by core's JsonSchema.
class SpecSchema {
 public:
  explicit SpecSchema(const std::string& name) : schema_(load(name)) {}
  // "" when `json` is valid, else the violation.
  std::string invalid_pointer(const std::string& json) const {
    return schema_.violation(Json::parse(json)).value_or("");
  }

 private:
  static Json load(const std::string& name) {
    std::ifstream in(std::string(CHAINPP_SOURCE_DIR) + "/tests/data/openai/responses/responses-api.json");
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    Json spec = Json::parse(ss.str());
    spec.set("$ref", "#/components/schemas/" + name);
    return spec;
  }
  JsonSchema schema_;
};

const char* kConfig = R"(
api_keys: [k1]
deployments:
  chat: {model: gpt-4o, version: "2024-08-06", system_fingerprint: fp_test}
  thinker: {model: o4-mini, version: "2025-04-16"}
answers:
  - match: weather
    tool_calls:
      - {id: call_1, name: get_weather, arguments: '{"location":"Paris","unit":"celsius"}'}
      - {id: call_2, name: get_time, arguments: '{"city":"Paris"}'}
  - match: weather
    content: Sunny.
  - regex: "^capital of (\\w+)$"
    content: I do not know the capital of $1.
    usage: {prompt_tokens: 12, completion_tokens: 7, cached_tokens: 4, reasoning_tokens: 2}
  - match: json please
    json: {name: Ada, age: 36}
  - match: cut me
    content: This story was
    filter_completion: sexual
  - match: blocked
    filter_prompt: violence
)";

// One SSE event of a stream: its `event:` type and its data as JSON.
struct Event {
  std::string event;
  Json data;
};

struct Fixture {
  Fixture() : config_path(write_config(dir)), emu({"--config", config_path, "--quiet"}) {}

  static std::string write_config(const chainpp::test::TempDir& dir) {
    const std::string path = dir.path("emulator.yaml");
    std::ofstream(path) << kConfig;
    return path;
  }

  // A POST of `body` to the Azure v1 path (or OpenAI's /v1/responses), with `headers` added.
  HttpRequest request(const std::string& body, bool openai = false, HttpHeaders headers = {}) const {
    HttpRequest r;
    r.url = emu.base_url() + (openai ? "/v1/responses" : "/openai/v1/responses");
    r.headers = {{openai ? "Authorization" : "api-key", openai ? "Bearer k1" : "k1"},
                 {"Content-Type", "application/json"}};
    r.headers.insert(r.headers.end(), headers.begin(), headers.end());
    r.body = body;
    r.provider = "emulator";
    return r;
  }

  Json call(const std::string& body, bool openai = false, HttpHeaders headers = {}) {
    return Json::parse(client.send(request(body, openai, std::move(headers)), options()).body);
  }

  // The error a request ends with (no retries).
  ProviderErrorInfo error(const std::string& body, bool openai = false, HttpHeaders headers = {}) {
    try {
      client.send(request(body, openai, std::move(headers)), options());
    } catch (const ProviderError& e) {
      return e.info();
    }
    FAIL("the request succeeded");
    return {};
  }

  // The events of a streamed answer (the stream read to its end).
  std::vector<Event> stream(const std::string& body, HttpHeaders headers = {}) {
    auto s = client.open(request(body, false, std::move(headers)), options());
    CHECK(*s->header("Content-Type") == "text/event-stream; charset=utf-8");
    SseParser p;
    while (auto bytes = s->read()) p.feed(*bytes);
    CHECK_FALSE(p.finish());  // no [DONE]
    std::vector<Event> out;
    while (auto e = p.next()) out.push_back({e->event, Json::parse(e->data)});
    return out;
  }

  static TransportOptions options() {
    TransportOptions o;
    o.max_retries = 0;
    o.use_environment_proxy = false;
    return o;
  }

  chainpp::test::TempDir dir{"chainpp-emulator-responses"};
  std::string config_path;
  EmulatorProcess emu;
  HttpClient client;
};

// `response` as the OpenAI schema types it: without Azure's required, nullable `user`, and
// without the `usage: null` the official streaming transcript shows until the response finishes.
std::string openai_form(Json response) {
  for (const char* key : {"user", "usage"})
    if (const Json* v = response.find(key); v && v->is_null()) response.erase(key);
  return response.dump();
}

// `response` without what differs between two answers: its id, times and item ids.
Json normalised(Json response) {
  response.set("id", "resp");
  response.set("created_at", 0);
  if (!response.at("completed_at").is_null()) response.set("completed_at", 0);
  for (auto& item : response["output"].as_array()) item.set("id", "item");
  return response;
}

// The types of `events` in order.
std::vector<std::string> types(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.data.at("type").as_string());
  return out;
}

// Every event names its type twice (event: and data) and numbers itself 0, 1, 2, ...
void check_framing(const std::vector<Event>& events) {
  const SpecSchema schema("ResponseStreamEvent");
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].event == events[i].data.at("type").as_string());
    CHECK(events[i].data.at("sequence_number").as_int() == static_cast<std::int64_t>(i));
    Json data = events[i].data;
    if (const Json* r = data.find("response")) data.set("response", Json::parse(openai_form(*r)));
    CHECK(schema.invalid_pointer(data.dump()) == "");
  }
}

const char* kTools =
    R"([{"type":"function","name":"get_weather","description":"The weather","parameters":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location","unit"]}},{"type":"function","name":"get_time","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":false}])";

std::string with_tools(const std::string& input, const std::string& extra = "") {
  return R"({"model":"chat","input":")" + input + R"(","tools":)" + kTools + extra + "}";
}

}  // namespace

TEST_CASE("responses: a text answer on the Azure v1 path is the whole Response object") {
  Fixture f;
  const auto r = f.client.send(f.request(R"({"model":"chat","input":"capital of France"})"), Fixture::options());
  CHECK(SpecSchema("Response").invalid_pointer(openai_form(Json::parse(r.body))) == "");
  CHECK(SpecSchema("Response").invalid_pointer(R"({"id":"resp_1","status":"done"})") != "");  // the check can fail
  CHECK(r.header("apim-request-id") != nullptr);
  CHECK(*r.header("Content-Type") == "application/json");
  const Json j = Json::parse(r.body);
  CHECK(j.at("id").as_string() == "resp_EMU00000000000000000001");
  CHECK(j.at("output")[0].at("id").as_string() == "msg_EMU0000000000000000000100");
  CHECK(j.at("created_at").as_int() == j.at("completed_at").as_int());
  CHECK(normalised(j) == Json::parse(R"({
    "id": "resp", "object": "response", "created_at": 0, "status": "completed", "completed_at": 0,
    "error": null, "incomplete_details": null, "instructions": null, "max_output_tokens": null,
    "model": "gpt-4o-2024-08-06",
    "output": [{"id": "item", "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "I do not know the capital of France.",
                             "annotations": [], "logprobs": []}]}],
    "parallel_tool_calls": true, "previous_response_id": null, "reasoning": {"effort": null, "summary": null},
    "store": true, "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
    "top_p": 1.0, "truncation": "disabled",
    "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
              "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 19},
    "user": null, "metadata": {}})"));
}

TEST_CASE("responses: instructions and input messages choose the answer; settings are echoed") {
  Fixture f;
  const Json j = f.call(R"({"model":"chat","instructions":"Be brief.","input":[
      {"role":"developer","content":"ignored"},
      {"type":"message","role":"user","content":[{"type":"input_text","text":"capital of"},{"type":"input_text","text":"Peru"}]},
      {"role":"assistant","content":[{"type":"output_text","text":"?"}]},
      {"role":"user","content":"capital of Chile"}],
    "temperature":0.5,"top_p":0.9,"store":false,"metadata":{"k":"v"},"user":"u1","parallel_tool_calls":false,
    "previous_response_id":"resp_1","truncation":"auto","max_output_tokens":100})");
  CHECK(j.at("output")[0].at("content")[0].at("text").as_string() == "I do not know the capital of Chile.");
  CHECK(j.at("instructions").as_string() == "Be brief.");
  CHECK(j.at("temperature").as_double() == 0.5);
  CHECK(j.at("top_p").as_double() == 0.9);
  CHECK(j.at("store") == Json(false));
  CHECK(j.at("metadata") == Json{{"k", "v"}});
  CHECK(j.at("user").as_string() == "u1");
  CHECK(j.at("parallel_tool_calls") == Json(false));
  CHECK(j.at("previous_response_id").as_string() == "resp_1");
  CHECK(j.at("truncation").as_string() == "auto");
  CHECK(j.at("max_output_tokens").as_int() == 100);
  CHECK(SpecSchema("Response").invalid_pointer(openai_form(j)) == "");
}

TEST_CASE("responses: the OpenAI layout takes the model name and answers in OpenAI's form") {
  Fixture f;
  const auto r = f.client.send(f.request(R"({"model":"gpt-4o","input":"hello there"})", true), Fixture::options());
  CHECK(r.header("apim-request-id") == nullptr);
  CHECK(r.header("x-request-id")->rfind("req_", 0) == 0);
  const Json j = Json::parse(r.body);
  CHECK(j.at("model").as_string() == "gpt-4o-2024-08-06");
  CHECK(j.at("output")[0].at("content")[0].at("text").as_string() == "This is the emulator's answer to: hello there");
  // Unscripted usage: 2 words + 4 per message + 3 in, the answer's 8 words out.
  CHECK(j.at("usage") == Json{{"input_tokens", 9},
                              {"input_tokens_details", Json{{"cached_tokens", 0}, {"cache_write_tokens", 0}}},
                              {"output_tokens", 8},
                              {"output_tokens_details", Json{{"reasoning_tokens", 0}}},
                              {"total_tokens", 17}});
}

TEST_CASE("responses: a text stream is the documented event sequence ending in the same Response") {
  Fixture f;
  const std::string body = R"({"model":"chat","input":"capital of Spain"})";
  const Json whole = f.call(body);
  const auto events = f.stream(R"({"model":"chat","input":"capital of Spain","stream":true})");
  check_framing(events);
  std::vector<std::string> expected = {"response.created", "response.in_progress", "response.output_item.added",
                                       "response.content_part.added"};
  for (int i = 0; i < 8; ++i) expected.push_back("response.output_text.delta");
  for (const char* t :
       {"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"})
    expected.push_back(t);
  CHECK(types(events) == expected);

  const Json& created = events[0].data.at("response");
  CHECK(created.at("status").as_string() == "in_progress");
  CHECK(created.at("output").empty());
  CHECK(created.at("usage").is_null());
  CHECK(created.at("completed_at").is_null());
  CHECK(events[1].data.at("response") == created);
  const std::string item_id = events[2].data.at("item").at("id").as_string();
  CHECK(events[2].data == Json{{"type", "response.output_item.added"},
                               {"sequence_number", 2},
                               {"output_index", 0},
                               {"item", Json{{"id", item_id},
                                             {"type", "message"},
                                             {"status", "in_progress"},
                                             {"role", "assistant"},
                                             {"content", Json::array()}}}});
  CHECK(
      events[3].data ==
      Json{{"type", "response.content_part.added"},
           {"sequence_number", 3},
           {"item_id", item_id},
           {"output_index", 0},
           {"content_index", 0},
           {"part",
            Json{{"type", "output_text"}, {"text", ""}, {"annotations", Json::array()}, {"logprobs", Json::array()}}}});
  CHECK(events[4].data == Json{{"type", "response.output_text.delta"},
                               {"sequence_number", 4},
                               {"item_id", item_id},
                               {"output_index", 0},
                               {"content_index", 0},
                               {"delta", "I"},
                               {"logprobs", Json::array()}});
  std::string text;
  for (std::size_t i = 4; i < 12; ++i) text += events[i].data.at("delta").as_string();
  CHECK(text == "I do not know the capital of Spain.");
  CHECK(events[12].data.at("text").as_string() == text);
  CHECK(events[13].data.at("part") ==
        Json{{"type", "output_text"}, {"text", text}, {"annotations", Json::array()}, {"logprobs", Json::array()}});
  const Json& final = events[15].data.at("response");
  CHECK(events[14].data.at("item") == final.at("output")[0]);
  CHECK(normalised(final) == normalised(whole));
  CHECK(normalised(created) == normalised([&] {
          Json r = whole;
          r.set("status", "in_progress");
          r.set("output", Json::array());
          r.set("usage", nullptr);
          r.set("completed_at", nullptr);
          return r;
        }()));
  CHECK(f.emu.stats().at("streams").as_int() == 1);
}

TEST_CASE("responses: scripted tool calls are function_call items with their call ids") {
  Fixture f;
  const Json j = f.call(with_tools("weather"));
  CHECK(SpecSchema("Response").invalid_pointer(openai_form(j)) == "");
  REQUIRE(j.at("output").size() == 2);
  CHECK(normalised(j).at("output") == Json::parse(R"([
    {"id":"item","type":"function_call","call_id":"call_1","name":"get_weather",
     "arguments":"{\"location\":\"Paris\",\"unit\":\"celsius\"}","status":"completed"},
    {"id":"item","type":"function_call","call_id":"call_2","name":"get_time",
     "arguments":"{\"city\":\"Paris\"}","status":"completed"}])"));
  CHECK(j.at("output")[1].at("id").as_string() == "fc_EMU0000000000000000000101");
  // The tools are echoed, function tools with strict (default true).
  CHECK(j.at("tools")[0].at("strict") == Json(true));
  CHECK(j.at("tools")[1].at("strict") == Json(false));
  CHECK(j.at("tools")[0].at("description").as_string() == "The weather");

  // Without tools no tool is called (Azure calls only declared tools): the scripted answer's text.
  CHECK(f.call(R"({"model":"chat","input":"weather"})").at("output")[0].at("content")[0].at("text").as_string() ==
        "Sunny.");
}

TEST_CASE("responses: a tool-call stream sends the arguments as deltas of each item") {
  Fixture f;
  const auto events = f.stream(with_tools("weather", R"(,"stream":true)"));
  check_framing(events);
  CHECK(types(events) ==
        std::vector<std::string>{"response.created", "response.in_progress", "response.output_item.added",
                                 "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                                 "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                                 "response.function_call_arguments.delta", "response.function_call_arguments.done",
                                 "response.output_item.done", "response.output_item.added",
                                 "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                                 "response.function_call_arguments.done", "response.output_item.done",
                                 "response.completed"});
  const Json& added = events[2].data.at("item");
  CHECK(added.at("status").as_string() == "in_progress");
  CHECK(added.at("arguments").as_string().empty());
  CHECK(added.at("call_id").as_string() == "call_1");
  CHECK(added.at("name").as_string() == "get_weather");
  std::string args;
  for (std::size_t i = 3; i < 8; ++i) {
    CHECK(events[i].data.at("item_id") == added.at("id"));
    CHECK(events[i].data.at("output_index").as_int() == 0);
    args += events[i].data.at("delta").as_string();
  }
  CHECK(args == R"({"location":"Paris","unit":"celsius"})");
  CHECK(events[8].data == Json{{"type", "response.function_call_arguments.done"},
                               {"sequence_number", 8},
                               {"item_id", added.at("id")},
                               {"name", "get_weather"},
                               {"output_index", 0},
                               {"arguments", args}});
  CHECK(events[10].data.at("output_index").as_int() == 1);
  CHECK(events[13].data.at("arguments").as_string() == R"({"city":"Paris"})");
  CHECK(normalised(events[15].data.at("response")) == normalised(f.call(with_tools("weather"))));
}

TEST_CASE("responses: tool_choice none, a named function, allowed_tools and required") {
  Fixture f;
  auto names = [](const Json& j) {
    std::vector<std::string> out;
    for (const auto& item : j.at("output").as_array())
      out.push_back(item.at("type").as_string() == "function_call" ? item.at("name").as_string()
                                                                   : item.at("content")[0].at("text").as_string());
    return out;
  };
  CHECK(names(f.call(with_tools("weather", R"(,"tool_choice":"none")"))) ==
        std::vector<std::string>{"Sunny."});
  const Json named = f.call(with_tools("weather", R"(,"tool_choice":{"type":"function","name":"get_time"})"));
  CHECK(names(named) == std::vector<std::string>{"get_time"});
  CHECK(named.at("tool_choice") == Json{{"type", "function"}, {"name", "get_time"}});
  CHECK(
      names(f.call(with_tools(
          "weather",
          R"(,"tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"get_weather"}]})"))) ==
      std::vector<std::string>{"get_weather"});
  CHECK(names(f.call(with_tools("weather", R"(,"tool_choice":"required")"))) ==
        (std::vector<std::string>{"get_weather", "get_time"}));

  // required, with an answer that calls no tool: a call of the first allowed function, its arguments
  // an instance of its parameters.
  const Json forced = f.call(with_tools("capital of Peru", R"(,"tool_choice":"required")"));
  REQUIRE(forced.at("output").size() == 1);
  const Json& call = forced.at("output")[0];
  CHECK(call.at("name").as_string() == "get_weather");
  CHECK(call.at("call_id").as_string().rfind("call_EMU", 0) == 0);
  CHECK(Json::parse(call.at("arguments").as_string()) == Json{{"location", "example"}, {"unit", "celsius"}});
  const Json forced_named =
      f.call(with_tools("capital of Peru", R"(,"tool_choice":{"type":"function","name":"get_time"})"));
  CHECK(Json::parse(forced_named.at("output")[0].at("arguments").as_string()) == Json{{"city", "example"}});
  // auto with an answer that calls no tool: text.
  CHECK(names(f.call(with_tools("capital of Peru"))) == std::vector<std::string>{"I do not know the capital of Peru."});

  const auto unknown = f.error(with_tools("weather", R"(,"tool_choice":{"type":"function","name":"nope"})"));
  CHECK(unknown.status == 400);
  CHECK(
      unknown.body ==
      Json::parse(
          R"({"error":{"code":"invalid_value","message":"Tool choice 'nope' not found in 'tools' parameter.","param":"tool_choice.name","type":"error"}})"));
  const auto bad_mode = f.error(with_tools("weather", R"(,"tool_choice":"always")"), false);
  CHECK(bad_mode.body.at("error").at("message").as_string() ==
        "Invalid value: 'always'. Supported values are: 'none', 'auto', and 'required'.");
}

TEST_CASE("responses: after function_call_output items the text answer is chosen") {
  Fixture f;
  const Json j = f.call(std::string(R"({"model":"chat","tools":)") + kTools + R"(,"input":[
      {"role":"user","content":"weather"},
      {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},
      {"type":"function_call_output","call_id":"call_1","output":"22C"}]})");
  REQUIRE(j.at("output").size() == 1);
  CHECK(j.at("output")[0].at("content")[0].at("text").as_string() == "Sunny.");
}

TEST_CASE("responses: text.format json_schema answers validate against the schema") {
  Fixture f;
  const Json schema{{"type", "object"},
                    {"properties", Json{{"title", Json{{"type", "string"}}},
                                        {"rating", Json{{"type", "integer"}}},
                                        {"tags", Json{{"type", "array"}}}}},
                    {"required", Json::array({"title", "rating", "tags"})},
                    {"additionalProperties", false}};
  const Json format{{"type", "json_schema"}, {"name", "review"}, {"schema", schema}, {"strict", true}};
  Json body{{"model", "chat"}, {"input", "anything"}, {"text", Json{{"format", format}}}};
  const Json j = f.call(body.dump());
  CHECK(SpecSchema("Response").invalid_pointer(openai_form(j)) == "");
  CHECK(j.at("text") == Json{{"format", format}});
  const Json answer = Json::parse(j.at("output")[0].at("content")[0].at("text").as_string());
  CHECK(answer == Json{{"title", "example"}, {"rating", 0}, {"tags", Json::array()}});
  CHECK(schema_violation(answer, schema) == std::nullopt);

  const Json scripted = f.call(R"({"model":"chat","input":"json please","text":{"format":{"type":"json_object"}}})");
  CHECK(Json::parse(scripted.at("output")[0].at("content")[0].at("text").as_string()) ==
        Json{{"name", "Ada"}, {"age", 36}});

  const auto bad_name =
      f.error(R"({"model":"chat","input":"x","text":{"format":{"type":"json_schema","name":"a b","schema":{}}}})");
  CHECK(bad_name.status == 400);
  CHECK(bad_name.body == Json{{"error", Json{{"code", "invalid_value"},
                                             {"message",
                                              "Invalid 'text.format.name': a name of 1 to 64 characters a-z, A-Z, "
                                              "0-9, '_' and '-' was expected."},
                                             {"param", "text.format.name"},
                                             {"type", "error"}}}});
  const auto no_name =
      f.error(R"({"model":"chat","input":"x","text":{"format":{"type":"json_schema","schema":{}}}})", true);
  CHECK(no_name.status == 400);
  CHECK(
      no_name.body ==
      Json::parse(
          R"({"error":{"message":"Missing required parameter: 'text.format.name'.","type":"invalid_request_error","param":"text.format.name","code":"missing_required_parameter"}})"));
}

TEST_CASE("responses: a reasoning deployment answers with a reasoning item and reasoning tokens") {
  Fixture f;
  const Json plain = f.call(R"({"model":"thinker","input":"hello there"})");
  CHECK(SpecSchema("Response").invalid_pointer(openai_form(plain)) == "");
  REQUIRE(plain.at("output").size() == 2);
  CHECK(plain.at("output")[0] ==
        Json{{"id", "rs_EMU0000000000000000000100"}, {"type", "reasoning"}, {"summary", Json::array()}});
  CHECK(plain.at("output")[1].at("type").as_string() == "message");
  CHECK(plain.at("reasoning") == Json{{"effort", "medium"}, {"summary", nullptr}});
  // 8 words of answer and 64 reasoning tokens at medium effort.
  CHECK(plain.at("usage").at("output_tokens").as_int() == 72);
  CHECK(plain.at("usage").at("output_tokens_details") == Json{{"reasoning_tokens", 64}});
  CHECK(plain.at("usage").at("total_tokens").as_int() == 81);

  const Json high = f.call(
      R"({"model":"thinker","input":"hello there","reasoning":{"effort":"high","summary":"auto"},"include":["reasoning.encrypted_content"]})");
  CHECK(high.at("usage").at("output_tokens_details") == Json{{"reasoning_tokens", 256}});
  CHECK(high.at("reasoning") == Json{{"effort", "high"}, {"summary", "auto"}});
  const Json& item = high.at("output")[0];
  CHECK(item.at("summary") ==
        Json::array(
            {Json{{"type", "summary_text"},
                  {"text", "**Choosing the answer**\n\nThe emulator picks its scripted answer for this input."}}}));
  CHECK(item.at("encrypted_content").as_string() == "emulator-reasoning-rs_EMU0000000000000000000200");

  // Scripted usage: completion_tokens count the reasoning tokens, as on chat completions.
  const Json scripted = f.call(R"({"model":"thinker","input":"capital of Peru"})");
  CHECK(scripted.at("usage").at("output_tokens").as_int() == 7);
  CHECK(scripted.at("usage").at("output_tokens_details") == Json{{"reasoning_tokens", 2}});

  const auto refused = f.error(R"({"model":"chat","input":"x","reasoning":{"effort":"low"}})");
  CHECK(refused.status == 400);
  CHECK(
      refused.body ==
      Json::parse(
          R"({"error":{"code":"unsupported_parameter","message":"Unsupported parameter: 'reasoning.effort' is not supported with this model.","param":"reasoning.effort","type":"error"}})"));
}

TEST_CASE("responses: a reasoning stream sends the summary before the message") {
  Fixture f;
  const auto events =
      f.stream(R"({"model":"thinker","input":"capital of Chile","reasoning":{"summary":"detailed"},"stream":true})");
  check_framing(events);
  std::vector<std::string> expected = {"response.created", "response.in_progress", "response.output_item.added",
                                       "response.reasoning_summary_part.added"};
  for (int i = 0; i < 11; ++i) expected.push_back("response.reasoning_summary_text.delta");
  for (const char* t : {"response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
                        "response.output_item.done", "response.output_item.added", "response.content_part.added"})
    expected.push_back(t);
  for (int i = 0; i < 8; ++i) expected.push_back("response.output_text.delta");
  for (const char* t :
       {"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"})
    expected.push_back(t);
  CHECK(types(events) == expected);
  CHECK(events[2].data.at("item").at("summary").empty());
  CHECK(events[3].data.at("part") == Json{{"type", "summary_text"}, {"text", ""}});
  std::string summary;
  for (std::size_t i = 4; i < 15; ++i) {
    CHECK(events[i].data.at("summary_index").as_int() == 0);
    summary += events[i].data.at("delta").as_string();
  }
  CHECK(summary == "**Choosing the answer**\n\nThe emulator picks its scripted answer for this input.");
  CHECK(events[15].data.at("text").as_string() == summary);
  CHECK(events[19].data.at("output_index").as_int() == 1);
  CHECK(events.back().data.at("response").at("usage").at("output_tokens_details").at("reasoning_tokens").as_int() == 2);
}

TEST_CASE("responses: max_output_tokens and the completion filter end the response incomplete") {
  Fixture f;
  const Json cut = f.call(R"({"model":"chat","input":"capital of Peru","max_output_tokens":3})");
  CHECK(SpecSchema("Response").invalid_pointer(openai_form(cut)) == "");
  CHECK(cut.at("status").as_string() == "incomplete");
  CHECK(cut.at("completed_at").is_null());
  CHECK(cut.at("incomplete_details") == Json{{"reason", "max_output_tokens"}});
  CHECK(cut.at("output")[0].at("status").as_string() == "incomplete");
  CHECK(cut.at("output")[0].at("content")[0].at("text").as_string() == "I do not");

  const Json filtered = f.call(R"({"model":"chat","input":"cut me"})");
  CHECK(filtered.at("incomplete_details") == Json{{"reason", "content_filter"}});
  CHECK(filtered.at("output")[0].at("content")[0].at("text").as_string() == "This story was");

  const auto events = f.stream(R"({"model":"chat","input":"capital of Peru","max_output_tokens":3,"stream":true})");
  check_framing(events);
  CHECK(events.back().data.at("type").as_string() == "response.incomplete");
  CHECK(events.back().data.at("response").at("incomplete_details") == Json{{"reason", "max_output_tokens"}});
  CHECK(events[events.size() - 2].data.at("item").at("status").as_string() == "incomplete");
}

TEST_CASE("responses: malformed bodies, unknown deployments and filtered prompts") {
  Fixture f;
  const auto not_json = f.error("{nope");
  CHECK(not_json.status == 400);
  CHECK(
      not_json.body ==
      Json::parse(
          R"j({"error":{"code":"BadRequest","message":"We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)"}})j"));

  const auto no_input = f.error(R"({"model":"gpt-4o"})", true);
  CHECK(no_input.status == 400);
  CHECK(
      no_input.body ==
      Json::parse(
          R"({"error":{"message":"Missing required parameter: 'input'.","type":"invalid_request_error","param":"input","code":"missing_required_parameter"}})"));

  const auto bad_item = f.error(R"({"model":"chat","input":[{"role":"robot","content":"x"}]})");
  CHECK(
      bad_item.body ==
      Json::parse(
          R"({"error":{"code":"invalid_value","message":"Invalid value: 'robot'. Supported values are: 'assistant', 'system', 'developer', and 'user'.","param":"input[0].role","type":"error"}})"));
  const auto bad_type = f.error(R"({"model":"chat","input":[{"role":"user","content":7}]})");
  CHECK(bad_type.body.at("error").at("message").as_string() ==
        "Invalid type for 'input[0].content': expected one of a string or array, but got integer instead.");
  CHECK(f.error(R"({"model":"chat","input":[]})").body.at("error").at("code").as_string() == "empty_array");
  CHECK(f.error(R"({"model":"chat","input":"x","stream":"yes"})").body.at("error").at("param").as_string() == "stream");
  CHECK(f.error(R"({"model":"chat","input":"x","tools":[{"type":"function"}]})")
            .body.at("error")
            .at("param")
            .as_string() == "tools[0].name");
  HttpRequest dated = f.request(R"({"model":"chat","input":"x"})");
  dated.url += "?api-version=2024-10-21";
  CHECK_THROWS_AS(f.client.send(dated, Fixture::options()), BadRequestError);
  dated.url = f.request("").url + "?api-version=v1";
  CHECK(f.client.send(dated, Fixture::options()).status == 200);

  const auto azure_missing = f.error(R"({"model":"missing","input":"x"})");
  CHECK(azure_missing.status == 404);
  CHECK(azure_missing.body.at("error").at("code").as_string() == "DeploymentNotFound");
  const auto openai_missing = f.error(R"({"model":"missing","input":"x"})", true);
  CHECK(openai_missing.status == 404);
  CHECK(
      openai_missing.body ==
      Json::parse(
          R"({"error":{"message":"The model `missing` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}})"));

  HttpRequest keyless = f.request(R"({"model":"chat","input":"x"})");
  keyless.headers = {{"api-key", "wrong"}};
  CHECK_THROWS_AS(f.client.send(keyless, Fixture::options()), AuthenticationError);
  keyless = f.request(R"({"model":"gpt-4o","input":"x"})", true);
  keyless.headers = {{"api-key", "k1"}};  // OpenAI's layout takes only Authorization: Bearer
  CHECK_THROWS_AS(f.client.send(keyless, Fixture::options()), AuthenticationError);

  const auto blocked = f.error(R"({"model":"chat","input":"blocked"})");
  CHECK(blocked.status == 400);
  CHECK(blocked.body.at("error").at("code").as_string() == "content_filter");
  CHECK(blocked.body.at("error").at("innererror").at("content_filter_result").at("violence") ==
        Json{{"filtered", true}, {"severity", "medium"}});

  HttpRequest get = f.request("");
  get.method = "GET";
  try {
    f.client.send(get, Fixture::options());
    FAIL("GET succeeded");
  } catch (const ProviderError& e) {
    CHECK(e.status() == 405);
  }
}

TEST_CASE("responses: the fault markers apply as on chat completions") {
  Fixture f;
  const std::string body = R"({"model":"chat","input":"capital of Peru"})";
  const auto limited = f.error(body, false, {{"x-emulator-fault", "429"}, {"x-emulator-retry-after-ms", "none"}});
  CHECK(limited.status == 429);
  CHECK(limited.retry_after_seconds == 1.0);
  CHECK(limited.body.at("error").at("code").as_string() == "429");
  const auto openai_limited = f.error(R"({"model":"gpt-4o","input":"x"})", true, {{"x-emulator-fault", "429"}});
  CHECK(
      openai_limited.body ==
      Json::parse(
          R"({"error":{"message":"Rate limit reached for requests. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}})"));

  const auto failed = f.error(body, false, {{"x-emulator-fault", "500"}});
  CHECK(failed.status == 500);
  CHECK(
      failed.body ==
      Json::parse(
          R"({"error":{"code":"InternalServerError","message":"The server had an error while processing your request. Sorry about that!"}})"));

  CHECK_THROWS_AS(f.client.send(f.request(body, false, {{"x-emulator-fault", "reset"}}), Fixture::options()),
                  ConnectionError);
  CHECK_THROWS_AS(f.client.send(f.request(body, false, {{"x-emulator-fault", "reset-mid-stream"}}), Fixture::options()),
                  ConnectionError);
  const auto cut = f.client.send(f.request(body, false, {{"x-emulator-fault", "malformed-json"}}), Fixture::options());
  CHECK_THROWS_AS(Json::parse(cut.body), JsonError);
  CHECK(cut.body.rfind(R"({"id":"resp_EMU)", 0) == 0);

  // slow-first-byte delays the answer, which is the usual one.
  CHECK(f.call(body, false, {{"x-emulator-fault", "slow-first-byte:20"}})
            .at("output")[0]
            .at("content")[0]
            .at("text")
            .as_string() == "I do not know the capital of Peru.");
  // 429-then-ok:1: the retry succeeds.
  TransportOptions retrying = Fixture::options();
  retrying.max_retries = 1;
  retrying.initial_backoff_seconds = 0.001;
  const auto retried = f.client.send(
      f.request(body, false, {{"x-emulator-fault", "429-then-ok:1"}, {"x-emulator-retry-after-ms", "1"}}), retrying);
  CHECK(retried.attempts == 2);

  // Streams: cut after 3 events (reset), an error event as the 4th, or no terminal event.
  const std::string streamed = R"({"model":"chat","input":"capital of Peru","stream":true})";
  {
    auto s = f.client.open(f.request(streamed, false, {{"x-emulator-fault", "reset-mid-stream"}}), Fixture::options());
    SseParser p;
    try {
      while (auto bytes = s->read()) p.feed(*bytes);
      CHECK_FALSE(p.finish());  // some platforms report the reset as an end of body
    } catch (const ConnectionError& e) {
      CHECK(e.status() == 200);
    }
    std::vector<std::string> seen;
    while (auto e = p.next()) seen.push_back(e->event);
    CHECK(seen == std::vector<std::string>{"response.created", "response.in_progress", "response.output_item.added"});
  }
  const auto errored = f.stream(streamed, {{"x-emulator-fault", "error-mid-stream"}});
  REQUIRE(errored.size() == 4);
  CHECK(errored[3].event == "error");
  CHECK(errored[3].data == Json{{"type", "error"},
                                {"sequence_number", 3},
                                {"code", "server_error"},
                                {"message", "The server had an error while processing your request. Sorry about that!"},
                                {"param", nullptr}});
  const auto unfinished = f.stream(streamed, {{"x-emulator-fault", "no-done"}});
  CHECK(unfinished.back().data.at("type").as_string() == "response.output_item.done");
  CHECK(f.stream(streamed, {{"x-emulator-fault", "slow-stream:1"}}).back().data.at("type").as_string() ==
        "response.completed");
}
