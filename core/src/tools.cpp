#include <chainpp/errors.hpp>
#include <chainpp/tools.hpp>

#include <algorithm>
#include <array>
#include <string_view>

namespace chainpp {

Json ToolDefinition::to_json() const {
  if (is_builtin()) return builtin;
  Json fn{{"name", name}};
  if (!description.empty()) fn.set("description", description);
  fn.set("parameters", parameters);
  if (strict) fn.set("strict", *strict);
  return Json{{"type", "function"}, {"function", std::move(fn)}};
}

ToolDefinition tool_from_function(std::string name, std::string description, std::vector<ToolParameter> params) {
  Json properties = Json::object();
  Json required = Json::array();
  for (const auto& p : params) {
    Json prop{{"type", p.type}};
    if (!p.description.empty()) prop.set("description", p.description);
    properties.set(p.name, std::move(prop));
    if (p.required) required.push_back(p.name);
  }
  Json schema{{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
  return ToolDefinition{std::move(name), std::move(description), std::move(schema), std::nullopt, {}};
}

ToolDefinition builtin_tool(Json spec) {
  const Json* type = spec.is_object() ? spec.find("type") : nullptr;
  if (!type || !type->is_string() || type->as_string().empty() || type->as_string() == "function")
    // Not shown: an mcp tool's headers may hold a credential.
    throw InputError("a built-in tool must be an object whose \"type\" is a string other than \"function\"");
  ToolDefinition t;
  t.builtin = std::move(spec);
  return t;
}

bool is_builtin_tool_type(const std::string& name) {
  static constexpr std::array<std::string_view, 7> kTypes{
      "file_search", "web_search", "web_search_preview", "code_interpreter", "computer_use_preview",
      "image_generation", "mcp"};
  return std::find(kTypes.begin(), kTypes.end(), name) != kTypes.end();
}

namespace {

// "(bound tools: get_weather, get_time)", or "(no tools bound)".
std::string bound_tools_text(const std::vector<ToolDefinition>& tools) {
  if (tools.empty()) return "(no tools bound)";
  std::string text = "(bound tools: ";
  for (std::size_t i = 0; i < tools.size(); ++i) text += (i ? ", " : "") + tools[i].name;
  return text + ")";
}

}  // namespace

std::optional<Json> normalize_tool_choice(const Json& choice, const std::vector<ToolDefinition>& tools) {
  if (choice.is_bool()) return choice.as_bool() ? std::optional<Json>(Json("required")) : std::nullopt;
  if (choice.is_object()) return choice;
  if (!choice.is_string())
    throw InputError("tool_choice " + choice.dump() + " must be a string, a bool or an object " +
                     bound_tools_text(tools));
  // As LangChain: a bound tool's name first, then a built-in type, then "any".
  const std::string& s = choice.as_string();
  const std::string shown = "'" + choice.dump().substr(1, choice.dump().size() - 2) + "'";
  if (std::any_of(tools.begin(), tools.end(), [&](const ToolDefinition& t) { return t.name == s; }))
    return Json{{"type", "function"}, {"function", Json{{"name", s}}}};
  if (is_builtin_tool_type(s)) return Json{{"type", s}};
  if (s == "any") return Json("required");
  if (s == "auto" || s == "none" || s == "required") return choice;
  throw InputError("tool_choice " + shown + " names no bound tool and no built-in tool type " +
                   bound_tools_text(tools));
}

}  // namespace chainpp
