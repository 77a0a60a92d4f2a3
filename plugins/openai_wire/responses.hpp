#pragma once
// The OpenAI Responses API (POST /responses: OpenAI, and Azure's v1 and
// dated preview forms), beside chat completions: which API a call uses, the
// request body from messages and options, the Response read into an
// AIMessage, and the typed stream events read into chunks that merge (with
// `+`) into exactly the AIMessage the same Response gives.
//
// Where a Response goes in the AIMessage:
//   content                         the text of every output_text part, in order
//   tool_calls / invalid_tool_calls function_call items (call_id as the id)
//   response_metadata.annotations   the output_text parts' annotations, in order
//   response_metadata.reasoning_summary  the reasoning items' summary texts, one per part
//   response_metadata.refusal       the refusal parts' text
//   response_metadata.tool_outputs  built-in tool items (web_search_call, ...) as sent
//   response_metadata.id / model_name / status / finish_reason / incomplete_details / token_usage
//   usage_metadata                  input, cached input, output and reasoning tokens
#include "openai_wire.hpp"

#include <chainpp/call_options.hpp>
#include <chainpp/http.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chainpp::openai_wire {

/// A model's `use_responses_api`: true, false, or auto (the default).
enum class UseResponsesApi { no, yes, automatic };

/// What a call asks for that only the Responses API has: the names of the
/// responses-only options set (kGenerationOptions' responses_only rows, e.g.
/// "reasoning") and "the built-in tool web_search" for each built-in tool.
std::vector<std::string> responses_only_features(const CallOptions& options);

/// Whether a call goes to the Responses API: yes and no decide; automatic
/// means Responses when `features` is not empty or the model's profile says
/// it is served by the Responses API only (`responses_api_only`). With no and
/// a feature, an InputError: "openai: 'reasoning' needs the Responses API; set
/// use_responses_api: true (or auto) on the model". An explicit no wins over
/// the profile.
bool choose_responses_api(UseResponsesApi setting, const std::vector<std::string>& features,
                          const std::string& provider, bool responses_api_only_model = false);

/// What is wrong with a `reasoning` value, if anything: its member (empty
/// for the value as a whole) and the message, e.g. {"effort", "'reasoning.effort'
/// must be none, minimal, low, medium, high, xhigh or max"}.
std::optional<std::pair<std::string, std::string>> reasoning_problem(const Json& reasoning);

/// The JSON body of a Responses request: `model` (left out when empty),
/// `input` items from the messages, the options set, tools, tool_choice,
/// `text.format` from response_format, and `stream` when streaming. System
/// messages stay input messages of role "system" in place (not
/// `instructions`, which a chained response does not inherit). Throws
/// InputError for an option the Responses API has no equivalent for (stop,
/// n, presence_penalty, frequency_penalty, logit_bias, seed). As LangChain
/// does, max_tokens and max_completion_tokens stand for max_output_tokens,
/// reasoning_effort for reasoning.effort, and logprobs: true adds
/// "message.output_text.logprobs" to include.
std::string build_responses_body(const Messages& messages, const CallOptions& options, const std::string& model,
                                 bool stream);

/// Reads a Response (the body POST /responses answers) into an AIMessage as
/// described above. Throws BadResponseError on malformed input, the typed
/// error of a failed response (status "failed": RateLimitError for
/// rate_limit_exceeded, BadRequestError for invalid_*, else ServerError),
/// and ContentFilterError for a response the filter cut (incomplete,
/// reason content_filter).
AIMessage parse_response(std::string_view body, const ResponseShape& shape);

/// Turns the typed stream events of one Responses call into chunks.
class ResponsesStreamDecoder {
public:
  /// A decoder of one call's stream, which may carry at most
  /// `max_stream_bytes` of text, tool-call arguments, reasoning summaries
  /// and item metadata.
  explicit ResponsesStreamDecoder(ResponseShape shape,
                                  std::int64_t max_stream_bytes = TransportOptions{}.max_stream_bytes);
  ~ResponsesStreamDecoder();
  ResponsesStreamDecoder(ResponsesStreamDecoder&&) noexcept;
  ResponsesStreamDecoder& operator=(ResponsesStreamDecoder&&) noexcept;

  /// One event's chunk, often empty (response.created, content_part.added,
  /// ...): output_text deltas as content, function-call items and argument
  /// deltas as tool-call chunks (indexed by call, with the call_id and name
  /// of their response.output_item.added), each finished item's metadata,
  /// and the terminal event's id, status, finish reason and usage. Throws
  /// what parse_response throws for a failed or filtered response, a
  /// ProviderError for an `error` event (as make_stream_error maps it),
  /// BadResponseError for malformed events and ResponseTooLargeError past
  /// max_stream_bytes.
  AIMessageChunk decode(std::string_view data);
  /// True once response.completed or response.incomplete was decoded: the
  /// stream is over.
  bool finished() const;

  class Impl;

private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace chainpp::openai_wire
