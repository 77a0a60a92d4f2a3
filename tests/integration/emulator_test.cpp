// The emulator's responses against the official 2024-10-21 schemas, and its
// scripted behaviour (answers, tool calls, JSON modes, filters, faults, stats).
#include "emulator_process.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/sse.hpp>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace chainpp;
using chainpp::test::EmulatorProcess;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kSpecDir = std::string(CHAINPP_SOURCE_DIR) + "/tests/data/azure-openai/2024-10-21/";

class Schema {
public:
  explicit Schema(const std::string& file) {
    rapidjson::Document d;
    const std::string text = read_file(kSpecDir + file);
    d.Parse(text.c_str());
    REQUIRE_FALSE(d.HasParseError());
    schema_ = std::make_unique<rapidjson::SchemaDocument>(d);
  }
  // "" when `json` is valid, else the JSON pointer of the first invalid document location.
  std::string invalid_pointer(const std::string& json) const {
    rapidjson::Document d;
    d.Parse(json.c_str());
    REQUIRE_FALSE(d.HasParseError());
    rapidjson::SchemaValidator v(*schema_);
    if (d.Accept(v)) return "";
    rapidjson::StringBuffer sb;
    v.GetInvalidDocumentPointer().StringifyUriFragment(sb);
    return std::string(sb.GetString()) + " (" + v.GetInvalidSchemaKeyword() + ")";
  }

private:
  std::unique_ptr<rapidjson::SchemaDocument> schema_;
};

const char* kConfig = R"(
api_keys: [k1, token-1]
deployments:
  chat: {model: gpt-4o, version: "2024-08-06", system_fingerprint: fp_test}
  legacy: {model: gpt-35-turbo, version: "0613"}
  named: {model: gpt-4o, version: "2024-11-20", model_name: my-gpt-4o}
  reasoner: {model: o3-mini, version: "2025-01-31"}
  async: {model: gpt-4o, version: "2024-08-06", system_fingerprint: fp_test, async_filter: true}
  flaky: {model: gpt-4o, version: "2024-08-06", system_fingerprint: fp_test, fault: "429-then-ok:1", retry_after_ms: "5"}
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
cycle:
  - content: first
  - content: second
)";

struct Fixture {
  Fixture() : config_path(write_config()), emu({"--config", config_path, "--quiet"}) {}
  ~Fixture() { std::remove(config_path.c_str()); }

  static std::string write_config() {
    char name[] = "/tmp/chainpp-emulator-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(name) << kConfig;
    return name;
  }

  HttpRequest request(const std::string& deployment, const Json& body) const {
    HttpRequest r;
    r.url = emu.base_url() + "/openai/deployments/" + deployment + "/chat/completions?api-version=2024-10-21";
    r.headers = {{"api-key", "k1"}, {"Content-Type", "application/json"}};
    r.body = body.dump();
    r.provider = "azure_openai";
    return r;
  }

  Json call(const std::string& deployment, const Json& body) {
    return Json::parse(client.send(request(deployment, body), options()).body);
  }

  std::vector<std::string> stream(const std::string& deployment, Json body) {
    body.set("stream", true);
    body.set("stream_options", Json{{"include_usage", true}});
    auto s = client.open(request(deployment, body), options());
    SseParser p;
    std::vector<std::string> out;
    while (auto bytes = s->read()) p.feed(*bytes);
    REQUIRE(p.finish());
    while (auto e = p.next()) out.push_back(e->data);
    return out;
  }

  static TransportOptions options() {
    TransportOptions o;
    o.initial_backoff_seconds = 0.001;
    o.max_backoff_seconds = 0.001;
    return o;
  }

  std::string config_path;
  EmulatorProcess emu;
  HttpClient client;
};

Json user(const std::string& text, Json extra = Json::object()) {
  extra.set("messages", Json::array({Json{{"role", "user"}, {"content", text}}}));
  return extra;
}

}  // namespace

TEST_CASE("default responses validate against the official response schema") {
  EmulatorProcess emu({"--quiet"});
  HttpClient client;
  const Schema response("chat-completions-response.schema.json");
  HttpRequest r;
  r.headers = {{"api-key", "test-key"}};
  r.body = R"({"messages":[{"role":"system","content":"You are a helpful assistant that translates English to German."},{"role":"user","content":"I love programming."}]})";
  r.url = emu.base_url() + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21";
  const auto full = client.send(r).body;
  CHECK(response.invalid_pointer(full) == "");
  CHECK(Json::parse(full).at("choices")[0].at("message").at("content").as_string() == "Ich liebe das Programmieren.");
  CHECK(Json::parse(full).at("usage").at("prompt_tokens").as_int() == 26);
  // gpt-35-turbo sends system_fingerprint: null, as the service does; the schema says string.
  r.url = emu.base_url() + "/openai/deployments/gpt-35-turbo/chat/completions?api-version=2024-10-21";
  CHECK(response.invalid_pointer(client.send(r).body) == "#/system_fingerprint (type)");
}

TEST_CASE("tool calls, logprobs, usage details and n validate against the schema") {
  Fixture f;
  const Schema response("chat-completions-response.schema.json");
  // Both tools of the scripted answer are declared: the service never calls one the request does not declare.
  const Json tools = Json::array({Json{{"type", "function"}, {"function", Json{{"name", "get_weather"}}}},
                                  Json{{"type", "function"}, {"function", Json{{"name", "get_time"}}}}});

  const Json calls = f.call("chat", user("weather", Json{{"tools", tools}}));
  CHECK(response.invalid_pointer(calls.dump()) == "");
  const auto& choice = calls.at("choices")[0];
  CHECK(choice.at("finish_reason").as_string() == "tool_calls");
  CHECK(choice.at("message").at("content").is_null());
  CHECK(choice.at("message").at("tool_calls")[1] ==
        Json{{"function", Json{{"arguments", R"({"city":"Paris"})"}, {"name", "get_time"}}},
             {"id", "call_2"},
             {"type", "function"}});

  const Json lp = f.call("chat", user("capital of France", Json{{"logprobs", true}, {"top_logprobs", 2}, {"n", 2}}));
  CHECK(response.invalid_pointer(lp.dump()) == "");
  CHECK(lp.at("choices").size() == 2);
  CHECK(lp.at("choices")[1].at("message").at("content").as_string() == "I do not know the capital of France.");
  const auto& tokens = lp.at("choices")[0].at("logprobs").at("content");
  CHECK(tokens.size() == 8);
  CHECK(tokens[0].at("token").as_string() == "I");
  CHECK(tokens[0].at("top_logprobs").size() == 2);
  CHECK(lp.at("usage") == Json{{"completion_tokens", 7},
                               {"prompt_tokens", 12},
                               {"total_tokens", 19},
                               {"completion_tokens_details", Json{{"reasoning_tokens", 2}}},
                               {"prompt_tokens_details", Json{{"cached_tokens", 4}}}});
}

TEST_CASE("stream chunks validate against the stream schema, except Azure's first chunk") {
  Fixture f;
  const Schema chunk("chat-completions-stream-chunk.schema.json");
  const auto events = f.stream("chat", user("capital of Spain", Json{{"logprobs", true}, {"top_logprobs", 1}}));
  REQUIRE(events.size() == 12);  // filter, role, 8 content pieces, finish, usage
  CHECK(chunk.invalid_pointer(events[0]) == "#/object (enum)");  // "object": "" as the service sends it
  // The generated schema keeps the enum of the nullable finish_reason, so the
  // null the service sends on every chunk before the finish fails on exactly that field.
  for (std::size_t i = 1; i < events.size(); ++i) {
    const Json j = Json::parse(events[i]);
    const bool null_finish = !j.at("choices").empty() && j.at("choices")[0].at("finish_reason").is_null();
    CHECK(chunk.invalid_pointer(events[i]) == (null_finish ? "#/choices/0/finish_reason (enum)" : ""));
  }
  CHECK(Json::parse(events[11]).at("usage").at("total_tokens").as_int() == 19);
}

TEST_CASE("tool-call deltas arrive by index and merge into the arguments") {
  Fixture f;
  // Both tools of the scripted answer are declared: the service never calls one the request does not declare.
  const Json tools = Json::array({Json{{"type", "function"}, {"function", Json{{"name", "get_weather"}}}},
                                  Json{{"type", "function"}, {"function", Json{{"name", "get_time"}}}}});
  const auto events = f.stream("chat", user("weather", Json{{"tools", tools}}));
  std::map<std::int64_t, std::string> args;
  std::map<std::int64_t, std::string> names;
  std::string finish;
  for (const auto& e : events) {
    const Json j = Json::parse(e);
    if (j.at("choices").empty()) continue;
    const auto& c = j.at("choices")[0];
    if (!c.at("finish_reason").is_null()) finish = c.at("finish_reason").as_string();
    if (const Json* tc = c.at("delta").find("tool_calls")) {
      for (const auto& call : tc->as_array()) {
        const auto index = call.at("index").as_int();
        if (const Json* n = call.at("function").find("name")) names[index] += n->as_string();
        args[index] += call.at("function").at("arguments").as_string();
      }
    }
  }
  CHECK(finish == "tool_calls");
  CHECK(names[0] == "get_weather");
  CHECK(names[1] == "get_time");
  CHECK(args[0] == R"({"location":"Paris","unit":"celsius"})");
  CHECK(args[1] == R"({"city":"Paris"})");
}

TEST_CASE("after a tool result the non-tool answer is chosen") {
  Fixture f;
  Json body = Json::object();
  body.set("messages", Json::array({Json{{"role", "user"}, {"content", "weather"}},
                                    // The tool message answers the assistant's call, as the service requires.
                                    Json{{"role", "assistant"}, {"content", nullptr},
                                         {"tool_calls", Json::array({Json{{"id", "call_1"}, {"type", "function"},
                                                                          {"function", Json{{"name", "get_weather"}, {"arguments", "{}"}}}}})}},
                                    Json{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "22C"}}}));
  body.set("tools", Json::array({Json{{"type", "function"}, {"function", Json{{"name", "get_weather"}}}}}));
  CHECK(f.call("chat", body).at("choices")[0].at("message").at("content").as_string() == "Sunny.");
}

TEST_CASE("JSON mode and json_schema answers") {
  Fixture f;
  const Json scripted = f.call("chat", user("json please", Json{{"response_format", Json{{"type", "json_object"}}}}));
  CHECK(Json::parse(scripted.at("choices")[0].at("message").at("content").as_string()) ==
        Json{{"name", "Ada"}, {"age", 36}});
  const Json schema{{"type", "object"},
                    {"properties", Json{{"title", Json{{"type", "string"}}},
                                        {"rating", Json{{"type", "integer"}}},
                                        {"tags", Json{{"type", "array"}}}}},
                    {"required", Json::array({"title", "rating", "tags"})}};
  const Json rf{{"type", "json_schema"}, {"json_schema", Json{{"name", "review"}, {"schema", schema}, {"strict", true}}}};
  const Json generated = f.call("chat", user("anything", Json{{"response_format", rf}}));
  CHECK(Json::parse(generated.at("choices")[0].at("message").at("content").as_string()) ==
        Json{{"title", "example"}, {"rating", 0}, {"tags", Json::array()}});
}

TEST_CASE("a completion cut by the filter has finish_reason content_filter") {
  Fixture f;
  const Json j = f.call("chat", user("cut me"));
  const auto& c = j.at("choices")[0];
  CHECK(c.at("finish_reason").as_string() == "content_filter");
  CHECK(c.at("message").at("content").as_string() == "This story was");
  CHECK(c.at("content_filter_results").at("sexual") == Json{{"filtered", true}, {"severity", "medium"}});
  const auto events = f.stream("chat", user("cut me"));
  CHECK(Json::parse(events[events.size() - 2]).at("choices")[0].at("finish_reason").as_string() == "content_filter");
}

TEST_CASE("unmatched prompts cycle through the cycle answers") {
  Fixture f;
  CHECK(f.call("chat", user("a")).at("choices")[0].at("message").at("content").as_string() == "first");
  CHECK(f.call("chat", user("b")).at("choices")[0].at("message").at("content").as_string() == "second");
  CHECK(f.call("chat", user("c")).at("choices")[0].at("message").at("content").as_string() == "first");
}

TEST_CASE("max_tokens cuts the answer with finish_reason length") {
  Fixture f;
  const Json j = f.call("chat", user("capital of Peru", Json{{"max_tokens", 3}}));
  CHECK(j.at("choices")[0].at("message").at("content").as_string() == "I do not");
  CHECK(j.at("choices")[0].at("finish_reason").as_string() == "length");
  // The usage counts the 3 tokens sent, not the scripted 7 of the whole answer.
  CHECK(j.at("usage").at("completion_tokens").as_int() == 3);
  CHECK(j.at("usage").at("prompt_tokens").as_int() == 12);
  CHECK(j.at("usage").at("total_tokens").as_int() == 15);
}

TEST_CASE("stop ends the answer before the first stop sequence, finish_reason stop") {
  Fixture f;
  const Json one = f.call("chat", user("capital of Peru", Json{{"stop", "capital"}}));
  CHECK(one.at("choices")[0].at("message").at("content").as_string() == "I do not know the ");
  CHECK(one.at("choices")[0].at("finish_reason").as_string() == "stop");
  // One token per piece sent: "I", " do", " not", " know", " the", " ".
  CHECK(one.at("usage").at("completion_tokens").as_int() == 6);
  const Json earliest = f.call("chat", user("capital of Peru", Json{{"stop", Json::array({"of", "not"})}}));
  CHECK(earliest.at("choices")[0].at("message").at("content").as_string() == "I do ");
  CHECK(earliest.at("usage").at("completion_tokens").as_int() == 3);
  // Streamed: the same text, and the usage chunk counts what was streamed.
  std::string text;
  Json usage;
  for (const auto& e : f.stream("chat", user("capital of Peru", Json{{"stop", Json::array({"Peru"})}}))) {
    if (e == "[DONE]") continue;
    const Json j = Json::parse(e);
    if (const Json* u = j.find("usage"); u && !u->is_null()) usage = *u;
    if (j.at("choices").empty()) continue;
    if (const Json* c = j.at("choices")[0].at("delta").find("content"); c && c->is_string()) text += c->as_string();
  }
  CHECK(text == "I do not know the capital of ");
  CHECK(usage.at("completion_tokens").as_int() == 8);
  // A stop sequence that does not occur leaves the scripted answer and usage alone.
  const Json whole = f.call("chat", user("capital of Peru", Json{{"stop", "zebra"}}));
  CHECK(whole.at("choices")[0].at("message").at("content").as_string() == "I do not know the capital of Peru.");
  CHECK(whole.at("usage").at("completion_tokens").as_int() == 7);
}

TEST_CASE("a deployment's configured fault applies to every request on it") {
  Fixture f;
  std::vector<double> delays;
  const auto r = f.client.send(f.request("flaky", user("a")), Fixture::options(),
                               [&](int, const std::exception&, double d) { delays.push_back(d); });
  CHECK(r.attempts == 2);
  CHECK(delays == std::vector<double>{0.005});
  CHECK(f.emu.stats().at("requests").as_int() == 2);
}

TEST_CASE("the v1 form takes the deployment from the body; bearer tokens are accepted") {
  Fixture f;
  HttpRequest r;
  r.url = f.emu.base_url() + "/openai/v1/chat/completions";
  r.headers = {{"Authorization", "Bearer token-1"}};
  r.body = R"({"model":"legacy","messages":[{"role":"user","content":"x"}]})";
  const Json j = Json::parse(f.client.send(r).body);
  CHECK(j.at("model").as_string() == "gpt-35-turbo");
  CHECK(j.contains("prompt_filter_results"));
  r.body = R"({"model":"missing","messages":[{"role":"user","content":"x"}]})";
  CHECK_THROWS_AS(f.client.send(r), NotFoundError);
}

TEST_CASE("the emulator records requests and resets its counters") {
  Fixture f;
  f.call("chat", user("recorded"));
  const Json reqs = f.emu.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].at("method").as_string() == "POST");
  CHECK(reqs[0].at("uri").as_string() == "/openai/deployments/chat/chat/completions?api-version=2024-10-21");
  CHECK(reqs[0].at("body") == user("recorded"));
  f.emu.reset();
  CHECK(f.emu.stats().at("requests").as_int() == 0);
  CHECK(f.emu.requests().empty());
}

TEST_CASE("an invalid configuration file fails with its location") {
  char name[] = "/tmp/chainpp-emulator-bad-XXXXXX";
  const int fd = ::mkstemp(name);
  ::close(fd);
  std::ofstream(name) << "answers:\n  - mtch: x\n";
  CHECK_THROWS_WITH(EmulatorProcess({"--config", name}), Catch::Contains("did not start"));
  std::remove(name);
}

TEST_CASE("a stream with n = 2 streams each choice by its index") {
  Fixture f;
  const auto events = f.stream("chat", user("capital of Chile", Json{{"n", 2}}));
  std::map<std::int64_t, std::string> text;
  std::map<std::int64_t, std::string> finish;
  for (const auto& e : events) {
    const Json j = Json::parse(e);
    for (const auto& c : j.at("choices").as_array()) {
      const auto index = c.at("index").as_int();
      if (const Json* content = c.at("delta").find("content"); content && content->is_string())
        text[index] += content->as_string();
      if (!c.at("finish_reason").is_null()) finish[index] = c.at("finish_reason").as_string();
    }
  }
  CHECK(text[0] == "I do not know the capital of Chile.");
  CHECK(text[1] == "I do not know the capital of Chile.");
  CHECK(finish[0] == "stop");
  CHECK(finish[1] == "stop");
}

TEST_CASE("the asynchronous filter sends annotation chunks, the last after the finish chunk") {
  Fixture f;
  const auto events = f.stream("async", user("capital of Chile"));
  REQUIRE(events.size() == 16);  // filter, role, 8 pieces + 3 annotations, finish, last annotation, usage
  std::string text;
  std::vector<Json> annotations;
  int finish_at = -1;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Json j = Json::parse(events[i]);
    if (j.at("choices").empty()) continue;
    const auto& c = j.at("choices")[0];
    if (c.contains("content_filter_offsets")) {
      CHECK_FALSE(c.contains("delta"));
      CHECK(j.at("id").as_string().empty());
      annotations.push_back(c);
      continue;
    }
    if (const Json* content = c.at("delta").find("content"); content && content->is_string()) {
      CHECK(c.at("content_filter_results").empty());
      text += content->as_string();
    }
    if (!c.at("finish_reason").is_null()) finish_at = static_cast<int>(i);
  }
  CHECK(text == "I do not know the capital of Chile.");
  REQUIRE(annotations.size() == 4);
  CHECK(finish_at == 13);
  CHECK(annotations[3].at("content_filter_offsets") ==
        Json{{"check_offset", 25}, {"start_offset", 25}, {"end_offset", 35}});
  CHECK(annotations[0].at("content_filter_results").at("hate").at("severity").as_string() == "safe");
}

TEST_CASE("tool_choice: none, required and a named function; undeclared tools are not called") {
  Fixture f;
  const Json weather{{"type", "function"},
                     {"function", Json{{"name", "get_weather"},
                                       {"parameters", Json{{"type", "object"},
                                                           {"properties", Json{{"location", Json{{"type", "string"}}},
                                                                               {"unit", Json{{"enum", Json::array({"celsius", "fahrenheit"})}}}}},
                                                           {"required", Json::array({"location", "unit"})}}}}}};
  const Json time{{"type", "function"}, {"function", Json{{"name", "get_time"}}}};
  const Json lookup{{"type", "function"},
                    {"function", Json{{"name", "lookup"},
                                      {"parameters", Json{{"type", "object"},
                                                          {"properties", Json{{"ids", Json{{"type", "array"}, {"items", Json{{"type", "integer"}, {"minimum", 7}}}}}}},
                                                          {"required", Json::array({"ids"})},
                                                          {"additionalProperties", false}}}}}};
  // "none": the text answer scripted after the calls.
  const Json none = f.call("chat", user("weather", Json{{"tools", Json::array({weather, time})}, {"tool_choice", "none"}}));
  CHECK(none.at("choices")[0].at("message") ==
        Json{{"content", "Sunny."}, {"refusal", nullptr}, {"role", "assistant"}});
  // Only get_weather declared: get_time is not called.
  const Json one = f.call("chat", user("weather", Json{{"tools", Json::array({weather})}}));
  CHECK(one.at("choices")[0].at("message").at("tool_calls") ==
        Json::array({Json{{"function", Json{{"arguments", R"({"location":"Paris","unit":"celsius"})"}, {"name", "get_weather"}}},
                          {"id", "call_1"},
                          {"type", "function"}}}));
  // A named function nobody scripted: called with arguments generated from its parameters.
  const Json named = f.call("chat", user("weather", Json{{"tools", Json::array({weather, lookup})},
                                                         {"tool_choice", Json{{"type", "function"}, {"function", Json{{"name", "lookup"}}}}}}));
  const auto& named_choice = named.at("choices")[0];
  CHECK(named_choice.at("finish_reason").as_string() == "tool_calls");
  CHECK(named_choice.at("message").at("tool_calls") ==
        Json::array({Json{{"function", Json{{"arguments", R"({"ids":[7]})"}, {"name", "lookup"}}},
                          {"id", "call_EMU00000000000000000003"},
                          {"type", "function"}}}));
  // "required" with no scripted call: the first declared tool.
  const Json required = f.call("chat", user("hello", Json{{"tools", Json::array({weather})}, {"tool_choice", "required"}}));
  CHECK(required.at("choices")[0].at("message").at("tool_calls")[0].at("function") ==
        Json{{"arguments", R"({"location":"example","unit":"celsius"})"}, {"name", "get_weather"}});
  // "auto" and nothing scripted for the prompt: text.
  const Json text = f.call("chat", user("hello", Json{{"tools", Json::array({weather})}}));
  CHECK(text.at("choices")[0].at("finish_reason").as_string() == "stop");
  CHECK_FALSE(text.at("choices")[0].at("message").contains("tool_calls"));
}

TEST_CASE("tool_choice: scripted arguments that do not validate against the parameters are a 500") {
  Fixture f;
  const Json strict{{"type", "function"},
                    {"function", Json{{"name", "get_weather"},
                                      {"parameters", Json{{"type", "object"},
                                                          {"properties", Json{{"location", Json{{"type", "integer"}}}}},
                                                          {"required", Json::array({"location"})}}}}}};
  try {
    f.client.send(f.request("chat", user("weather", Json{{"tools", Json::array({strict})}})), Fixture::options());
    FAIL("no error");
  } catch (const ProviderError& e) {
    CHECK(e.status() == 500);
    CHECK(e.info().body == Json{{"error", Json{{"code", "InternalServerError"},
                                               {"message", "emulator: the scripted arguments of get_weather do not "
                                                           "validate against its parameters: #/location: type at "
                                                           "#/properties/location"}}}});
  }
}

TEST_CASE("json_schema answers validate: anyOf, $ref into $defs, enum, arrays of objects, nested required") {
  Fixture f;
  const Json schema = Json::parse(R"({
    "type": "object",
    "properties": {
      "owner": {"$ref": "#/$defs/person"},
      "pets": {"type": "array", "items": {"$ref": "#/$defs/pet"}},
      "mood": {"type": "string", "enum": ["happy", "sad"]},
      "note": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 10}]},
      "tree": {"$ref": "#/$defs/tree"}
    },
    "required": ["owner", "pets", "mood", "note", "tree"],
    "additionalProperties": false,
    "$defs": {
      "person": {"type": "object", "properties": {"name": {"type": "string"}, "address": {"type": "object",
        "properties": {"city": {"type": "string"}, "zip": {"type": "integer", "minimum": 1000}},
        "required": ["city", "zip"], "additionalProperties": false}},
        "required": ["name", "address"], "additionalProperties": false},
      "pet": {"anyOf": [
        {"type": "object", "properties": {"kind": {"const": "cat"}, "lives": {"type": "integer"}}, "required": ["kind", "lives"], "additionalProperties": false},
        {"type": "object", "properties": {"kind": {"const": "dog"}}, "required": ["kind"], "additionalProperties": false}]},
      "tree": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/tree"}}},
        "required": ["children"], "additionalProperties": false}
    }
  })");
  const Json rf{{"type", "json_schema"}, {"json_schema", Json{{"name", "household"}, {"schema", schema}, {"strict", true}}}};
  const Json answer = f.call("chat", user("anything", Json{{"response_format", rf}}));
  const std::string content = answer.at("choices")[0].at("message").at("content").as_string();
  const Json value = Json::parse(content);
  CHECK(value.at("owner") == Json{{"name", "example"}, {"address", Json{{"city", "example"}, {"zip", 1000}}}});
  CHECK(value.at("pets") == Json::array({Json{{"kind", "cat"}, {"lives", 0}}}));
  CHECK(value.at("mood").as_string() == "happy");
  CHECK(value.at("note").as_string() == "examplexxx");
  // The recursion ends where an array may be empty.
  int depth = 0;
  for (const Json* t = &value.at("tree"); !t->at("children").empty(); t = &t->at("children")[0]) ++depth;
  CHECK(depth == 5);  // where the generator's depth budget (32, half for recursion) runs out
  // What the emulator checked, checked again with the test's own validator.
  rapidjson::Document sd;
  sd.Parse(schema.dump().c_str());
  const rapidjson::SchemaDocument compiled(sd);
  rapidjson::SchemaValidator validator(compiled);
  rapidjson::Document vd;
  vd.Parse(content.c_str());
  CHECK(vd.Accept(validator));
}

namespace {

// The status and body of a request the emulator refuses.
std::pair<int, Json> refused(Fixture& f, const HttpRequest& r) {
  TransportOptions o = Fixture::options();
  o.max_retries = 0;
  try {
    f.client.send(r, o);
  } catch (const ProviderError& e) {
    return {e.status(), e.info().body};
  }
  FAIL("no error");
  return {};
}

}  // namespace

TEST_CASE("request validation: the schema's bounds and types, unknown parameters, Azure's error body") {
  Fixture f;
  CHECK(refused(f, f.request("chat", user("hi", Json{{"temperature", 5}}))) ==
        std::pair<int, Json>{400, Json{{"error", Json{{"code", "decimal_above_max_value"},
                                                      {"message", "Invalid 'temperature': decimal above maximum value. "
                                                                  "Expected a value <= 2, but got 5 instead."},
                                                      {"param", "temperature"},
                                                      {"type", "invalid_request_error"}}}}});
  CHECK(refused(f, f.request("chat", user("hi", Json{{"presence_penalty", -2.5}}))).second.at("error").at("message") ==
        Json("Invalid 'presence_penalty': decimal below minimum value. Expected a value >= -2, but got -2.5 instead."));
  CHECK(refused(f, f.request("chat", user("hi", Json{{"logprobs", "yes"}}))).second ==
        Json{{"error", Json{{"code", "invalid_type"},
                            {"message", "Invalid type for 'logprobs': expected a boolean, but got a string instead."},
                            {"param", "logprobs"},
                            {"type", "invalid_request_error"}}}});
  CHECK(refused(f, f.request("chat", user("hi", Json{{"foo", 1}}))).second ==
        Json{{"error", Json{{"code", nullptr},
                            {"message", "Unrecognized request argument supplied: foo"},
                            {"param", nullptr},
                            {"type", "invalid_request_error"}}}});
  CHECK(refused(f, f.request("chat", user("hi", Json{{"stop", Json::array({"a", "b", "c", "d", "e"})}}))).second ==
        Json{{"error", Json{{"code", "invalid_value"},
                            {"message", "Invalid value for 'stop': it does not match the request schema (oneOf at "
                                        "#/definitions/createChatCompletionRequest/allOf/1/properties/stop)."},
                            {"param", "stop"},
                            {"type", "invalid_request_error"}}}});
  // Nothing was answered: the checks come before the answer, after the faults.
  HttpRequest limited = f.request("chat", user("hi", Json{{"temperature", 5}}));
  limited.headers.emplace_back("x-emulator-fault", "429");
  CHECK(refused(f, limited).first == 429);
}

TEST_CASE("request validation: tool messages answer a preceding assistant's tool_calls") {
  Fixture f;
  const Json call{{"id", "call_1"}, {"type", "function"}, {"function", Json{{"name", "get_weather"}, {"arguments", "{}"}}}};
  Json orphan = user("weather");
  orphan["messages"].push_back(Json{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "22C"}});
  CHECK(refused(f, f.request("chat", orphan)).second ==
        Json{{"error", Json{{"code", nullptr},
                            {"message", "Invalid parameter: messages with role 'tool' must be a response to a "
                                        "preceeding message with 'tool_calls'."},
                            {"param", "messages.[1].role"},
                            {"type", "invalid_request_error"}}}});
  Json unanswered = user("weather");
  unanswered["messages"].push_back(Json{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", Json::array({call})}});
  unanswered["messages"].push_back(Json{{"role", "user"}, {"content", "and?"}});
  CHECK(refused(f, f.request("chat", unanswered)).second.at("error").at("message") ==
        Json("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
             "'tool_call_id'. The following tool_call_ids did not have response messages: call_1"));
  Json answered = user("weather");
  answered["messages"].push_back(Json{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", Json::array({call})}});
  answered["messages"].push_back(Json{{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "22C"}});
  CHECK(f.call("chat", answered).at("choices")[0].at("message").at("content") == Json("Sunny."));
  // A second tool message for the same call answers nothing.
  answered["messages"].push_back(Json{{"role", "tool"}, {"tool_call_id", "call_2"}, {"content", "?"}});
  CHECK(refused(f, f.request("chat", answered)).second.at("error").at("param") == Json("messages.[3].role"));
}

TEST_CASE("an unknown api-version is 404 Resource not found, as the service answers") {
  Fixture f;
  HttpRequest r = f.request("chat", user("hi"));
  r.url = f.emu.base_url() + "/openai/deployments/chat/chat/completions?api-version=2024-10-12";
  CHECK(refused(f, r) == std::pair<int, Json>{404, Json{{"error", Json{{"code", "404"}, {"message", "Resource not found"}}}}});
  r.url = f.emu.base_url() + "/openai/deployments/chat/chat/completions?api-version=2025-01-01-preview";
  CHECK(f.client.send(r, Fixture::options()).status == 200);
}

TEST_CASE("the model of an answer: model-version for dated versions, the base name otherwise, or model_name") {
  Fixture f;
  CHECK(f.call("chat", user("hi")).at("model") == Json("gpt-4o-2024-08-06"));
  CHECK(f.call("legacy", user("hi")).at("model") == Json("gpt-35-turbo"));
  CHECK(f.call("named", user("hi")).at("model") == Json("my-gpt-4o"));
  bool checked = false;
  for (const auto& e : f.stream("chat", user("hi"))) {
    if (e == "[DONE]") continue;
    const Json j = Json::parse(e);
    if (j.at("choices").empty() && j.contains("prompt_filter_results")) continue;  // Azure's first chunk: model ""
    CHECK(j.at("model") == Json("gpt-4o-2024-08-06"));
    checked = true;
  }
  CHECK(checked);
}

TEST_CASE("reasoning deployments: max_tokens and sampling parameters refused with their param; reasoning usage") {
  Fixture f;
  CHECK(refused(f, f.request("reasoner", user("hi", Json{{"max_tokens", 10}}))) ==
        std::pair<int, Json>{400, Json{{"error", Json{{"code", "unsupported_parameter"},
                                                      {"message", "Unsupported parameter: 'max_tokens' is not supported "
                                                                  "with this model. Use 'max_completion_tokens' instead."},
                                                      {"param", "max_tokens"},
                                                      {"type", "invalid_request_error"}}}}});
  CHECK(refused(f, f.request("reasoner", user("hi", Json{{"temperature", 0.2}}))).second ==
        Json{{"error", Json{{"code", "unsupported_value"},
                            {"message", "Unsupported value: 'temperature' does not support 0.2 with this model. Only "
                                        "the default value is supported."},
                            {"param", "temperature"},
                            {"type", "invalid_request_error"}}}});
  // Unscripted: 64 reasoning tokens, counted in the completion tokens (6 words of text + 64).
  const Json j = f.call("reasoner", user("hi", Json{{"max_completion_tokens", 100}}));
  CHECK(j.at("choices")[0].at("message").at("content") == Json("This is the emulator's answer to: hi"));
  CHECK(j.at("usage") == Json{{"completion_tokens", 70},
                              {"prompt_tokens", 8},
                              {"total_tokens", 78},
                              {"completion_tokens_details", Json{{"reasoning_tokens", 64}}}});
}

TEST_CASE("annotations: jailbreak and protected material on current models; token details; rate-limit headers") {
  Fixture f;
  const auto r = f.client.send(f.request("chat", user("hi")), Fixture::options());
  const Json j = Json::parse(r.body);
  const Json safe{{"filtered", false}, {"severity", "safe"}};
  const Json undetected{{"filtered", false}, {"detected", false}};
  CHECK(j.at("prompt_filter_results") ==
        Json::array({Json{{"prompt_index", 0},
                          {"content_filter_results", Json{{"hate", safe}, {"jailbreak", undetected}, {"self_harm", safe},
                                                          {"sexual", safe}, {"violence", safe}}}}}));
  CHECK(j.at("choices")[0].at("content_filter_results") ==
        Json{{"hate", safe}, {"protected_material_code", undetected}, {"protected_material_text", undetected},
             {"self_harm", safe}, {"sexual", safe}, {"violence", safe}});
  CHECK(j.at("usage").at("completion_tokens_details") == Json{{"reasoning_tokens", 0}});
  CHECK(j.at("usage").at("prompt_tokens_details") == Json{{"cached_tokens", 0}});
  REQUIRE(r.header("x-ratelimit-limit-requests") != nullptr);
  CHECK(*r.header("x-ratelimit-limit-requests") == "100");
  CHECK(*r.header("x-ratelimit-limit-tokens") == "100000");
  CHECK(*r.header("x-ratelimit-remaining-requests") == "99");
  CHECK(*r.header("x-ratelimit-remaining-tokens") == "99000");
  // gpt-35-turbo: the four categories and no token details, as Azure sent them.
  const Json legacy = f.call("legacy", user("hi"));
  CHECK(legacy.at("choices")[0].at("content_filter_results") ==
        Json{{"hate", safe}, {"self_harm", safe}, {"sexual", safe}, {"violence", safe}});
  CHECK_FALSE(legacy.at("usage").contains("completion_tokens_details"));
}

TEST_CASE("the buffered filter (default) withholds the flagged segment: its verdict comes with the finish chunk") {
  Fixture f;
  std::string text;
  std::vector<Json> flagged;  // the chunks whose filter results flag something
  Json finish;
  for (const auto& e : f.stream("chat", user("cut me"))) {
    if (e == "[DONE]") continue;
    const Json j = Json::parse(e);
    if (j.at("choices").empty()) continue;
    const Json& c = j.at("choices")[0];
    if (const Json* d = c.find("delta"); d && d->contains("content") && d->at("content").is_string())
      text += d->at("content").as_string();
    if (const Json* r = c.find("content_filter_results"); r && r->contains("sexual") && r->at("sexual").at("filtered").as_bool())
      flagged.push_back(c);
    if (!c.at("finish_reason").is_null()) finish = c;
  }
  CHECK(text == "This story was");
  REQUIRE(flagged.size() == 1);
  CHECK(flagged[0] == finish);
  CHECK(finish.at("finish_reason") == Json("content_filter"));
  CHECK(finish.at("delta") == Json::object());
  CHECK(finish.at("content_filter_results").at("sexual") == Json{{"filtered", true}, {"severity", "medium"}});
}

TEST_CASE("json_schema: a schema whose value cannot be generated is a 500 that says why") {
  Fixture f;
  auto generate = [&](const char* schema) {
    const Json rf{{"type", "json_schema"}, {"json_schema", Json{{"name", "x"}, {"schema", Json::parse(schema)}}}};
    return refused(f, f.request("chat", user("anything", Json{{"response_format", rf}}))).second.at("error").at("message");
  };
  // Ten arrays of itself per level: each branch ends (arrays empty past half the depth), but there are too many.
  Json wide = Json::object();
  for (int i = 0; i < 10; ++i)
    wide.set("p" + std::to_string(i), Json{{"type", "array"}, {"items", Json{{"$ref", "#/$defs/a"}}}});
  const Json a{{"type", "object"}, {"properties", wide}};
  CHECK(generate(Json{{"$ref", "#/$defs/a"}, {"$defs", Json{{"a", a}}}}.dump().c_str()) ==
        Json("emulator: the schema's value would exceed 100000 nodes"));
  CHECK(generate(R"({"type":"object","properties":{"n":{"$ref":"#/$defs/missing"}}})") ==
        Json("emulator: unresolvable $ref '#/$defs/missing'"));
  CHECK(generate(R"({"$ref":"#/$defs/a","$defs":{"a":{"type":"object","properties":{"n":{"$ref":"#/$defs/a"}},"required":["n"]}}})") ==
        Json("emulator: the schema recurses without an exit"));
  CHECK(generate(R"({"type":"integer","minimum":1e300})") == Json("emulator: the schema's integer bounds are out of range"));
}

TEST_CASE("the v1 Files and Batch paths need no api-version; the dated ones do") {
  Fixture f;
  HttpRequest r;
  r.method = "GET";
  r.headers = {{"api-key", "k1"}};
  r.provider = "azure_openai";
  r.url = f.emu.base_url() + "/openai/v1/files";
  CHECK(Json::parse(f.client.send(r, Fixture::options()).body) == Json{{"data", Json::array()}, {"object", "list"}});
  r.url = f.emu.base_url() + "/openai/v1/batches";
  CHECK(Json::parse(f.client.send(r, Fixture::options()).body) == Json{{"data", Json::array()}, {"object", "list"}});
  r.url = f.emu.base_url() + "/openai/v1/batches/batch_none";
  CHECK(refused(f, r) == std::pair<int, Json>{404, Json{{"error", Json{{"code", "404"}, {"message", "Batch not found: batch_none"}}}}});
  r.url = f.emu.base_url() + "/openai/files";
  CHECK(refused(f, r).first == 400);
}
