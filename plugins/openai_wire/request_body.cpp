// The request side of the wire: the chat-completions request body (written
// with rapidjson::Writer) and URL encoding.
#include "openai_wire.hpp"

#include <chainpp/errors.hpp>

#include <cctype>
#include <optional>
#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace chainpp::openai_wire {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(Writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void str(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void raw(Writer& w, const Json& j) {
  std::string text = j.dump();
  w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
}

const char* wire_role(const Message& m) {
  switch (m.role) {
    case Role::system: return "system";
    case Role::human: return "user";
    case Role::ai: return "assistant";
    case Role::tool: return "tool";
    case Role::generic: return m.generic_role.c_str();
  }
  return "user";
}

void write_content(Writer& w, const Content& content) {
  if (const auto* s = std::get_if<std::string>(&content)) {
    str(w, *s);
    return;
  }
  w.StartArray();
  for (const auto& p : std::get<std::vector<ContentPart>>(content)) {
    w.StartObject();
    if (p.kind == ContentPart::Kind::text) {
      key(w, "type");
      str(w, "text");
      key(w, "text");
      str(w, p.text);
    } else {
      key(w, "type");
      str(w, "image_url");
      key(w, "image_url");
      w.StartObject();
      key(w, "url");
      str(w, p.url);
      if (!p.detail.empty()) {
        key(w, "detail");
        str(w, p.detail);
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
}

void write_message(Writer& w, const Message& m) {
  w.StartObject();
  key(w, "role");
  str(w, wire_role(m));
  key(w, "content");
  const bool ai_with_calls = m.role == Role::ai && !m.tool_calls.empty();
  if (ai_with_calls && m.text().empty() && std::holds_alternative<std::string>(m.content))
    w.Null();
  else
    write_content(w, m.content);
  if (!m.name.empty()) {
    key(w, "name");
    str(w, m.name);
  }
  if (m.role == Role::tool) {
    key(w, "tool_call_id");
    str(w, m.tool_call_id);
  }
  if (ai_with_calls) {
    key(w, "tool_calls");
    w.StartArray();
    for (const auto& c : m.tool_calls) {
      w.StartObject();
      key(w, "id");
      str(w, c.id);
      key(w, "type");
      str(w, "function");
      key(w, "function");
      w.StartObject();
      key(w, "name");
      str(w, c.name);
      key(w, "arguments");
      str(w, c.args.dump());
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

// JSON text must be UTF-8: refuse to send bytes the service would reject as
// an unreadable body, naming the message and the byte instead.
void check_utf8(std::string_view text, const std::string& what) {
  const std::size_t bad = utf8_error_offset(text);
  if (bad == std::string_view::npos) return;
  static const char* hex = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(text[bad]);
  throw InputError(what + " is not valid UTF-8: invalid byte 0x" + hex[byte >> 4] + hex[byte & 15] + " at offset " +
                   std::to_string(bad));
}

}  // namespace

void check_messages_utf8(const Messages& messages) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (const auto* s = std::get_if<std::string>(&messages[i].content)) {
      check_utf8(*s, where + ".content");
    } else {
      const auto& parts = std::get<std::vector<ContentPart>>(messages[i].content);
      for (std::size_t k = 0; k < parts.size(); ++k)
        check_utf8(parts[k].text, where + ".content[" + std::to_string(k) + "].text");
    }
    check_utf8(messages[i].name, where + ".name");
  }
}

namespace {

// Whether `name` is an option of the Responses API only (not sent here).
bool responses_only(std::string_view name) {
  for (const GenerationOption& option : kGenerationOptions)
    if (option.name == name) return option.responses_only;
  return false;
}

}  // namespace

std::string build_request_body(const Messages& messages, const CallOptions& o, const RequestShape& shape) {
  check_messages_utf8(messages);
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  if (!shape.model.empty()) {
    key(w, "model");
    str(w, shape.model);
  }
  key(w, "messages");
  w.StartArray();
  for (const auto& m : messages) write_message(w, m);
  w.EndArray();
  // Every generation option set, in kGenerationOptions' order.
  for_each_set_option(o, [&](std::string_view name, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    if (responses_only(name)) return;
    key(w, name);
    if constexpr (std::is_same_v<T, double>) {
      w.Double(value);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      w.Int64(value);
    } else if constexpr (std::is_same_v<T, bool>) {
      w.Bool(value);
    } else if constexpr (std::is_same_v<T, std::string>) {
      str(w, value);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      w.StartArray();
      for (const auto& item : value) str(w, item);
      w.EndArray();
    } else {
      static_assert(std::is_same_v<T, Json>);
      raw(w, value);
    }
  });
  if (!o.tools.empty()) {
    key(w, "tools");
    w.StartArray();
    for (const auto& t : o.tools) raw(w, t.to_json());  // a built-in tool as it is
    w.EndArray();
  }
  // Normalised already by ChatModel; again here for a direct caller (idempotent).
  if (const auto choice = o.tool_choice ? normalize_tool_choice(*o.tool_choice, o.tools) : std::nullopt) {
    key(w, "tool_choice");
    raw(w, *choice);
  }
  if (!o.tools.empty() && o.parallel_tool_calls) {
    key(w, "parallel_tool_calls");
    w.Bool(*o.parallel_tool_calls);
  }
  if (shape.stream) {
    key(w, "stream");
    w.Bool(true);
    if (shape.include_usage) {
      key(w, "stream_options");
      w.StartObject();
      key(w, "include_usage");
      w.Bool(true);
      w.EndObject();
    }
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}


}  // namespace chainpp::openai_wire
