#pragma once
// Model profiles: what each model family accepts (structured outputs, tools,
// temperature, max_completion_tokens, reasoning effort, the Responses API,
// token limits), as data (configs/model_profiles.yaml, bundled beside
// pricing.yaml) so it changes without a recompile. Providers look a model up
// when its configuration is loaded, refuse the settings its profile says it
// does not accept, and with_structured_output picks its method from it.
#include <chainpp/config.hpp>
#include <chainpp/export.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chainpp {

/// One entry of a profile table. Each field left unset means "the table does
/// not say": chainpp then does what it does for a model with no profile.
struct CHAINPP_API ModelProfile {
  std::string name;         ///< the entry's name that matched the model ("gpt-4o-2024-05-13")
  SourceLocation location;  ///< where the entry is written
  std::optional<bool> json_schema;          ///< accepts response_format json_schema (structured outputs)
  std::optional<bool> tools;                ///< accepts tools (function calling)
  std::optional<bool> parallel_tool_calls;  ///< accepts parallel_tool_calls
  std::optional<bool> temperature;          ///< accepts temperature (false: o-series and gpt-5 reasoning models)
  /// Needs max_completion_tokens and refuses max_tokens (reasoning models).
  std::optional<bool> max_completion_tokens;
  /// The reasoning_effort values accepted; empty: not a reasoning model.
  std::optional<std::vector<std::string>> reasoning_effort;
  std::optional<bool> responses_api_only;  ///< served by the Responses API only (not chat completions)
  std::optional<std::int64_t> context_tokens;  ///< context window, input and output together
  std::optional<std::int64_t> output_tokens;   ///< most tokens one response may have
  bool operator==(const ModelProfile&) const = default;
};

/// A profile table: entries with the model names they cover.
///
///     variants: ["-", ".ft-", ":"]
///     profiles:
///       - names: [gpt-4o]
///         json_schema: true
///       - names: [gpt-4o-2024-05-13]
///         json_schema: false
///
/// A name covers the model of that name and its variants: the name followed
/// by one of `variants` (default: "-") and more ("gpt-4o" covers
/// "gpt-4o-2024-08-06", not "gpt-4o3"; "gpt-35-turbo-0613" covers Azure's
/// fine-tuned "gpt-35-turbo-0613.ft-abc"). A model gets the entry of the
/// longest name that covers it.
class CHAINPP_API ModelProfiles {
public:
  ModelProfiles() = default;
  /// Reads a table; throws ConfigError with file:line:col on an unknown key, a
  /// value of the wrong type or a name listed twice.
  static ModelProfiles load(const std::string& path);
  /// The bundled table (bundled_data_file("model_profiles.yaml")), or an empty
  /// table when there is none.
  static ModelProfiles load_bundled();
  /// The profile of `model` ("gpt-4o-2024-08-06"), or nullopt when no name covers it.
  std::optional<ModelProfile> find(const std::string& model) const;
  /// How many names the table has.
  std::size_t size() const { return entries_.size(); }

private:
  std::vector<ModelProfile> entries_;  // one per name, sorted by name
  std::vector<std::string> variants_ = {"-"};
};

/// The profile of the model configured by `model_config` (a `models.<name>`
/// map), known as `model` (for Azure the configured `model`, with
/// "-<model_version>" when set; never the deployment): looked up in the
/// table named by its `model_profiles` key (relative to its file), else in
/// the bundled table. Then refuses, at the setting's file:line:col, what the
/// profile says the model does not accept: `temperature`, `max_tokens`
/// where `max_completion_tokens` is needed, a `reasoning_effort` value, an
/// output token limit above the model's. nullopt (and nothing checked) when
/// `model` is empty or no entry covers it.
CHAINPP_API std::optional<ModelProfile> configured_model_profile(const ConfigNode& model_config,
                                                                 const std::string& model);

}  // namespace chainpp
