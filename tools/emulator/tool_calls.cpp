// The tool calls of an answer (see tool_calls.hpp).
#include "tool_calls.hpp"

#include "handler.hpp"
#include "schema_values.hpp"

#include <stdexcept>

namespace emulator {

using chainpp::Json;

namespace {

// The function of a declared tool, or nullptr.
const Json* declared_function(const Json& req, const std::string& name) {
  const Json* tools = req.find("tools");
  if (!tools || !tools->is_array()) return nullptr;
  for (const auto& t : tools->as_array()) {
    const Json* f = t.is_object() ? t.find("function") : nullptr;
    if (f && f->is_object() && f->value("name", "") == name) return f;
  }
  return nullptr;
}

// The parameters schema of a function ({} accepts anything).
Json parameters_of(const Json& function) {
  const Json* p = function.find("parameters");
  return p && p->is_object() ? *p : Json{{"type", "object"}, {"properties", Json::object()}};
}

// The request's tool_choice: "none", "auto", "required" or "function" (with the `forced` name).
std::string tool_mode(const Json& req, std::string& forced) {
  std::string mode = "auto";
  if (const Json* choice = req.find("tool_choice")) {
    if (choice->is_string()) {
      mode = choice->as_string();
    } else if (choice->is_object()) {
      mode = "function";
      if (const Json* f = choice->find("function"); f && f->is_object()) forced = f->value("name", "");
    }
  }
  return mode;
}

}  // namespace

bool may_call(const Json& req, const std::vector<ScriptedToolCall>& scripted) {
  std::string forced;
  const std::string mode = tool_mode(req, forced);
  if (mode == "none") return false;
  for (const auto& call : scripted)
    if (declared_function(req, call.name) && (mode != "function" || call.name == forced)) return true;
  return false;
}

std::vector<ScriptedToolCall> choose_tool_calls(const Json& req, const std::vector<ScriptedToolCall>& scripted,
                                                const std::string& id_suffix) {
  const Json* tools = req.find("tools");
  if (!tools || !tools->is_array() || tools->empty()) return {};
  std::string forced;
  const std::string mode = tool_mode(req, forced);
  if (mode == "none") return {};

  std::vector<ScriptedToolCall> out;
  for (const auto& call : scripted) {
    const Json* function = declared_function(req, call.name);
    if (!function || (mode == "function" && call.name != forced)) continue;
    Json arguments;
    try {
      arguments = Json::parse(call.arguments);
    } catch (const std::exception&) {
      throw std::runtime_error("the scripted arguments of " + call.name + " are not JSON");
    }
    const std::string violation = schema_violation(parameters_of(*function), arguments);
    if (!violation.empty())
      throw std::runtime_error("the scripted arguments of " + call.name +
                               " do not validate against its parameters: " + violation);
    out.push_back(call);
  }
  if (!out.empty() || mode == "auto") return out;

  // "required" or a named function, and nothing scripted: a generated call.
  const Json* function = nullptr;
  if (mode == "function") {
    function = declared_function(req, forced);
  } else {
    for (const auto& t : tools->as_array())
      if (const Json* f = t.is_object() ? t.find("function") : nullptr; f && f->is_object()) {
        function = f;
        break;
      }
  }
  if (!function) return {};
  ScriptedToolCall call;
  call.id = "call_" + id_suffix;
  call.name = function->value("name", "");
  call.arguments = checked_instance(parameters_of(*function), "parameters of " + call.name).dump();
  out.push_back(std::move(call));
  return out;
}

}  // namespace emulator
