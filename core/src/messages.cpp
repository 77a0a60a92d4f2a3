#include <chainpp/errors.hpp>
#include <chainpp/messages.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>

namespace chainpp {

ContentPart ContentPart::text_part(std::string text) {
  ContentPart p;
  p.kind = Kind::text;
  p.text = std::move(text);
  return p;
}

ContentPart ContentPart::image_part(std::string url, std::string detail) {
  ContentPart p;
  p.kind = Kind::image_url;
  p.url = std::move(url);
  p.detail = std::move(detail);
  return p;
}

std::string content_text(const Content& content) {
  if (const auto* s = std::get_if<std::string>(&content)) return *s;
  std::string out;
  for (const auto& part : std::get<std::vector<ContentPart>>(content))
    if (part.kind == ContentPart::Kind::text) out += part.text;
  return out;
}

namespace {

std::string base64(const std::string& in) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += table[(n >> 6) & 63];
    out += table[n & 63];
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < in.size() ? table[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

std::string image_data_uri(const std::string& path) {
  auto dot = path.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string mime;
  if (ext == "png") mime = "image/png";
  else if (ext == "jpg" || ext == "jpeg") mime = "image/jpeg";
  else if (ext == "gif") mime = "image/gif";
  else if (ext == "webp") mime = "image/webp";
  else
    throw InputError("image file '" + path + "': unknown image type '" + ext +
                     "' (expected .png, .jpg, .jpeg, .gif or .webp)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("image file '" + path + "': cannot be opened (missing or unreadable)");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError("image file '" + path + "': read failed");
  return "data:" + mime + ";base64," + base64(data);
}

Json UsageMetadata::to_json() const {
  Json j{{"input_tokens", input_tokens}, {"output_tokens", output_tokens}, {"total_tokens", total_tokens}};
  if (cache_read) j.set("input_token_details", Json{{"cache_read", *cache_read}});
  if (reasoning) j.set("output_token_details", Json{{"reasoning", *reasoning}});
  return j;
}

namespace {
// Counts come from servers: a sum past the range saturates instead of overflowing.
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}
}  // namespace

UsageMetadata& UsageMetadata::operator+=(const UsageMetadata& o) {
  input_tokens = saturating_add(input_tokens, o.input_tokens);
  output_tokens = saturating_add(output_tokens, o.output_tokens);
  total_tokens = saturating_add(total_tokens, o.total_tokens);
  if (o.cache_read) cache_read = saturating_add(cache_read.value_or(0), *o.cache_read);
  if (o.reasoning) reasoning = saturating_add(reasoning.value_or(0), *o.reasoning);
  return *this;
}

UsageMetadata operator+(UsageMetadata a, const UsageMetadata& b) { return a += b; }

const char* to_string(Role role) {
  switch (role) {
    case Role::system: return "system";
    case Role::human: return "human";
    case Role::ai: return "ai";
    case Role::tool: return "tool";
    case Role::generic: return "chat";
  }
  return "?";
}

namespace {

Json content_json(const Content& content) {
  if (const auto* s = std::get_if<std::string>(&content)) return Json(*s);
  Json parts = Json::array();
  for (const auto& p : std::get<std::vector<ContentPart>>(content)) {
    if (p.kind == ContentPart::Kind::text) {
      parts.push_back(Json{{"type", "text"}, {"text", p.text}});
    } else {
      Json image{{"url", p.url}};
      if (!p.detail.empty()) image.set("detail", p.detail);
      parts.push_back(Json{{"type", "image_url"}, {"image_url", image}});
    }
  }
  return parts;
}

}  // namespace

Json Message::to_json() const {
  Json j{{"type", to_string(role)}, {"content", content_json(content)}};
  if (!name.empty()) j.set("name", name);
  if (role == Role::generic) j.set("role", generic_role);
  if (role == Role::tool) j.set("tool_call_id", tool_call_id);
  if (role == Role::ai) {
    j.set("id", id.empty() ? Json() : Json(id));
    j.set("response_metadata", response_metadata);
    j.set("usage_metadata", usage_metadata ? usage_metadata->to_json() : Json());
    Json calls = Json::array();
    for (const auto& c : tool_calls) calls.push_back(Json{{"name", c.name}, {"args", c.args}, {"id", c.id}});
    j.set("tool_calls", calls);
    if (!invalid_tool_calls.empty()) {
      Json bad = Json::array();
      for (const auto& c : invalid_tool_calls)
        bad.push_back(Json{{"name", c.name}, {"args", c.args}, {"id", c.id}, {"error", c.error}});
      j.set("invalid_tool_calls", bad);
    }
  }
  return j;
}

SystemMessage::SystemMessage(Content c) {
  role = Role::system;
  content = std::move(c);
}
HumanMessage::HumanMessage(Content c) {
  role = Role::human;
  content = std::move(c);
}
AIMessage::AIMessage(Content c, std::vector<ToolCall> calls) {
  role = Role::ai;
  content = std::move(c);
  tool_calls = std::move(calls);
}
ToolMessage::ToolMessage(Content c, std::string call_id) {
  role = Role::tool;
  content = std::move(c);
  tool_call_id = std::move(call_id);
}
ChatMessage::ChatMessage(std::string r, Content c) {
  role = Role::generic;
  generic_role = std::move(r);
  content = std::move(c);
}

Message message_from_pair(std::string_view role, std::string content) {
  if (role == "system") return SystemMessage(std::move(content));
  if (role == "human" || role == "user") return HumanMessage(std::move(content));
  if (role == "ai" || role == "assistant") return AIMessage(std::move(content));
  if (role == "tool") return ToolMessage(std::move(content), "");
  throw InputError("unknown message role '" + std::string(role) +
                   "'; expected one of: system, human, user, ai, assistant, tool");
}

Messages messages_from_pairs(std::initializer_list<std::pair<std::string_view, std::string>> pairs) {
  Messages out;
  out.reserve(pairs.size());
  for (const auto& [role, content] : pairs) out.push_back(message_from_pair(role, content));
  return out;
}

void merge_metadata(Json& into, const Json& from) {
  if (!from.is_object()) return;
  if (!into.is_object()) into = Json::object();
  for (const auto& [key, value] : from.as_object()) {
    Json* existing = into.find(key);
    if (!existing || existing->is_null()) {
      into.set(key, value);
    } else if (value.is_null()) {
      continue;
    } else if (existing->is_object() && value.is_object()) {
      merge_metadata(*existing, value);
    } else if (existing->is_array() && value.is_array()) {
      for (const auto& e : value.as_array()) existing->push_back(e);
    } else {
      *existing = value;
    }
  }
}

void parse_tool_call(const std::string& name, const std::string& args, const std::string& id,
                     std::vector<ToolCall>& calls, std::vector<InvalidToolCall>& invalid) {
  if (args.find_first_not_of(" \t\r\n") == std::string::npos) {
    calls.push_back(ToolCall{name, Json::object(), id});
    return;
  }
  try {
    Json parsed = Json::parse(args);
    if (!parsed.is_object()) {
      invalid.push_back(InvalidToolCall{name, args, id,
                                        std::string("arguments are a JSON ") + to_string(parsed.type()) +
                                            ", expected an object"});
      return;
    }
    calls.push_back(ToolCall{name, std::move(parsed), id});
  } catch (const JsonError& e) {
    invalid.push_back(InvalidToolCall{name, args, id, e.what()});
  }
}

AIMessageChunk& AIMessageChunk::operator+=(const AIMessageChunk& o) {
  content += o.content;
  // A provider-assigned id wins over a generated run- id; else the first.
  const auto is_run_id = [](const std::string& s) { return s.starts_with("run-"); };
  if (id.empty() || (is_run_id(id) && !o.id.empty() && !is_run_id(o.id))) id = o.id;
  if (name.empty()) name = o.name;
  for (const auto& piece : o.tool_call_chunks) {
    auto it = std::find_if(tool_call_chunks.begin(), tool_call_chunks.end(), [&](const ToolCallChunk& c) {
      return piece.index && c.index && *c.index == *piece.index;
    });
    if (it == tool_call_chunks.end()) {
      tool_call_chunks.push_back(piece);
      continue;
    }
    // Appended in place: a copy per piece would make merging a stream of
    // small argument deltas quadratic.
    auto append = [](std::optional<std::string>& to, const std::optional<std::string>& more) {
      if (!more) return;
      if (to) *to += *more;
      else to = *more;
    };
    append(it->name, piece.name);
    append(it->args, piece.args);
    append(it->id, piece.id);
  }
  merge_metadata(response_metadata, o.response_metadata);
  if (o.usage_metadata) usage_metadata = usage_metadata.value_or(UsageMetadata{}) + *o.usage_metadata;
  return *this;
}

AIMessageChunk operator+(AIMessageChunk a, const AIMessageChunk& b) { return a += b; }

AIMessage AIMessageChunk::to_message() const {
  AIMessage m(content);
  m.id = id;
  m.name = name;
  m.response_metadata = response_metadata;
  m.usage_metadata = usage_metadata;
  for (const auto& c : tool_call_chunks)
    parse_tool_call(c.name.value_or(""), c.args.value_or(""), c.id.value_or(""), m.tool_calls,
                    m.invalid_tool_calls);
  return m;
}

}  // namespace chainpp
