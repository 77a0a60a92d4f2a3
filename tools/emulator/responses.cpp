// The Responses API (POST /openai/v1/responses with the deployment in the
// body's `model`, and OpenAI's /v1/responses): the request's checks, its
// input turned into the chat messages the scripted answer is chosen from
// (Handler::compose, shared with chat completions), tool_choice, reasoning
// deployments, and the Response object, written whole or as typed events
// (responses_stream.cpp).
#include "handler.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

namespace emulator {

using chainpp::Json;

namespace {

// A check of the request failed: the error's status, code, param and message.
struct Invalid {
  int status = 400;
  std::string code;
  std::string param;
  std::string message;
};

[[noreturn]] void invalid(std::string code, std::string param, std::string message) {
  throw Invalid{400, std::move(code), std::move(param), std::move(message)};
}

[[noreturn]] void invalid_type(const std::string& param, const std::string& expected, const Json& got) {
  invalid("invalid_type", param,
          "Invalid type for '" + param + "': expected " + expected + ", but got " + chainpp::to_string(got.type()) +
              " instead.");
}

[[noreturn]] void missing(const std::string& param) {
  invalid("missing_required_parameter", param, "Missing required parameter: '" + param + "'.");
}

[[noreturn]] void invalid_value(const std::string& param, const std::string& value, const std::string& supported) {
  invalid("invalid_value", param, "Invalid value: '" + value + "'. Supported values are: " + supported + ".");
}

// Reasoning models: the o-series (o1, o3-mini, o4-mini, ...), gpt-5 (not its chat models) and codex.
bool reasoning_model(const std::string& model) {
  if (model.size() > 1 && model[0] == 'o' && model[1] >= '0' && model[1] <= '9') return true;
  if (model.rfind("gpt-5", 0) == 0) return model.find("-chat") == std::string::npos;
  return model.find("codex") != std::string::npos;
}

// The text of an input message's content: a string, or its text parts joined by newlines.
std::string input_text(const Json& content, const std::string& param) {
  if (content.is_string()) return content.as_string();
  if (!content.is_array()) invalid_type(param, "one of a string or array", content);
  std::string out;
  std::size_t k = 0;
  for (const auto& part : content.as_array()) {
    const std::string where = param + "[" + std::to_string(k++) + "]";
    if (!part.is_object()) invalid_type(where, "an object", part);
    const Json* type = part.find("type");
    if (!type) missing(where + ".type");
    if (!type->is_string()) invalid_type(where + ".type", "a string", *type);
    const std::string t = type->as_string();
    if (t == "input_text" || t == "output_text") {
      const Json* text = part.find("text");
      if (!text) missing(where + ".text");
      if (!text->is_string()) invalid_type(where + ".text", "a string", *text);
      if (!out.empty()) out += "\n";
      out += text->as_string();
    } else if (t != "input_image" && t != "input_file" && t != "refusal") {
      invalid_value(where + ".type", t, "'input_text', 'input_image', 'input_file', 'output_text', and 'refusal'");
    }
  }
  return out;
}

// A string member of an input item, required.
std::string required_string(const Json& item, const char* key, const std::string& where) {
  const Json* v = item.find(key);
  if (!v) missing(where + "." + key);
  if (!v->is_string()) invalid_type(where + "." + key, "a string", *v);
  return v->as_string();
}

// `instructions` and `input` as the chat messages the scripted answer is chosen from.
Json chat_messages(const Json& req) {
  Json messages = Json::array();
  if (const Json* ins = req.find("instructions"); ins && !ins->is_null()) {
    if (!ins->is_string()) invalid_type("instructions", "a string", *ins);
    messages.push_back(Json{{"role", "system"}, {"content", ins->as_string()}});
  }
  const Json* input = req.find("input");
  if (!input) missing("input");
  if (input->is_string()) {
    messages.push_back(Json{{"role", "user"}, {"content", input->as_string()}});
    return messages;
  }
  if (!input->is_array()) invalid_type("input", "one of a string or array", *input);
  if (input->empty())
    invalid("empty_array", "input",
            "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.");
  static const std::set<std::string> roles = {"user", "assistant", "system", "developer"};
  std::size_t i = 0;
  for (const auto& item : input->as_array()) {
    const std::string where = "input[" + std::to_string(i++) + "]";
    if (!item.is_object()) invalid_type(where, "an object", item);
    std::string type = "message";
    if (const Json* t = item.find("type")) {
      if (!t->is_string()) invalid_type(where + ".type", "a string", *t);
      type = t->as_string();
    }
    if (type == "message") {
      const std::string role = required_string(item, "role", where);
      if (!roles.count(role)) invalid_value(where + ".role", role, "'assistant', 'system', 'developer', and 'user'");
      const Json* content = item.find("content");
      if (!content) missing(where + ".content");
      messages.push_back(Json{{"role", role}, {"content", input_text(*content, where + ".content")}});
    } else if (type == "function_call") {
      const std::string call_id = required_string(item, "call_id", where);
      const std::string name = required_string(item, "name", where);
      const std::string arguments = required_string(item, "arguments", where);
      messages.push_back(
          Json{{"role", "assistant"},
               {"content", nullptr},
               {"tool_calls", Json::array({Json{{"id", call_id},
                                                {"type", "function"},
                                                {"function", Json{{"name", name}, {"arguments", arguments}}}}})}});
    } else if (type == "function_call_output") {
      const std::string call_id = required_string(item, "call_id", where);
      const Json* output = item.find("output");
      if (!output) missing(where + ".output");
      messages.push_back(
          Json{{"role", "tool"}, {"tool_call_id", call_id}, {"content", input_text(*output, where + ".output")}});
    }
    // Other items (reasoning, item_reference, built-in tool calls) carry no text the answer is chosen by.
  }
  return messages;
}

// The function tools of the request, checked: name -> parameters.
std::vector<std::pair<std::string, Json>> function_tools(const Json& req) {
  std::vector<std::pair<std::string, Json>> out;
  const Json* tools = req.find("tools");
  if (!tools || tools->is_null()) return out;
  if (!tools->is_array()) invalid_type("tools", "an array", *tools);
  std::size_t i = 0;
  for (const auto& tool : tools->as_array()) {
    const std::string where = "tools[" + std::to_string(i++) + "]";
    if (!tool.is_object()) invalid_type(where, "an object", tool);
    if (required_string(tool, "type", where) != "function") continue;  // built-in tools: accepted, never called
    const std::string name = required_string(tool, "name", where);
    const Json* parameters = tool.find("parameters");
    if (parameters && !parameters->is_null() && !parameters->is_object())
      invalid_type(where + ".parameters", "an object", *parameters);
    out.emplace_back(name, parameters && parameters->is_object() ? *parameters : Json::object());
  }
  return out;
}

// What tool_choice allows: the function names that may be called and whether one must be.
struct ToolChoice {
  bool none = false;
  bool required = false;
  std::vector<std::string> allowed;  // in the order of `tools`
};

ToolChoice tool_choice(const Json& req, const std::vector<std::pair<std::string, Json>>& tools) {
  ToolChoice out;
  for (const auto& t : tools) out.allowed.push_back(t.first);
  const Json* tc = req.find("tool_choice");
  if (!tc || tc->is_null()) return out;
  auto declared = [&](const std::string& name, const std::string& param) {
    for (const auto& t : tools)
      if (t.first == name) return;
    invalid("invalid_value", param, "Tool choice '" + name + "' not found in 'tools' parameter.");
  };
  if (tc->is_string()) {
    const std::string mode = tc->as_string();
    if (mode == "none")
      out.none = true;
    else if (mode == "required")
      out.required = true;
    else if (mode != "auto")
      invalid_value("tool_choice", mode, "'none', 'auto', and 'required'");
    if (out.required && tools.empty())
      invalid("invalid_value", "tool_choice", "Tool choice 'required' must be specified with 'tools' parameter.");
    return out;
  }
  if (!tc->is_object()) invalid_type("tool_choice", "one of a string or object", *tc);
  const std::string type = required_string(*tc, "type", "tool_choice");
  if (type == "function") {
    const std::string name = required_string(*tc, "name", "tool_choice");
    declared(name, "tool_choice.name");
    out.allowed = {name};
    out.required = true;
  } else if (type == "allowed_tools") {
    const std::string mode = required_string(*tc, "mode", "tool_choice");
    if (mode != "auto" && mode != "required") invalid_value("tool_choice.mode", mode, "'auto' and 'required'");
    out.required = mode == "required";
    const Json* list = tc->find("tools");
    if (!list) missing("tool_choice.tools");
    if (!list->is_array()) invalid_type("tool_choice.tools", "an array", *list);
    std::set<std::string> names;
    std::size_t i = 0;
    for (const auto& t : list->as_array()) {
      const std::string where = "tool_choice.tools[" + std::to_string(i++) + "]";
      if (!t.is_object()) invalid_type(where, "an object", t);
      if (required_string(t, "type", where) != "function") continue;
      const std::string name = required_string(t, "name", where);
      declared(name, where + ".name");
      names.insert(name);
    }
    std::vector<std::string> kept;
    for (const auto& n : out.allowed)
      if (names.count(n)) kept.push_back(n);
    out.allowed = std::move(kept);
  } else {
    // A built-in tool (file_search, web_search_preview, mcp, ...): the emulator calls no built-in tool.
    out.allowed.clear();
  }
  return out;
}

// `text.format`, checked, as the chat response_format the scripted answer reads.
Json chat_response_format(const Json& req) {
  const Json* text = req.find("text");
  if (!text || text->is_null()) return Json();
  if (!text->is_object()) invalid_type("text", "an object", *text);
  const Json* format = text->find("format");
  if (!format || format->is_null()) return Json();
  if (!format->is_object()) invalid_type("text.format", "an object", *format);
  const std::string type = required_string(*format, "type", "text.format");
  if (type == "text") return Json();
  if (type == "json_object") return Json{{"type", "json_object"}};
  if (type != "json_schema") invalid_value("text.format.type", type, "'text', 'json_object', and 'json_schema'");
  const std::string name = required_string(*format, "name", "text.format");
  const bool name_ok = !name.empty() && name.size() <= 64 &&
                       name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
                           std::string::npos;
  if (!name_ok)
    invalid("invalid_value", "text.format.name",
            "Invalid 'text.format.name': a name of 1 to 64 characters a-z, A-Z, 0-9, '_' and '-' was expected.");
  const Json* schema = format->find("schema");
  if (!schema) missing("text.format.schema");
  if (!schema->is_object()) invalid_type("text.format.schema", "an object", *schema);
  return Json{{"type", "json_schema"}, {"json_schema", Json{{"name", name}, {"schema", *schema}}}};
}

// An optional member of `req`, or `fallback`.
Json echo(const Json& req, const char* key, Json fallback) {
  const Json* v = req.find(key);
  return v && !v->is_null() ? *v : fallback;
}

// The summary a reasoning deployment gives when asked for one (reasoning.summary).
const char* const kReasoningSummary =
    "**Choosing the answer**\n\nThe emulator picks its scripted answer for this input.";

// A request after its checks: what the answer is chosen from and how it is written.
struct Checked {
  Json messages;                   // instructions and input as chat messages
  Json chat_req = Json::object();  // the chat-completions settings compose() reads
  std::vector<std::pair<std::string, Json>> tools;
  ToolChoice choice;
  std::string effort, summary;  // reasoning
  bool stream = false;
};

// Checks `req` (throws Invalid) for a deployment that reasons or not.
Checked check_request(const Json& req, bool reasoning, bool azure, const std::string& api_version) {
  Checked r;
  if (azure && !api_version.empty() && api_version != "v1" && api_version != "preview")
    invalid_value("api-version", api_version, "'v1' and 'preview'");
  r.messages = chat_messages(req);
  r.tools = function_tools(req);
  r.choice = tool_choice(req, r.tools);
  if (const Json* s = req.find("stream"); s && !s->is_null()) {
    if (!s->is_bool()) invalid_type("stream", "a boolean", *s);
    r.stream = s->as_bool();
  }
  if (const Json* m = req.find("reasoning"); m && !m->is_null()) {
    if (!m->is_object()) invalid_type("reasoning", "an object", *m);
    if (const Json* e = m->find("effort"); e && !e->is_null()) {
      if (!reasoning)
        invalid("unsupported_parameter", "reasoning.effort",
                "Unsupported parameter: 'reasoning.effort' is not supported with this model.");
      if (!e->is_string()) invalid_type("reasoning.effort", "a string", *e);
      r.effort = e->as_string();
      static const std::set<std::string> efforts = {"none", "minimal", "low", "medium", "high", "xhigh", "max"};
      if (!efforts.count(r.effort))
        invalid_value("reasoning.effort", r.effort, "'none', 'minimal', 'low', 'medium', 'high', 'xhigh', and 'max'");
    }
    for (const char* key : {"summary", "generate_summary"}) {
      if (const Json* s = m->find(key); s && !s->is_null()) {
        if (!s->is_string()) invalid_type(std::string("reasoning.") + key, "a string", *s);
        r.summary = s->as_string();
        if (r.summary != "auto" && r.summary != "concise" && r.summary != "detailed")
          invalid_value(std::string("reasoning.") + key, r.summary, "'auto', 'concise', and 'detailed'");
      }
    }
  }
  if (reasoning && r.effort.empty()) r.effort = "medium";
  if (reasoning) r.chat_req.set("reasoning_effort", r.effort);  // compose() counts the reasoning tokens by it
  if (const Json* m = req.find("max_output_tokens"); m && !m->is_null()) {
    if (!m->is_integer()) invalid_type("max_output_tokens", "an integer", *m);
    r.chat_req.set("max_completion_tokens", *m);
  }
  if (Json rf = chat_response_format(req); !rf.is_null()) r.chat_req.set("response_format", std::move(rf));
  if (!r.tools.empty()) {
    Json chat_tools = Json::array();
    // tool_choice as compose() reads it: the allowed functions declared, none / required / auto.
    for (const auto& [name, parameters] : r.tools)
      if (std::find(r.choice.allowed.begin(), r.choice.allowed.end(), name) != r.choice.allowed.end())
        chat_tools.push_back(Json{{"type", "function"}, {"function", Json{{"name", name}, {"parameters", parameters}}}});
    r.chat_req.set("tools", std::move(chat_tools));
    r.chat_req.set("tool_choice", r.choice.none ? "none" : r.choice.required ? "required" : "auto");
  }
  return r;
}

// The Response object of answer `c` to `req`: `serial` numbers its ids, `model` names the model.
Json response_object(const Json& req, const Checked& r, const Completion& c, bool reasoning, bool azure,
                     const std::string& model, long serial) {
  const long created = static_cast<long>(std::time(nullptr));
  char id[64];
  auto item_id = [&](const char* prefix, std::size_t index) {
    std::snprintf(id, sizeof id, "%s_EMU%020ld%02zu", prefix, serial, index);
    return std::string(id);
  };
  const bool incomplete = c.finish_reason == "length" || c.finish_reason == "content_filter";
  const std::string item_status = incomplete ? "incomplete" : "completed";
  Json output = Json::array();
  const long reasoning_tokens = c.reasoning_tokens.value_or(0);  // compose() counted them in completion_tokens
  const long output_tokens = c.completion_tokens;
  if (reasoning) {
    Json item = Json::object();
    item.set("id", item_id("rs", output.size()));
    item.set("type", "reasoning");
    item.set("summary", r.summary.empty() ? Json::array()
                                          : Json::array({Json{{"type", "summary_text"}, {"text", kReasoningSummary}}}));
    if (const Json* inc = req.find("include"); inc && inc->is_array())
      for (const auto& v : inc->as_array())
        if (v.is_string() && v.as_string() == "reasoning.encrypted_content")
          item.set("encrypted_content", "emulator-reasoning-" + item_id("rs", output.size()));
    output.push_back(std::move(item));
  }
  if (c.content) {
    Json item = Json::object();
    item.set("id", item_id("msg", output.size()));
    item.set("type", "message");
    item.set("status", item_status);
    item.set("role", "assistant");
    item.set("content", Json::array({Json{{"type", "output_text"},
                                          {"text", *c.content},
                                          {"annotations", Json::array()},
                                          {"logprobs", Json::array()}}}));
    output.push_back(std::move(item));
  }
  for (const auto& call : c.tool_calls) {
    Json item = Json::object();
    item.set("id", item_id("fc", output.size()));
    item.set("type", "function_call");
    item.set("call_id", call.id);
    item.set("name", call.name);
    item.set("arguments", call.arguments);
    item.set("status", "completed");
    output.push_back(std::move(item));
  }
  Json echoed_tools = Json::array();
  if (const Json* t = req.find("tools"); t && t->is_array()) {
    for (auto tool : t->as_array()) {
      if (tool.value("type", "") == "function" && !tool.contains("strict")) tool.set("strict", true);
      echoed_tools.push_back(std::move(tool));
    }
  }
  Json usage = Json::object();
  usage.set("input_tokens", c.prompt_tokens);
  usage.set("input_tokens_details", Json{{"cached_tokens", c.cached_tokens.value_or(0)}, {"cache_write_tokens", 0}});
  usage.set("output_tokens", output_tokens);
  usage.set("output_tokens_details", Json{{"reasoning_tokens", reasoning_tokens}});
  usage.set("total_tokens", c.prompt_tokens + output_tokens);

  std::snprintf(id, sizeof id, "resp_EMU%020ld", serial);
  Json out = Json::object();
  out.set("id", id);
  out.set("object", "response");
  out.set("created_at", created);
  out.set("status", incomplete ? "incomplete" : "completed");
  out.set("completed_at", incomplete ? Json() : Json(created));
  out.set("error", nullptr);
  out.set("incomplete_details",
          incomplete ? Json{{"reason", c.finish_reason == "length" ? "max_output_tokens" : "content_filter"}} : Json());
  out.set("instructions", echo(req, "instructions", Json()));
  out.set("max_output_tokens", echo(req, "max_output_tokens", Json()));
  out.set("model", model);
  out.set("output", std::move(output));
  out.set("parallel_tool_calls", echo(req, "parallel_tool_calls", Json(true)));
  out.set("previous_response_id", echo(req, "previous_response_id", Json()));
  out.set("reasoning", Json{{"effort", r.effort.empty() ? Json() : Json(r.effort)},
                            {"summary", r.summary.empty() ? Json() : Json(r.summary)}});
  out.set("store", echo(req, "store", Json(true)));
  out.set("temperature", echo(req, "temperature", Json(1.0)));
  out.set("text", Json{{"format", [&] {
                          const Json* t = req.find("text");
                          const Json* f = t && t->is_object() ? t->find("format") : nullptr;
                          return f && !f->is_null() ? *f : Json{{"type", "text"}};
                        }()}});
  out.set("tool_choice", echo(req, "tool_choice", Json("auto")));
  out.set("tools", std::move(echoed_tools));
  out.set("top_p", echo(req, "top_p", Json(1.0)));
  out.set("truncation", echo(req, "truncation", Json("disabled")));
  out.set("usage", std::move(usage));
  // Azure's AzureResponse requires a nullable user; OpenAI's Response has an optional string.
  if (req.contains("user") || azure) out.set("user", echo(req, "user", Json()));
  out.set("metadata", echo(req, "metadata", Json::object()));

  return out;
}

}  // namespace

void Handler::serve_responses(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                              const Json& req, const std::string& api_version) {
  const bool reasoning = reasoning_model(deployment_->model);
  const bool azure = dialect_ == Dialect::azure;
  Checked r;
  try {
    r = check_request(req, reasoning, azure, api_version);
  } catch (const Invalid& e) {
    if (dialect_ == Dialect::openai) {
      send_json(
          response, e.status,
          Json{
              {"error",
               Json{{"message", e.message}, {"type", "invalid_request_error"}, {"param", e.param}, {"code", e.code}}}});
    } else {
      // Azure's AzureErrorResponse (its `type` is always "error").
      send_json(response, e.status,
                Json{{"error", Json{{"code", e.code}, {"message", e.message}, {"param", e.param}, {"type", "error"}}}});
    }
    return;
  }

  std::vector<Fault> active;
  if (!inject_faults(request, response, api_version, active)) return;

  // The scripted answer, chosen as for chat completions from the request in chat form.
  Completion c;
  Json prompt_filter;
  if (!compose(r.chat_req, r.messages, c, prompt_filter)) {
    send_prompt_filtered(response, prompt_filter);
    return;
  }

  const Json out = response_object(req, r, c, reasoning, azure, model_name(), id_);
  if (r.stream) {
    {
      std::lock_guard lock(state_.mutex);
      ++state_.streams;
    }
    stream_response(request, response, out, active);
    return;
  }
  send_answer_body(request, response, out.dump(), active);
}

}  // namespace emulator
