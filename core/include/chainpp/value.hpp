#pragma once
// Value: the dynamic value that flows between the steps of a chain. A prompt
// takes a map of variables and gives messages; a model takes messages and
// gives an AI message (or chunks when streaming); a parser gives text or JSON.
// YAML pipelines pass exactly this type between their steps.
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>
#include <chainpp/messages.hpp>

#include <functional>
#include <map>
#include <string>
#include <variant>

namespace chainpp {

class Value;
/// Named inputs, e.g. the variables of a prompt template.
using ValueMap = std::map<std::string, Value, std::less<>>;

class CHAINPP_API Value {
public:
  enum class Kind { null, text, json, map, messages, message, chunk };

  Value() = default;
  Value(std::string text) : v_(std::move(text)) {}
  Value(const char* text) : v_(std::string(text)) {}
  Value(ValueMap map) : v_(std::move(map)) {}
  Value(Messages messages) : v_(std::move(messages)) {}
  Value(Message message) : v_(std::move(message)) {}
  Value(AIMessageChunk chunk) : v_(std::move(chunk)) {}
  static Value json(Json j) { Value v; v.v_ = std::move(j); return v; }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::null; }
  bool is_text() const { return kind() == Kind::text; }
  bool is_json() const { return kind() == Kind::json; }
  bool is_map() const { return kind() == Kind::map; }
  bool is_messages() const { return kind() == Kind::messages; }
  bool is_message() const { return kind() == Kind::message; }
  bool is_chunk() const { return kind() == Kind::chunk; }

  /// Typed accessors; each throws InputError naming the expected and actual kind.
  const std::string& as_text() const;
  const Json& as_json() const;
  const ValueMap& as_map() const;
  const Messages& as_messages() const;
  const Message& as_message() const;
  const AIMessageChunk& as_chunk() const;

  /// Best-effort text: text itself, a message's or chunk's content, JSON dumped.
  std::string to_text() const;
  /// JSON form (messages as their to_json(), a map as an object).
  Json to_json() const;

  bool operator==(const Value& other) const;

private:
  std::variant<std::monostate, std::string, Json, ValueMap, Messages, Message, AIMessageChunk> v_;
};

/// Name of a value kind ("null", "text", "json", "map", "messages", "message", "chunk").
CHAINPP_API const char* to_string(Value::Kind kind);

}  // namespace chainpp
