#pragma once
// Tools a model may call: their definitions (name, description, JSON-schema
// parameters), and a definition written from a C++ function's description.
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

  /// {"type":"function","function":{"name":..,"description":..,"parameters":..[,"strict":..]}}
  Json to_json() const;
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

}  // namespace chainpp
