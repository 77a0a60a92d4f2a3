#pragma once
// Chat messages: system, human, AI, tool and generic-role messages, content
// as text or a list of parts, tool calls, usage, and streamed AI chunks that
// merge with `+` as LangChain's AIMessageChunk does.
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace chainpp {

/// One part of a multi-part content: text, or an image by URL / data URI.
struct CHAINPP_API ContentPart {
  enum class Kind { text, image_url };
  Kind kind = Kind::text;
  std::string text;    ///< for Kind::text
  std::string url;     ///< for Kind::image_url: https://... or data:<mime>;base64,...
  std::string detail;  ///< for Kind::image_url: "auto", "low", "high" or empty (not sent)

  static ContentPart text_part(std::string text);
  static ContentPart image_part(std::string url, std::string detail = {});
  bool operator==(const ContentPart&) const = default;
};

/// Message content: plain text, or a list of parts.
using Content = std::variant<std::string, std::vector<ContentPart>>;

/// The text of a content: the string, or its text parts concatenated.
CHAINPP_API std::string content_text(const Content& content);

/// Builds a `data:<mime>;base64,...` URI from a local image file, with the MIME
/// type from its extension (png, jpg/jpeg, gif, webp). Throws InputError naming
/// the path when the file is missing, unreadable or of an unknown type.
CHAINPP_API std::string image_data_uri(const std::string& path);

/// A complete tool call requested by the model, arguments parsed.
struct CHAINPP_API ToolCall {
  std::string name;
  Json args;
  std::string id;
  bool operator==(const ToolCall&) const = default;
};

/// A tool call whose arguments could not be parsed as a JSON object.
struct CHAINPP_API InvalidToolCall {
  std::string name;
  std::string args;   ///< the raw argument text as received
  std::string id;
  std::string error;
  bool operator==(const InvalidToolCall&) const = default;
};

/// A piece of a tool call in a stream; pieces with the same index merge.
struct CHAINPP_API ToolCallChunk {
  std::optional<std::string> name;
  std::optional<std::string> args;
  std::optional<std::string> id;
  std::optional<int> index;
  bool operator==(const ToolCallChunk&) const = default;
};

/// Token counts of one call, as LangChain's usage_metadata.
struct CHAINPP_API UsageMetadata {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t total_tokens = 0;
  std::optional<std::int64_t> cache_read;  ///< input_token_details.cache_read
  std::optional<std::int64_t> reasoning;   ///< output_token_details.reasoning

  /// {"input_tokens":..,"output_tokens":..,"total_tokens":..[,"input_token_details":{"cache_read":..}]
  ///  [,"output_token_details":{"reasoning":..}]}
  Json to_json() const;
  UsageMetadata& operator+=(const UsageMetadata& other);
  bool operator==(const UsageMetadata&) const = default;
};
CHAINPP_API UsageMetadata operator+(UsageMetadata a, const UsageMetadata& b);

enum class Role { system, human, ai, tool, generic };

/// The role name LangChain uses for a message type: "system", "human", "ai", "tool", "chat".
CHAINPP_API const char* to_string(Role role);

/// Any chat message. The typed subclasses below only construct; they add no
/// data, so a Message may be copied out of them freely.
struct CHAINPP_API Message {
  Role role = Role::human;
  Content content = std::string();
  std::string name;          ///< optional participant name
  std::string id;            ///< for AI messages: run-<uuid>-0
  std::string generic_role;  ///< for Role::generic: the role sent on the wire
  std::string tool_call_id;  ///< for Role::tool
  // AI messages only:
  std::vector<ToolCall> tool_calls;
  std::vector<InvalidToolCall> invalid_tool_calls;
  Json response_metadata = Json::object();
  std::optional<UsageMetadata> usage_metadata;

  /// The content as text (see content_text).
  std::string text() const { return content_text(content); }
  /// {"type":"ai","content":...,"id":...,"response_metadata":{...},"usage_metadata":{...},"tool_calls":[...]}
  Json to_json() const;
  bool operator==(const Message&) const = default;
};

struct CHAINPP_API SystemMessage : Message {
  explicit SystemMessage(Content c);
};
struct CHAINPP_API HumanMessage : Message {
  explicit HumanMessage(Content c);
};
struct CHAINPP_API AIMessage : Message {
  AIMessage() { role = Role::ai; }
  explicit AIMessage(Content c, std::vector<ToolCall> calls = {});
};
struct CHAINPP_API ToolMessage : Message {
  ToolMessage(Content c, std::string tool_call_id);
};
/// A message with an arbitrary role name.
struct CHAINPP_API ChatMessage : Message {
  ChatMessage(std::string role, Content c);
};

using Messages = std::vector<Message>;

/// Builds a message from a (role, content) pair as on the seed page: "system",
/// "human"/"user", "ai"/"assistant", "tool" (throws InputError for others,
/// listing the accepted roles).
CHAINPP_API Message message_from_pair(std::string_view role, std::string content);
CHAINPP_API Messages messages_from_pairs(
    std::initializer_list<std::pair<std::string_view, std::string>> pairs);

/// A streamed piece of an AI message. `a + b` concatenates content, merges
/// tool-call chunks by index, sums usage and merges response metadata; the
/// merged id is the first that is not a generated "run-" id, else the first
/// run- id (LangChain's add_ai_message_chunks); the name is the first set.
struct CHAINPP_API AIMessageChunk {
  std::string content;
  std::string id;
  std::string name;  ///< the participant name the response gave, if any
  std::vector<ToolCallChunk> tool_call_chunks;
  Json response_metadata = Json::object();
  std::optional<UsageMetadata> usage_metadata;

  AIMessageChunk& operator+=(const AIMessageChunk& other);
  /// The finished message: tool-call chunks parsed into tool_calls, or into
  /// invalid_tool_calls when their arguments are not a JSON object.
  AIMessage to_message() const;
  bool operator==(const AIMessageChunk&) const = default;
};
CHAINPP_API AIMessageChunk operator+(AIMessageChunk a, const AIMessageChunk& b);

/// Merges streamed response metadata: objects merge recursively, arrays
/// append, and any other non-null value replaces the earlier one (a repeated
/// model name or filter severity is not concatenated).
CHAINPP_API void merge_metadata(Json& into, const Json& from);

/// Parses tool-call arguments text into calls: valid JSON objects (empty text
/// is {}) become ToolCall, anything else InvalidToolCall with the raw text.
CHAINPP_API void parse_tool_call(const std::string& name, const std::string& args, const std::string& id,
                                 std::vector<ToolCall>& calls, std::vector<InvalidToolCall>& invalid);

}  // namespace chainpp
