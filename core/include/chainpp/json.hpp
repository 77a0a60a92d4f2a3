#pragma once
// Json: one small value-semantic JSON type for free-form data (response
// metadata, tool arguments, schemas). Objects keep insertion order.
#include <chainpp/export.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace chainpp {

class Json;
using JsonArray = std::vector<Json>;
using JsonObject = std::vector<std::pair<std::string, Json>>;

class CHAINPP_API Json {
public:
  enum class Type { null, boolean, integer, number, string, array, object };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : v_(b) {}
  Json(int i) : v_(static_cast<std::int64_t>(i)) {}
  Json(long i) : v_(static_cast<std::int64_t>(i)) {}
  Json(long long i) : v_(static_cast<std::int64_t>(i)) {}
  Json(unsigned i) : v_(static_cast<std::int64_t>(i)) {}
  Json(unsigned long i) : v_(static_cast<std::int64_t>(i)) {}
  Json(double d) : v_(d) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(std::string_view s) : v_(std::string(s)) {}
  Json(JsonArray a) : v_(std::move(a)) {}
  Json(JsonObject o) : v_(std::move(o)) {}
  /// Builds an object from {{"key", value}, ...} pairs.
  Json(std::initializer_list<std::pair<const char*, Json>> members);

  static Json array(std::initializer_list<Json> items = {});
  static Json object() { return Json(JsonObject{}); }

  /// Parses JSON text; throws chainpp::JsonError with the offset on bad input.
  static Json parse(std::string_view text);
  /// Serialises compactly (indent < 0) or pretty-printed with `indent` spaces.
  std::string dump(int indent = -1) const;

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::null; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_integer() const { return type() == Type::integer; }
  bool is_number() const { return type() == Type::integer || type() == Type::number; }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }

  /// Typed accessors; each throws JsonError naming the actual type on mismatch.
  bool as_bool() const;
  std::int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  const JsonArray& as_array() const;
  JsonArray& as_array();
  const JsonObject& as_object() const;
  JsonObject& as_object();

  /// Object member access: `at` throws when absent; `find` returns nullptr.
  const Json& at(std::string_view key) const;
  const Json* find(std::string_view key) const;
  Json* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  /// Inserts null when absent (turns a null value into an object first).
  Json& operator[](std::string_view key);
  const Json& operator[](std::string_view key) const { return at(key); }
  /// Array element access (throws when out of range).
  const Json& at(std::size_t index) const;
  const Json& operator[](std::size_t index) const { return at(index); }
  const Json& operator[](int index) const { return at(static_cast<std::size_t>(index)); }
  Json& at(std::size_t index) { return const_cast<Json&>(static_cast<const Json*>(this)->at(index)); }
  Json& operator[](std::size_t index) { return at(index); }
  Json& operator[](int index) { return at(static_cast<std::size_t>(index)); }
  /// Array append (turns a null value into an array first).
  void push_back(Json value);
  /// Sets an object member, replacing an existing one with the same key.
  void set(std::string_view key, Json value);
  bool erase(std::string_view key);
  /// Number of members or elements (0 for scalars).
  std::size_t size() const;
  bool empty() const { return size() == 0; }

  /// Returns the member as T, or `fallback` when absent or null.
  std::string value(std::string_view key, const char* fallback) const;
  std::int64_t value(std::string_view key, std::int64_t fallback) const;
  bool value(std::string_view key, bool fallback) const;

  friend CHAINPP_API bool operator==(const Json& a, const Json& b);
  friend bool operator!=(const Json& a, const Json& b) { return !(a == b); }

private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, JsonArray, JsonObject> v_;
};

/// Name of a JSON type ("null", "boolean", "integer", "number", "string", "array", "object").
CHAINPP_API const char* to_string(Json::Type type);

/// The offset of the first byte of `text` that does not belong to a well-formed
/// UTF-8 sequence (overlong forms, surrogates and code points past U+10FFFF are
/// not), or std::string_view::npos when all of `text` is valid UTF-8.
CHAINPP_API std::size_t utf8_error_offset(std::string_view text);

}  // namespace chainpp

namespace chainpp {

/// `value` written as block-style YAML (for dumping configuration).
CHAINPP_API std::string to_yaml(const Json& value);

}  // namespace chainpp
