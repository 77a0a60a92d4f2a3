#pragma once
// What the Responses readers (responses_completion.cpp,
// responses_stream.cpp) share: each piece of an AIMessage is read from a
// Response by one function, which invoke applies to the whole Response and
// the stream to each finished item and to the terminal event, so that the
// merged chunks equal the message. Private to openai_wire.
#include "response_common.hpp"
#include "responses.hpp"

#include <optional>
#include <string>

namespace chainpp::openai_wire::responses {

/// The member `key` of `object` when it is a string, "" when absent or null;
/// BadResponseError "<where>.<key> is number, expected a string" otherwise.
std::string string_member(const ResponseShape& shape, const Json& object, const char* key, const std::string& where);

/// Appends the text of an output item's output_text parts (message items only).
void append_item_text(const ResponseShape& shape, const Json& item, const std::string& where, std::string& text);

/// What a finished output item adds to response_metadata: a message's
/// annotations and refusal, a reasoning item's summary texts, a built-in
/// tool item itself (tool_outputs); {} for a function_call or a plain message.
Json item_metadata(const ResponseShape& shape, const Json& item, const std::string& where);

/// What the finished Response adds last: id, model_name, status,
/// finish_reason, incomplete_details (when set), token_usage (when usage is).
Json final_metadata(const ResponseShape& shape, const Json& response);

/// usage_metadata from the Response's usage (nullopt when it has none).
std::optional<UsageMetadata> usage_of(const ResponseShape& shape, const Json& response);

/// Throws the error of a failed Response (status "failed"), and
/// ContentFilterError for one the filter cut (carrying `partial`, the text).
void check_outcome(const ResponseShape& shape, const Json& response, const std::string& partial);

}  // namespace chainpp::openai_wire::responses
