#pragma once
// Tools a model may call: their definitions (name, description, JSON-schema
// parameters), a definition written from a C++ function's description, and
// tool_choice as LangChain normalises it.
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace chainpp {

/// A tool the model may call: name, description and JSON-schema parameters.
struct CHAINPP_API ToolDefinition {
  std::string name;
  std::string description;
  Json parameters = Json{{"type", "object"}, {"properties", Json::object()}};
  std::optional<bool> strict;
  /// A built-in tool of the Responses API (web_search, file_search,
  /// code_interpreter, image_generation, mcp, ...): its JSON, sent as it is;
  /// the fields above are then unused. Null for a function tool.
  Json builtin;

  /// {"type":"function","function":{"name":..,"description":..,"parameters":..[,"strict":..]}},
  /// or the built-in tool's JSON.
  Json to_json() const;
  /// Whether this is a built-in tool (see `builtin`).
  bool is_builtin() const { return !builtin.is_null(); }
  bool operator==(const ToolDefinition&) const = default;
};

/// Describes one parameter of a C++ function exposed as a tool.
struct CHAINPP_API ToolParameter {
  std::string name;
  std::string type;  ///< JSON-schema type: "string", "integer", "number", "boolean", "array", "object"
  std::string description;
  bool required = true;
};

/// A tool definition from a C++ function's description (all parameters listed in "required").
///
///   auto weather = chainpp::tool_from_function("get_weather", "Current weather in a city",
///                                              {{"city", "string", "The city"}});
CHAINPP_API ToolDefinition tool_from_function(std::string name, std::string description,
                                              std::vector<ToolParameter> params);

/// A built-in tool of the Responses API from its JSON, e.g.
/// {"type":"web_search"}: an InputError unless `spec` is an object whose
/// "type" is a string other than "function".
CHAINPP_API ToolDefinition builtin_tool(Json spec);

/// The built-in (non-function) tool types a tool_choice string may name:
/// file_search, web_search, web_search_preview, code_interpreter,
/// computer_use_preview, image_generation, mcp.
CHAINPP_API bool is_builtin_tool_type(const std::string& name);

/// `choice` as it is sent, given the bound `tools` (LangChain's bind_tools):
///   a string naming a bound tool -> {"type":"function","function":{"name":..}}
///   a built-in tool type         -> {"type": name}
///   "any", true                  -> "required"
///   "auto", "none", "required", an object -> unchanged
///   false                        -> nullopt (no tool_choice is sent)
/// Anything else (another string, a number, null, an array) is an InputError
/// naming the value and the bound tools. Normalising twice changes nothing.
CHAINPP_API std::optional<Json> normalize_tool_choice(const Json& choice, const std::vector<ToolDefinition>& tools);

}  // namespace chainpp
