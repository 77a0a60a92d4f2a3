#pragma once
// CallOptions: the generation options of a call (temperature, max_tokens,
// stop, ...), and kGenerationOptions, their description written once: name,
// member, type, range. Everything else is derived from that table: reading
// them from YAML with their range checks (read_generation_options), merging
// (CallOptions::over), checking a call's options (check_generation_options),
// what callbacks are shown (generation_options_json), and the request bodies
// providers write (for_each_set_option).
//
// Adding an option is two adjacent lines here: its member in CallOptions and
// its row in kGenerationOptions.
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>
#include <chainpp/tools.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace chainpp {

class ConfigNode;

/// Per-call generation options. Unset fields are not sent; set fields of a
/// call win over the model's bound defaults.
struct CHAINPP_API CallOptions {
  std::optional<std::vector<std::string>> stop;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<double> frequency_penalty;
  std::optional<double> presence_penalty;
  std::optional<std::int64_t> max_tokens;
  std::optional<std::int64_t> max_completion_tokens;
  std::optional<std::string> reasoning_effort;
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> n;
  std::optional<bool> logprobs;
  std::optional<std::int64_t> top_logprobs;
  std::optional<Json> logit_bias;
  std::optional<std::string> user;
  std::optional<Json> response_format;
  // The Responses API's own settings (rows marked responses_only below; a
  // chat-completions request never carries them):
  std::optional<std::int64_t> max_output_tokens;  ///< caps visible and reasoning tokens
  std::optional<Json> reasoning;                  ///< {"effort": ..., "summary": ...}
  std::optional<bool> store;                      ///< keep the response for previous_response_id
  std::optional<std::vector<std::string>> include;  ///< extra output, e.g. "reasoning.encrypted_content"
  std::optional<std::string> previous_response_id;  ///< continue a stored response
  /// Send only the messages after the last AI message that carries a
  /// response id, with that id as previous_response_id (as LangChain does).
  std::optional<bool> use_previous_response_id;
  std::optional<bool> background;       ///< run the response in the background
  std::optional<std::string> truncation;  ///< "auto" or "disabled"
  std::vector<ToolDefinition> tools;
  /// What LangChain's bind_tools takes: "auto", "none", "required", "any", a
  /// bool, a bound tool's name, a built-in tool type or an object; normalised
  /// at each call (normalize_tool_choice in chainpp/tools.hpp).
  std::optional<Json> tool_choice;
  std::optional<bool> parallel_tool_calls;
  std::optional<bool> stream_usage;
  std::optional<double> timeout_seconds;
  /// Extra HTTP headers of the call (the OpenAI SDKs' `extra_headers`), sent
  /// after the model's default_headers, e.g. a correlation id.
  std::vector<std::pair<std::string, std::string>> headers;

  /// These options over `base`: each field set here replaces base's (a
  /// header replaces base's header of the same name, case-insensitively).
  CallOptions over(const CallOptions& base) const;
  bool operator==(const CallOptions&) const = default;
};

/// The description of one generation option: the name it has in YAML, in a
/// request body and in invocation params; the CallOptions member holding it
/// (whose type says how it is read and written); and what values it takes.
struct GenerationOption {
  /// A member of CallOptions.
  using Member = std::variant<std::optional<double> CallOptions::*, std::optional<std::int64_t> CallOptions::*,
                              std::optional<bool> CallOptions::*, std::optional<std::string> CallOptions::*,
                              std::optional<std::vector<std::string>> CallOptions::*,
                              std::optional<Json> CallOptions::*>;

  std::string_view name;
  Member member;
  /// Numbers: the API's range, inclusive; maps of integers (`value_of`): each value's.
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  /// Text: the values allowed, separated by '|' (empty: any).
  std::string_view choices = {};
  /// JSON values: what the YAML value must be, for the error ("a map of token ids to biases").
  std::string_view expected = {};
  /// JSON values: a YAML scalar `x` stands for {"type": x} (response_format: json_object).
  bool type_shorthand = false;
  /// Lists: how many items the API accepts, and what the errors call them.
  std::size_t min_items = 0;
  std::size_t max_items = std::numeric_limits<std::size_t>::max();
  std::string_view items = "items";
  /// JSON values: a map whose values are integers between min and max; this
  /// is what the errors call a key ("token").
  std::string_view value_of = {};
  /// The name of a bool option that must be true when this one is set.
  std::string_view requires_true = {};
  /// An option of the Responses API only: a chat-completions request body
  /// leaves it out, and a provider that routes by it (openai_wire) takes
  /// it as a request for the Responses API.
  bool responses_only = false;
};

namespace detail {
inline constexpr double kMaxInt32 = 2147483647.0;
}  // namespace detail

/// Every generation option, in the order a request body carries them.
inline constexpr auto kGenerationOptions = std::to_array<GenerationOption>({
    {.name = "temperature", .member = &CallOptions::temperature, .min = 0, .max = 2},
    {.name = "top_p", .member = &CallOptions::top_p, .min = 0, .max = 1},
    {.name = "n", .member = &CallOptions::n, .min = 1, .max = 128},
    {.name = "stop", .member = &CallOptions::stop, .min_items = 1, .max_items = 4, .items = "sequences"},
    {.name = "max_tokens", .member = &CallOptions::max_tokens, .min = 1, .max = detail::kMaxInt32},
    {.name = "max_completion_tokens", .member = &CallOptions::max_completion_tokens, .min = 1,
     .max = detail::kMaxInt32},
    {.name = "reasoning_effort", .member = &CallOptions::reasoning_effort, .choices = "low|medium|high"},
    {.name = "presence_penalty", .member = &CallOptions::presence_penalty, .min = -2, .max = 2},
    {.name = "frequency_penalty", .member = &CallOptions::frequency_penalty, .min = -2, .max = 2},
    {.name = "logit_bias", .member = &CallOptions::logit_bias, .min = -100, .max = 100,
     .expected = "a map of token ids to biases", .value_of = "token"},
    {.name = "user", .member = &CallOptions::user},
    {.name = "seed", .member = &CallOptions::seed},
    {.name = "logprobs", .member = &CallOptions::logprobs},
    {.name = "top_logprobs", .member = &CallOptions::top_logprobs, .min = 0, .max = 20, .requires_true = "logprobs"},
    {.name = "response_format", .member = &CallOptions::response_format, .expected = "text, json_object, or a map",
     .type_shorthand = true},
    {.name = "max_output_tokens", .member = &CallOptions::max_output_tokens, .min = 1, .max = detail::kMaxInt32,
     .responses_only = true},
    {.name = "reasoning", .member = &CallOptions::reasoning, .expected = "a map of effort and summary",
     .responses_only = true},
    {.name = "store", .member = &CallOptions::store, .responses_only = true},
    {.name = "include", .member = &CallOptions::include, .min_items = 1, .items = "values", .responses_only = true},
    {.name = "previous_response_id", .member = &CallOptions::previous_response_id, .responses_only = true},
    {.name = "use_previous_response_id", .member = &CallOptions::use_previous_response_id, .responses_only = true},
    {.name = "background", .member = &CallOptions::background, .responses_only = true},
    {.name = "truncation", .member = &CallOptions::truncation, .choices = "auto|disabled", .responses_only = true},
});

/// Calls `visit(name, value)` for each option of kGenerationOptions set in
/// `options`, in table order; `value` is the member's value (double,
/// std::int64_t, bool, std::string, std::vector<std::string> or Json).
template <class Visit>
void for_each_set_option(const CallOptions& options, Visit&& visit) {
  for (const GenerationOption& option : kGenerationOptions) {
    std::visit(
        [&](auto member) {
          if (const auto& value = options.*member) visit(option.name, *value);
        },
        option.member);
  }
}

/// Reads every option of kGenerationOptions that `node` (a model's settings)
/// has into `options`, checking its type and the rules of its row: a located
/// ConfigError such as "app.yaml:4:18: 'temperature' must be between 0 and 2".
CHAINPP_API void read_generation_options(const ConfigNode& node, CallOptions& options);

/// Checks the options set in `options` against the rules of their rows, as
/// read_generation_options does (range, choices, list length, map values,
/// the option one requires); ChatModel checks a call's options before any
/// provider sees them. Throws InputError such as
/// "'stop' holds 5 sequences; the service accepts at most 4".
CHAINPP_API void check_generation_options(const CallOptions& options);

/// The YAML keys of kGenerationOptions (for ConfigNode::check_keys).
CHAINPP_API std::vector<std::string> generation_option_keys();

/// The options set in `options`, as a JSON object in table order
/// ({"temperature": 0, "stop": ["\n"]}): a model's settings and the
/// invocation params callbacks see.
CHAINPP_API Json generation_options_json(const CallOptions& options);

}  // namespace chainpp
