#pragma once
// How ChatModel::with_structured_output asks a model for output that
// validates against a JSON schema.
#include <chainpp/export.hpp>

#include <optional>
#include <string>

namespace chainpp {

/// How with_structured_output asks the model for structure: a json_schema
/// response format, a forced tool call, or JSON mode.
enum class StructuredOutputMethod { json_schema, function_calling, json_mode };

/// The options of with_structured_output.
struct CHAINPP_API StructuredOutputOptions {
  /// Unset: json_schema, unless the model's profile (ChatModel::profile())
  /// says it has no json_schema support, then function_calling (as LangChain
  /// does). A method set here is used whatever the profile says.
  std::optional<StructuredOutputMethod> method;
  std::string name;          ///< schema/tool name; default: the schema's "title" or "output"
  bool strict = true;        ///< for json_schema and function_calling
  bool include_raw = false;  ///< output {"raw": message, "parsed": value, "parsing_error": text|null}
};

}  // namespace chainpp
