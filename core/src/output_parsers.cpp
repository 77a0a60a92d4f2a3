#include <chainpp/errors.hpp>
#include <chainpp/output_parsers.hpp>

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace chainpp {

namespace {

// ---------------------------------------------------------------- input

std::string input_text(const Value& input, const char* parser) {
  switch (input.kind()) {
    case Value::Kind::text: return input.as_text();
    case Value::Kind::message: return input.as_message().text();
    case Value::Kind::chunk: return input.as_chunk().content;
    case Value::Kind::json:
      if (input.as_json().is_string()) return input.as_json().as_string();
      break;
    default: break;
  }
  throw InputError(std::string(parser) + " expects text, a message or a chunk, got " + to_string(input.kind()));
}

// Keeps a shared-owned runnable alive while a stream it returned is read.
std::shared_ptr<const Runnable> keep_alive(const Runnable* r) { return r->weak_from_this().lock(); }

// ---------------------------------------------------------------- JSON text

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Where a fenced block's body ends: the first run of `fence` backticks outside a
// JSON string, so backticks and fences inside string values are content.
std::size_t fence_end(std::string_view body, std::size_t fence) {
  const std::string_view closing = std::string_view("```").substr(0, fence);
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (body.substr(i, closing.size()) == closing) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The body of a fenced block starting at a run of backticks: after the info
// string ("json"), up to the closing fence or the end.
std::string_view fence_body(std::string_view f) {
  std::size_t fence = 0;
  while (fence < f.size() && f[fence] == '`') ++fence;
  f.remove_prefix(fence);
  while (!f.empty() && std::isalpha(static_cast<unsigned char>(f.front()))) f.remove_prefix(1);
  return trim(f.substr(0, fence_end(f, std::min<std::size_t>(fence, 3))));
}

// Where the JSON is in a model's output: the trimmed text when it starts as JSON
// does, else the body of the block the first fence opens (as LangChain's
// parse_json_markdown: the whole text first, then the fenced block).
std::string_view json_body(std::string_view raw) {
  std::string_view t = trim(raw);
  if (t.substr(0, 3) == "```" || t.substr(0, 2) == "`{" || t.substr(0, 2) == "`[") return fence_body(t);
  if (!t.empty() && std::string_view("{[\"-0123456789").find(t.front()) != std::string_view::npos) return t;
  for (std::string_view literal : {"true", "false", "null"})
    if (!t.empty() && literal.substr(0, t.size()) == t.substr(0, literal.size())) return t;
  auto fence = t.find("```");
  return fence == std::string_view::npos ? t : fence_body(t.substr(fence));
}

struct ParseFailure {
  std::size_t offset;
  std::string what;
};

// A JSON parser for model output. Strict mode reads one complete value. Partial
// mode reads a prefix of one, as far as it goes: open strings, arrays and
// objects are closed, and a member whose key or value is incomplete is left
// out (an incomplete string value is kept). Scalars are decoded by Json::parse.
// Raw control characters inside strings are accepted (models write raw newlines).
class JsonScanner {
public:
  JsonScanner(std::string_view text, std::size_t base, bool partial) : s_(text), base_(base), partial_(partial) {}

  std::optional<Json> document() {
    auto v = value();
    if (!v) return std::nullopt;
    if (!truncated_) {
      skip_ws();
      if (i_ < s_.size() && !partial_) fail("unexpected text after the JSON value");
    }
    return v;
  }

private:
  [[noreturn]] void fail(const std::string& what) { fail_at(i_, what); }
  [[noreturn]] void fail_at(std::size_t at, const std::string& what) { throw ParseFailure{base_ + at, what}; }

  void skip_ws() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  // At the end of the text: an error when strict, the end of what can be read when partial.
  bool at_end() {
    if (i_ < s_.size()) return false;
    if (!partial_) fail("unexpected end of input");
    truncated_ = true;
    return true;
  }

  std::optional<Json> value() {
    skip_ws();
    if (at_end()) return std::nullopt;
    char c = s_[i_];
    if (c == '{' || c == '[') {
      if (depth_ == kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
      ++depth_;
      Json v = c == '{' ? object() : array();
      --depth_;
      return v;
    }
    if (c == '"') return string();
    if (c == '-' || std::isalnum(static_cast<unsigned char>(c))) return scalar();
    fail(std::string("unexpected character '") + c + "'");
  }

  Json object() {
    Json obj = Json::object();
    ++i_;
    for (bool first = true;; first = false) {
      skip_ws();
      if (at_end()) return obj;
      if (first && s_[i_] == '}') {
        ++i_;
        return obj;
      }
      if (s_[i_] != '"') fail(first ? "expected a string key or '}'" : "expected a string key");
      Json key = string();
      if (truncated_) return obj;
      skip_ws();
      if (at_end()) return obj;
      if (s_[i_] != ':') fail("expected ':' after an object key");
      ++i_;
      auto v = value();
      if (!v) return obj;
      obj.set(key.as_string(), std::move(*v));
      if (truncated_) return obj;
      skip_ws();
      if (at_end()) return obj;
      if (s_[i_] == '}') {
        ++i_;
        return obj;
      }
      if (s_[i_] != ',') fail("expected ',' or '}' after an object member");
      ++i_;
    }
  }

  Json array() {
    Json arr = Json::array();
    ++i_;
    for (bool first = true;; first = false) {
      skip_ws();
      if (at_end()) return arr;
      if (first && s_[i_] == ']') {
        ++i_;
        return arr;
      }
      auto v = value();
      if (!v) return arr;
      arr.push_back(std::move(*v));
      if (truncated_) return arr;
      skip_ws();
      if (at_end()) return arr;
      if (s_[i_] == ']') {
        ++i_;
        return arr;
      }
      if (s_[i_] != ',') fail("expected ',' or ']' after an array element");
      ++i_;
    }
  }

  Json string() {
    const std::size_t start = i_++;
    std::string token = "\"";
    std::size_t cut = std::string::npos;  // where an incomplete escape at the end starts (in token)
    for (;;) {
      if (i_ >= s_.size()) {
        if (!partial_) fail_at(start, "unterminated string");
        truncated_ = true;
        if (cut != std::string::npos) token.resize(cut);
        break;
      }
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        break;
      }
      if (c == '\\') {
        std::size_t need = i_ + 1 < s_.size() && s_[i_ + 1] == 'u' ? 6 : 2;
        // A high surrogate needs its low half: keep the pair together.
        if (need == 6 && i_ + 6 <= s_.size() && (s_[i_ + 2] == 'd' || s_[i_ + 2] == 'D') &&
            std::string_view("89abAB").find(s_[i_ + 3]) != std::string_view::npos &&
            (i_ + 6 == s_.size() || (s_[i_ + 6] == '\\' && (i_ + 7 == s_.size() || s_[i_ + 7] == 'u'))))
          need = 12;
        cut = i_ + need > s_.size() ? token.size() : std::string::npos;
        std::size_t take = std::min(need, s_.size() - i_);
        token.append(s_.substr(i_, take));
        i_ += take;
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        static const char hex[] = "0123456789abcdef";
        token += "\\u00";
        token += hex[(c >> 4) & 0xf];
        token += hex[c & 0xf];
      } else {
        token += c;
      }
      ++i_;
    }
    token += '"';
    try {
      return Json::parse(token);
    } catch (const JsonError&) {
      fail_at(start, "invalid string");
    }
  }

  std::optional<Json> scalar() {
    const std::size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '+' ||
                              s_[i_] == '.'))
      ++i_;
    std::string_view token = s_.substr(start, i_ - start);
    if (partial_ && i_ >= s_.size()) {
      // Possibly cut short: use the longest prefix that is a value ("1." -> 1, "tr" -> nothing).
      truncated_ = true;
      for (; !token.empty(); token.remove_suffix(1)) {
        if (auto v = parse_scalar(token)) return v;
      }
      return std::nullopt;
    }
    if (auto v = parse_scalar(token)) return v;
    fail_at(start, "invalid value '" + std::string(token) + "'");
  }

  static std::optional<Json> parse_scalar(std::string_view token) {
    try {
      return Json::parse(token);
    } catch (const JsonError&) {
      return std::nullopt;
    }
  }

  static constexpr int kMaxDepth = 512;

  std::string_view s_;
  std::size_t base_;
  int depth_ = 0;
  bool partial_;
  bool truncated_ = false;
  std::size_t i_ = 0;
};

// ---------------------------------------------------------------- JSON Schema

template <class Handler>
bool emit(const Json& j, Handler& h) {
  using rapidjson::SizeType;
  switch (j.type()) {
    case Json::Type::null: return h.Null();
    case Json::Type::boolean: return h.Bool(j.as_bool());
    case Json::Type::integer: return h.Int64(j.as_int());
    case Json::Type::number: return h.Double(j.as_double());
    case Json::Type::string: {
      const auto& s = j.as_string();
      return h.String(s.data(), static_cast<SizeType>(s.size()), true);
    }
    case Json::Type::array: {
      const auto& a = j.as_array();
      if (!h.StartArray()) return false;
      for (const auto& e : a)
        if (!emit(e, h)) return false;
      return h.EndArray(static_cast<SizeType>(a.size()));
    }
    case Json::Type::object: {
      const auto& o = j.as_object();
      if (!h.StartObject()) return false;
      for (const auto& [k, v] : o)
        if (!h.Key(k.data(), static_cast<SizeType>(k.size()), true) || !emit(v, h)) return false;
      return h.EndObject(static_cast<SizeType>(o.size()));
    }
  }
  return false;
}

struct Generator {
  const Json& json;
  template <class Handler>
  bool operator()(Handler& h) {
    return emit(json, h);
  }
};

std::string pointer_text(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer sb;
  p.Stringify(sb);
  return std::string(sb.GetString(), sb.GetSize());
}

// The node at a JSON pointer ("/a/0/b"), or nullptr.
const Json* at_pointer(const Json& root, const std::string& pointer) {
  const Json* node = &root;
  std::size_t pos = 0;
  while (pos < pointer.size() && node) {
    std::size_t end = pointer.find('/', pos + 1);
    std::string token = pointer.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    std::string key;
    for (std::size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        key += token[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        key += token[i];
      }
    }
    if (node->is_object()) {
      node = node->find(key);
    } else if (node->is_array() && !key.empty() &&
               std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      std::size_t index = std::strtoull(key.c_str(), nullptr, 10);
      node = index < node->size() ? &node->at(index) : nullptr;
    } else {
      node = nullptr;
    }
    pos = end == std::string::npos ? pointer.size() : end;
  }
  return node;
}

// The last reference token of a JSON pointer, unescaped.
std::string last_token(const std::string& pointer) {
  std::string raw = pointer.substr(pointer.rfind('/') + 1), out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '~' && i + 1 < raw.size()) {
      out += raw[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += raw[i];
    }
  }
  return out;
}

std::string short_dump(const Json& j) {
  std::string s = j.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::string describe(const std::string& keyword, const Json* rule_schema, const Json* instance,
                     const std::string& instance_pointer) {
  const Json* rule = rule_schema && rule_schema->is_object() ? rule_schema->find(keyword) : nullptr;
  if (keyword == "type" && rule && instance) {
    std::string expected;
    if (rule->is_array()) {
      for (const auto& t : rule->as_array()) {
        if (!expected.empty()) expected += " or ";
        expected += t.is_string() ? t.as_string() : t.dump();
      }
    } else {
      expected = rule->is_string() ? rule->as_string() : rule->dump();
    }
    return "'type' expected " + expected + ", got " + to_string(instance->type());
  }
  if (keyword == "required" && rule && rule->is_array() && instance && instance->is_object()) {
    for (const auto& name : rule->as_array())
      if (name.is_string() && !instance->contains(name.as_string()))
        return "'required' property '" + name.as_string() + "' is missing";
  }
  // RapidJSON reports an unexpected member at the member's own pointer.
  if (keyword == "additionalProperties" && !instance_pointer.empty())
    return "'additionalProperties' property '" + last_token(instance_pointer) + "' is not allowed";
  if (keyword == "enum" && rule && instance)
    return "'enum' value " + short_dump(*instance) + " is not one of " + short_dump(*rule);
  std::string out = "'" + keyword + "'";
  if (rule) out += " " + short_dump(*rule);
  if (instance) out += " not satisfied by " + short_dump(*instance);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- parse functions

Json parse_json_output(std::string_view text) {
  std::string_view body = json_body(text);
  try {
    return *JsonScanner(body, static_cast<std::size_t>(body.data() - text.data()), false).document();
  } catch (const ParseFailure& f) {
    throw OutputParserError("invalid JSON output at offset " + std::to_string(f.offset) + ": " + f.what,
                            std::string(text));
  }
}

std::optional<Json> parse_partial_json_output(std::string_view text) {
  std::string_view body = json_body(text);
  try {
    return JsonScanner(body, 0, true).document();
  } catch (const ParseFailure&) {
    return std::nullopt;
  }
}

// ---------------------------------------------------------------- StrOutputParser

Value StrOutputParser::do_invoke(const Value& input, const RunConfig&) const {
  return Value(input_text(input, "StrOutputParser"));
}

Stream<Value> StrOutputParser::do_transform(Stream<Value> input, const RunConfig&) const {
  return std::move(input).map([](Value piece) { return Value(input_text(piece, "StrOutputParser")); });
}

// ---------------------------------------------------------------- JsonOutputParser

Value JsonOutputParser::do_invoke(const Value& input, const RunConfig&) const {
  std::string text = input_text(input, name().c_str());
  Json value = parse_json_output(text);
  check(value, text);
  return Value::json(std::move(value));
}

void JsonOutputParser::check(const Json&, const std::string&) const {}

Stream<Value> JsonOutputParser::do_transform(Stream<Value> input, const RunConfig&) const {
  struct State {
    Stream<Value> input;
    std::shared_ptr<const Runnable> keep;
    const JsonOutputParser* self;
    std::string text;
    std::optional<Json> last;
    bool done = false;
  };
  auto st = std::make_shared<State>(State{std::move(input), keep_alive(this), this, {}, std::nullopt, false});
  return Stream<Value>([st]() -> std::optional<Value> {
    while (!st->done) {
      auto piece = st->input.next();
      if (!piece) {
        st->done = true;
        Json value = parse_json_output(st->text);
        st->self->check(value, st->text);
        if (st->last && *st->last == value) return std::nullopt;
        return Value::json(std::move(value));
      }
      st->text += input_text(*piece, st->self->name().c_str());
      auto value = parse_partial_json_output(st->text);
      if (value && (!st->last || *st->last != *value)) {
        st->last = *value;
        return Value::json(std::move(*value));
      }
    }
    return std::nullopt;
  });
}

// ---------------------------------------------------------------- JsonSchema

struct JsonSchema::Impl {
  Json schema;
  rapidjson::Document document;
  std::unique_ptr<rapidjson::SchemaDocument> compiled;
};

JsonSchema::JsonSchema(Json schema) {
  if (!schema.is_object())
    throw InputError(std::string("JSON schema must be an object, got ") + to_string(schema.type()));
  auto impl = std::make_shared<Impl>();
  impl->schema = std::move(schema);
  Generator g{impl->schema};
  impl->document.Populate(g);
  impl->compiled = std::make_unique<rapidjson::SchemaDocument>(impl->document);
  impl_ = std::move(impl);
}

const Json& JsonSchema::schema() const { return impl_->schema; }

std::optional<std::string> JsonSchema::violation(const Json& value) const {
  rapidjson::SchemaValidator validator(*impl_->compiled);
  if (emit(value, validator) && validator.IsValid()) return std::nullopt;
  std::string instance_pointer = pointer_text(validator.GetInvalidDocumentPointer());
  std::string schema_pointer = pointer_text(validator.GetInvalidSchemaPointer());
  const char* keyword = validator.GetInvalidSchemaKeyword();
  return "JSON schema violation at " + (instance_pointer.empty() ? std::string("(root)") : instance_pointer) +
         ": " +
         describe(keyword ? keyword : "", at_pointer(impl_->schema, schema_pointer),
                  at_pointer(value, instance_pointer), instance_pointer);
}

void JsonSchema::validate(const Json& value) const {
  if (auto v = violation(value)) throw OutputParserError(*v, value.dump());
}

std::optional<std::string> schema_violation(const Json& value, const Json& schema) {
  return JsonSchema(schema).violation(value);
}

void validate_json(const Json& value, const Json& schema) { JsonSchema(schema).validate(value); }

void JsonSchemaOutputParser::check(const Json& value, const std::string& llm_output) const {
  if (auto v = schema_.violation(value)) throw OutputParserError(*v, llm_output);
}

}  // namespace chainpp
