#include <chainpp/errors.hpp>
#include <chainpp/value.hpp>

namespace chainpp {

const char* to_string(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::null: return "null";
    case Value::Kind::text: return "text";
    case Value::Kind::json: return "json";
    case Value::Kind::map: return "map";
    case Value::Kind::messages: return "messages";
    case Value::Kind::message: return "message";
    case Value::Kind::chunk: return "chunk";
  }
  return "?";
}

namespace {
[[noreturn]] void kind_error(Value::Kind wanted, Value::Kind actual) {
  throw InputError(std::string("expected a ") + to_string(wanted) + " value, got " + to_string(actual));
}
}  // namespace

const std::string& Value::as_text() const {
  if (!is_text()) kind_error(Kind::text, kind());
  return std::get<std::string>(v_);
}
const Json& Value::as_json() const {
  if (!is_json()) kind_error(Kind::json, kind());
  return std::get<Json>(v_);
}
const ValueMap& Value::as_map() const {
  if (!is_map()) kind_error(Kind::map, kind());
  return std::get<ValueMap>(v_);
}
const Messages& Value::as_messages() const {
  if (!is_messages()) kind_error(Kind::messages, kind());
  return std::get<Messages>(v_);
}
const Message& Value::as_message() const {
  if (!is_message()) kind_error(Kind::message, kind());
  return std::get<Message>(v_);
}
const AIMessageChunk& Value::as_chunk() const {
  if (!is_chunk()) kind_error(Kind::chunk, kind());
  return std::get<AIMessageChunk>(v_);
}

std::string Value::to_text() const {
  switch (kind()) {
    case Kind::null: return "";
    case Kind::text: return as_text();
    case Kind::json: return as_json().is_string() ? as_json().as_string() : as_json().dump();
    case Kind::message: return as_message().text();
    case Kind::chunk: return as_chunk().content;
    case Kind::map:
    case Kind::messages: return to_json().dump();
  }
  return "";
}

Json Value::to_json() const {
  switch (kind()) {
    case Kind::null: return Json();
    case Kind::text: return Json(as_text());
    case Kind::json: return as_json();
    case Kind::message: return as_message().to_json();
    case Kind::chunk: {
      AIMessage m = as_chunk().to_message();
      Json j = m.to_json();
      j.set("type", "AIMessageChunk");
      return j;
    }
    case Kind::map: {
      Json j = Json::object();
      for (const auto& [k, v] : as_map()) j.set(k, v.to_json());
      return j;
    }
    case Kind::messages: {
      Json j = Json::array();
      for (const auto& m : as_messages()) j.push_back(m.to_json());
      return j;
    }
  }
  return Json();
}

bool Value::operator==(const Value& other) const { return v_ == other.v_; }

}  // namespace chainpp
