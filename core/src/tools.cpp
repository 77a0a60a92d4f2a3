#include <chainpp/tools.hpp>

namespace chainpp {

Json ToolDefinition::to_json() const {
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
  return ToolDefinition{std::move(name), std::move(description), std::move(schema), std::nullopt};
}

}  // namespace chainpp
