// The checks of a chat-completions request (see validation.hpp). Messages
// follow the service's (OpenAI's) wording where it is known.
#include "validation.hpp"

#include "request_schema.hpp"

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

namespace emulator {

using chainpp::Json;

namespace {

// The vendored schema with what API versions after 2024-10-21 accept.
const Json& request_schema() {
  static const Json schema = [] {
    Json s = Json::parse(kRequestSchema);
    Json& defs = s["definitions"];
    Json developer = defs.at("chatCompletionRequestSystemMessage");
    developer["properties"]["role"] = Json{{"type", "string"}, {"enum", Json::array({"developer"})}};
    defs.set("chatCompletionRequestDeveloperMessage", developer);
    defs["chatCompletionRequestMessage"]["oneOf"].push_back(
        Json{{"$ref", "#/definitions/chatCompletionRequestDeveloperMessage"}});
    Json& props = defs["createChatCompletionRequest"]["allOf"][1]["properties"];
    props.set("stream_options", Json{{"type", Json::array({"object", "null"})},
                                     {"properties", Json{{"include_usage", Json{{"type", "boolean"}}}}}});
    return s;
  }();
  return schema;
}

// The JSON pointer of a top-level parameter's schema in the request schema, or "".
std::string parameter_pointer(const std::string& name) {
  const Json& defs = request_schema().at("definitions");
  if (defs.at("createChatCompletionRequest").at("allOf")[1].at("properties").contains(name))
    return "#/definitions/createChatCompletionRequest/allOf/1/properties/" + name;
  if (defs.at("chatCompletionsRequestCommon").at("properties").contains(name))
    return "#/definitions/chatCompletionsRequestCommon/properties/" + name;
  return "";
}

// Each top-level parameter's schema, compiled once: a parameter is checked
// alone, so that a failure names the member that failed (the whole request's
// validator would only name its allOf).
const rapidjson::SchemaDocument* parameter_validator(const std::string& name) {
  static const auto compiled = [] {
    std::map<std::string, std::unique_ptr<rapidjson::SchemaDocument>> out;
    const Json& defs = request_schema().at("definitions");
    for (const Json* props : {&defs.at("createChatCompletionRequest").at("allOf")[1].at("properties"),
                              &defs.at("chatCompletionsRequestCommon").at("properties")})
      for (const auto& [param, unused] : props->as_object()) {
        if (out.count(param)) continue;
        const Json root{{"$ref", parameter_pointer(param)}, {"definitions", defs}};
        rapidjson::Document d;
        const std::string text = root.dump();
        d.Parse(text.c_str(), text.size());
        out.emplace(param, std::make_unique<rapidjson::SchemaDocument>(d));
      }
    return out;
  }();
  auto it = compiled.find(name);
  return it == compiled.end() ? nullptr : it->second.get();
}

// The schema of a top-level parameter, or nullptr.
const Json* parameter_schema(const std::string& name) {
  const Json& defs = request_schema().at("definitions");
  if (const Json* p = defs.at("createChatCompletionRequest").at("allOf")[1].at("properties").find(name)) return p;
  return defs.at("chatCompletionsRequestCommon").at("properties").find(name);
}

// Top-level parameters of API versions after 2024-10-21 that the schema does not list.
const std::set<std::string>& later_parameters() {
  static const std::set<std::string> names{"model", "store", "metadata", "reasoning_effort", "modalities", "audio",
                                           "prediction", "service_tier", "user_security_context",
                                           "web_search_options", "verbosity", "safety_identifier",
                                           "prompt_cache_key"};
  return names;
}

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string kind_of(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_bool()) return "a boolean";
  if (v.is_integer()) return "an integer";
  if (v.is_number()) return "a decimal";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

std::string expected_kind(const std::string& type) {
  if (type == "number") return "a decimal";
  if (type == "integer") return "an integer";
  if (type == "boolean") return "a boolean";
  if (type == "object") return "an object";
  if (type == "array") return "an array";
  return "a string";
}

bool has_type(const Json& v, const std::string& type) {
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") return v.is_integer() || (v.is_number() && v.as_double() == std::floor(v.as_double()));
  if (type == "boolean") return v.is_bool();
  if (type == "string") return v.is_string();
  if (type == "array") return v.is_array();
  return v.is_object();
}

// A scalar parameter's type and bounds, checked against its schema.
std::optional<RequestError> check_scalar(const std::string& name, const Json& v, const Json& schema) {
  const Json* type = schema.find("type");
  if (!type) return std::nullopt;
  std::vector<std::string> types;
  if (type->is_string()) types.push_back(type->as_string());
  else if (type->is_array())
    for (const auto& t : type->as_array()) types.push_back(t.as_string());
  if (std::none_of(types.begin(), types.end(), [&](const std::string& t) { return has_type(v, t); }))
    return RequestError{"invalid_type",
                        "Invalid type for '" + name + "': expected " + expected_kind(types.front()) + ", but got " +
                            kind_of(v) + " instead.",
                        name};
  if (!v.is_number()) return std::nullopt;
  const bool integer = std::find(types.begin(), types.end(), "integer") != types.end();
  const std::string kind = integer ? "integer" : "decimal";
  const double x = v.as_double();
  if (const Json* max = schema.find("maximum"); max && x > max->as_double())
    return RequestError{kind + "_above_max_value",
                        "Invalid '" + name + "': " + kind + " above maximum value. Expected a value <= " +
                            number_text(max->as_double()) + ", but got " + number_text(x) + " instead.",
                        name};
  if (const Json* min = schema.find("minimum"); min && x < min->as_double())
    return RequestError{kind + "_below_min_value",
                        "Invalid '" + name + "': " + kind + " below minimum value. Expected a value >= " +
                            number_text(min->as_double()) + ", but got " + number_text(x) + " instead.",
                        name};
  return std::nullopt;
}

// A JSON pointer under a parameter as the service names its members: "#/0/function" is "[0].function".
std::string param_of(const std::string& pointer) {
  std::string out;
  std::size_t pos = pointer.rfind("#", 0) == 0 ? 1 : 0;
  while (pos < pointer.size()) {
    const std::size_t next = std::min(pointer.find('/', pos + 1), pointer.size());
    const std::string token = pointer.substr(pos + 1, next - pos - 1);
    const bool index = !token.empty() && std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
    if (index) out += "[" + token + "]";
    else out += "." + token;
    pos = next;
  }
  return out;
}

// The 400 of an assistant message (at `index`) whose tool_calls `pending` got no tool message.
RequestError unanswered(const std::set<std::string>& pending, std::size_t index) {
  std::string ids;
  for (const auto& id : pending) ids += (ids.empty() ? "" : ", ") + id;
  return RequestError{"",
                      "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                      "'tool_call_id'. The following tool_call_ids did not have response messages: " + ids,
                      "messages.[" + std::to_string(index) + "].role"};
}

std::optional<RequestError> check_messages(const Json& messages) {
  static const std::set<std::string> roles{"system", "developer", "user", "assistant", "tool", "function"};
  std::set<std::string> calls;    // the tool_call_ids of the assistant message the tool messages answer
  std::set<std::string> pending;  // those not answered yet
  std::size_t calls_at = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages.at(i);
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object())
      return RequestError{"invalid_type", "Invalid type for '" + at + "': expected an object, but got " + kind_of(m) + " instead.", at};
    const Json* role = m.find("role");
    if (!role) return RequestError{"missing_required_parameter", "Missing required parameter: '" + at + ".role'.", at + ".role"};
    if (!role->is_string() || !roles.count(role->as_string()))
      return RequestError{"invalid_value",
                          "Invalid value: '" + (role->is_string() ? role->as_string() : role->dump()) +
                              "'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and "
                              "'developer'.",
                          at + ".role"};
    const std::string r = role->as_string();
    if (r != "assistant" && !m.contains("content"))
      return RequestError{"missing_required_parameter", "Missing required parameter: '" + at + ".content'.", at + ".content"};
    if (r == "tool") {
      if (!m.contains("tool_call_id"))
        return RequestError{"missing_required_parameter", "Missing required parameter: '" + at + ".tool_call_id'.",
                            at + ".tool_call_id"};
      const Json& id = m.at("tool_call_id");
      if (!id.is_string() || !calls.count(id.as_string()))
        return RequestError{"",
                            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                            "with 'tool_calls'.",
                            "messages.[" + std::to_string(i) + "].role"};
      pending.erase(id.as_string());
      continue;
    }
    if (!pending.empty()) return unanswered(pending, calls_at);
    calls.clear();
    if (r == "assistant")
      if (const Json* tc = m.find("tool_calls"); tc && tc->is_array())
        for (const auto& c : tc->as_array())
          if (c.is_object() && c.contains("id") && c.at("id").is_string()) {
            calls.insert(c.at("id").as_string());
            pending.insert(c.at("id").as_string());
            calls_at = i;
          }
  }
  if (!pending.empty()) return unanswered(pending, calls_at);
  return std::nullopt;
}

std::optional<RequestError> check_tools(const Json& req) {
  const Json* choice = req.find("tool_choice");
  const Json* tools = req.find("tools");
  const bool has_tools = tools && tools->is_array() && !tools->empty();
  if (choice && !has_tools)
    return RequestError{"", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                        "tool_choice"};
  if (choice && choice->is_object()) {
    const Json* f = choice->find("function");
    const std::string name = f && f->is_object() ? f->value("name", "") : std::string();
    bool declared = false;
    for (const auto& t : tools->as_array())
      if (const Json* tf = t.is_object() ? t.find("function") : nullptr; tf && tf->is_object() && tf->value("name", "") == name)
        declared = true;
    if (!declared)
      return RequestError{"invalid_value", "Invalid value for 'tool_choice': no function named '" + name + "' in 'tools'.",
                          "tool_choice"};
  }
  return std::nullopt;
}

}  // namespace

Json RequestError::body() const {
  return Json{{"error", Json{{"code", code.empty() ? Json() : Json(code)},
                             {"message", message},
                             {"param", param.empty() ? Json() : Json(param)},
                             {"type", type}}}};
}

bool known_api_version(const std::string& version) {
  static const std::set<std::string> versions{
      "2022-12-01", "2023-05-15", "2024-02-01", "2024-06-01", "2024-10-21",
      "2023-03-15-preview", "2023-06-01-preview", "2023-07-01-preview", "2023-08-01-preview", "2023-09-01-preview",
      "2023-10-01-preview", "2023-12-01-preview", "2024-02-15-preview", "2024-03-01-preview", "2024-04-01-preview",
      "2024-05-01-preview", "2024-07-01-preview", "2024-08-01-preview", "2024-09-01-preview", "2024-10-01-preview",
      "2024-12-01-preview", "2025-01-01-preview", "2025-02-01-preview", "2025-03-01-preview", "2025-04-01-preview"};
  return versions.count(version) != 0;
}

std::optional<RequestError> check_request(const Json& req) {
  // Parameters no API version knows.
  for (const auto& [name, value] : req.as_object())
    if (!parameter_schema(name) && !later_parameters().count(name))
      return RequestError{"", "Unrecognized request argument supplied: " + name, ""};
  // Scalar parameters: type and bounds from the schema.
  for (const auto& [name, value] : req.as_object())
    if (const Json* schema = parameter_schema(name); schema && !value.is_object() && !value.is_array())
      if (auto e = check_scalar(name, value, *schema)) return e;
  if (const Json* messages = req.find("messages"); messages && messages->is_array())
    if (auto e = check_messages(*messages)) return e;
  // The rest of the schema, parameter by parameter.
  for (const auto& [name, value] : req.as_object()) {
    const rapidjson::SchemaDocument* schema = parameter_validator(name);
    if (!schema) continue;
    rapidjson::Document d;
    const std::string text = value.dump();
    d.Parse(text.c_str(), text.size());
    rapidjson::SchemaValidator validator(*schema);
    if (d.Accept(validator)) continue;
    rapidjson::StringBuffer where, schema_where;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
    validator.GetInvalidSchemaPointer().StringifyUriFragment(schema_where);
    const std::string param = name + (std::string(where.GetString()) == "#" ? "" : param_of(where.GetString()));
    std::string at = schema_where.GetString();
    if (at == "#") at = parameter_pointer(name);
    return RequestError{"invalid_value",
                        "Invalid value for '" + param + "': it does not match the request schema (" +
                            validator.GetInvalidSchemaKeyword() + " at " + at + ").",
                        param};
  }
  if (auto e = check_tools(req)) return e;
  const Json* stream = req.find("stream");
  if (req.contains("stream_options") && !req.at("stream_options").is_null() && !(stream && stream->is_bool() && stream->as_bool()))
    return RequestError{"", "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"};
  return std::nullopt;
}

}  // namespace emulator
