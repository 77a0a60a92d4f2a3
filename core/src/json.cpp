#include <chainpp/errors.hpp>
#include <chainpp/json.hpp>

#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <unordered_map>
#include <cmath>
#include <cstring>
#include <system_error>
#include <string>

namespace chainpp {

namespace {

// SAX handler building a Json tree from RapidJSON's reader events.
class Builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Builder> {
public:
  /// Deeper input is refused: it would exhaust the stack (the reader and ~Json recurse).
  static constexpr std::size_t max_depth = 512;
  Json root;
  bool too_deep = false;

  bool Null() { return add(Json()); }
  bool Bool(bool b) { return add(Json(b)); }
  bool Int(int i) { return add(Json(i)); }
  bool Uint(unsigned u) { return add(Json(static_cast<long long>(u))); }
  bool Int64(int64_t i) { return add(Json(static_cast<long long>(i))); }
  bool Uint64(uint64_t u) {
    if (u > static_cast<uint64_t>(INT64_MAX)) return add(Json(static_cast<double>(u)));
    return add(Json(static_cast<long long>(u)));
  }
  bool Double(double d) { return add(Json(d)); }
  // Numbers arrive as text (kParseNumbersAsStringsFlag) and are converted here
  // exactly: integers that fit as int64, everything else by correctly rounded
  // from_chars, so that dump() and parse() round-trip every value.
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    const char* end = str + len;
    if (std::find_if(str, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      std::int64_t i = 0;
      auto r = std::from_chars(str, end, i);
      if (r.ec == std::errc() && r.ptr == end) return add(Json(static_cast<long long>(i)));
    }
    double d = 0;
    auto r = std::from_chars(str, end, d);
    if (r.ec == std::errc::result_out_of_range) {
      // RapidJSON refuses numbers too big for a double; what is left is underflow.
      d = 0.0;
    } else if (r.ec != std::errc() || r.ptr != end) {
      return false;
    }
    return add(Json(d));
  }
  // The reader checks the raw bytes, but RapidJSON 1.1 turns a lone low
  // surrogate escape ("\udc00") into bytes that are not UTF-8 (found by fuzzing).
  bool String(const char* s, rapidjson::SizeType n, bool) {
    if (!valid_text(s, n)) return false;
    return add(Json(std::string(s, n)));
  }
  bool StartObject() { return push(Json::object()); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (!valid_text(s, n)) return false;
    key_ = std::string(s, n);
    return true;
  }
  bool lone_surrogate = false;
  bool EndObject(rapidjson::SizeType) { return pop(); }
  bool StartArray() { return push(Json::array()); }
  bool EndArray(rapidjson::SizeType) { return pop(); }

private:
  std::vector<Json*> stack_;
  std::string key_;

  bool valid_text(const char* s, rapidjson::SizeType n) {
    if (utf8_error_offset(std::string_view(s, n)) == std::string_view::npos) return true;
    lone_surrogate = true;
    return false;
  }

  Json* place(Json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    Json& top = *stack_.back();
    if (top.is_array()) {
      top.as_array().push_back(std::move(v));
      return &top.as_array().back();
    }
    JsonObject& members = top.as_object();
    // A repeated name keeps its first place and takes the last value, as
    // JavaScript's JSON.parse and Python's json do. Objects of up to
    // kIndexFrom members are searched; larger ones get an index.
    if (members.size() < kIndexFrom) {
      for (auto& [name, value] : members)
        if (name == key_) return &(value = std::move(v));
    } else {
      auto& index = index_of(members);
      if (const auto it = index.find(key_); it != index.end()) return &(members[it->second].second = std::move(v));
      index.emplace(key_, members.size());
    }
    members.emplace_back(std::move(key_), std::move(v));
    return &members.back().second;
  }

  static constexpr std::size_t kIndexFrom = 16;
  // The name index of an object being built with kIndexFrom members or more.
  std::unordered_map<std::string, std::size_t>& index_of(const JsonObject& members) {
    auto& index = indexes_[&members];
    if (index.empty())
      for (std::size_t i = 0; i < members.size(); ++i) index.emplace(members[i].first, i);
    return index;
  }
  std::unordered_map<const JsonObject*, std::unordered_map<std::string, std::size_t>> indexes_;
  bool add(Json v) {
    place(std::move(v));
    return true;
  }
  bool push(Json v) {
    if (stack_.size() >= max_depth) {
      too_deep = true;
      return false;
    }
    stack_.push_back(place(std::move(v)));
    return true;
  }
  bool pop() {
    if (!indexes_.empty() && stack_.back()->is_object()) indexes_.erase(&stack_.back()->as_object());
    stack_.pop_back();
    return true;
  }
};

template <class Writer>
void write(Writer& w, const Json& j) {
  switch (j.type()) {
    case Json::Type::null: w.Null(); break;
    case Json::Type::boolean: w.Bool(j.as_bool()); break;
    case Json::Type::integer: w.Int64(j.as_int()); break;
    case Json::Type::number: {
      double d = j.as_double();
      if (std::isfinite(d)) w.Double(d);
      else w.Null();
      break;
    }
    case Json::Type::string:
      w.String(j.as_string().data(), static_cast<rapidjson::SizeType>(j.as_string().size()));
      break;
    case Json::Type::array:
      w.StartArray();
      for (const auto& e : j.as_array()) write(w, e);
      w.EndArray();
      break;
    case Json::Type::object:
      w.StartObject();
      for (const auto& [k, v] : j.as_object()) {
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        write(w, v);
      }
      w.EndObject();
      break;
  }
}

[[noreturn]] void type_error(const char* wanted, Json::Type actual) {
  throw JsonError(std::string("JSON value is ") + to_string(actual) + ", expected " + wanted);
}

}  // namespace

const char* to_string(Json::Type type) {
  switch (type) {
    case Json::Type::null: return "null";
    case Json::Type::boolean: return "boolean";
    case Json::Type::integer: return "integer";
    case Json::Type::number: return "number";
    case Json::Type::string: return "string";
    case Json::Type::array: return "array";
    case Json::Type::object: return "object";
  }
  return "?";
}

std::size_t utf8_error_offset(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    // Runs of ASCII, eight bytes at a time (most JSON text is ASCII).
    for (std::uint64_t word; s.size() - i >= sizeof word; i += sizeof word) {
      std::memcpy(&word, s.data() + i, sizeof word);
      if (word & 0x8080808080808080u) break;
    }
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t more = 0;             // continuation bytes
    unsigned char lo = 0x80, hi = 0xBF;  // range of the first continuation byte
    if (c >= 0xC2 && c <= 0xDF) more = 1;
    else if (c == 0xE0) more = 2, lo = 0xA0;        // no overlong forms
    else if (c == 0xED) more = 2, hi = 0x9F;        // no UTF-16 surrogates
    else if (c >= 0xE1 && c <= 0xEF) more = 2;
    else if (c == 0xF0) more = 3, lo = 0x90;        // no overlong forms
    else if (c >= 0xF1 && c <= 0xF3) more = 3;
    else if (c == 0xF4) more = 3, hi = 0x8F;        // nothing past U+10FFFF
    else return i;
    if (s.size() - i <= more) return i;
    for (std::size_t k = 1; k <= more; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
    }
    i += more + 1;
  }
  return std::string_view::npos;
}

Json::Json(std::initializer_list<std::pair<const char*, Json>> members) : v_(JsonObject{}) {
  auto& o = std::get<JsonObject>(v_);
  o.reserve(members.size());
  for (const auto& [k, v] : members) o.emplace_back(k, v);
}

Json Json::array(std::initializer_list<Json> items) { return Json(JsonArray(items)); }

Json Json::parse(std::string_view text) {
  Builder builder;
  rapidjson::Reader reader;
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
  // Numbers as strings, converted by RawNumber: RapidJSON 1.1's own number
  // paths misread some (0e100 with kParseFullPrecisionFlag; Tencent/rapidjson
  // #1249, #2326) or round inexactly without it (found by fuzzing).
  // Strings must be valid UTF-8: what is parsed is written out again as JSON.
  auto ok = reader.Parse<rapidjson::kParseNanAndInfFlag | rapidjson::kParseNumbersAsStringsFlag |
                         rapidjson::kParseValidateEncodingFlag>(is, builder);
  if (builder.lone_surrogate) {
    throw JsonError("invalid JSON at offset " + std::to_string(ok.Offset()) +
                    ": a \\u escape is a lone UTF-16 surrogate");
  }
  if (builder.too_deep) {
    throw JsonError("invalid JSON at offset " + std::to_string(ok.Offset()) + ": nesting deeper than " +
                    std::to_string(Builder::max_depth) + " levels");
  }
  if (ok.IsError()) {
    throw JsonError("invalid JSON at offset " + std::to_string(ok.Offset()) + ": " +
                    rapidjson::GetParseError_En(ok.Code()));
  }
  return std::move(builder.root);
}

std::string Json::dump(int indent) const {
  rapidjson::StringBuffer buf;
  if (indent < 0) {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    write(w, *this);
  } else {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', static_cast<unsigned>(indent));
    write(w, *this);
  }
  return std::string(buf.GetString(), buf.GetSize());
}

bool Json::as_bool() const {
  if (!is_bool()) type_error("boolean", type());
  return std::get<bool>(v_);
}
std::int64_t Json::as_int() const {
  if (is_integer()) return std::get<std::int64_t>(v_);
  if (type() == Type::number) {
    double d = std::get<double>(v_);
    if (std::floor(d) == d && std::abs(d) < 9.2e18) return static_cast<std::int64_t>(d);
  }
  type_error("integer", type());
}
double Json::as_double() const {
  if (is_integer()) return static_cast<double>(std::get<std::int64_t>(v_));
  if (type() == Type::number) return std::get<double>(v_);
  type_error("number", type());
}
const std::string& Json::as_string() const {
  if (!is_string()) type_error("string", type());
  return std::get<std::string>(v_);
}
const JsonArray& Json::as_array() const {
  if (!is_array()) type_error("array", type());
  return std::get<JsonArray>(v_);
}
JsonArray& Json::as_array() {
  if (!is_array()) type_error("array", type());
  return std::get<JsonArray>(v_);
}
const JsonObject& Json::as_object() const {
  if (!is_object()) type_error("object", type());
  return std::get<JsonObject>(v_);
}
JsonObject& Json::as_object() {
  if (!is_object()) type_error("object", type());
  return std::get<JsonObject>(v_);
}

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : std::get<JsonObject>(v_))
    if (k == key) return &v;
  return nullptr;
}
Json* Json::find(std::string_view key) {
  return const_cast<Json*>(static_cast<const Json*>(this)->find(key));
}
const Json& Json::at(std::string_view key) const {
  if (!is_object()) type_error("object", type());
  if (const Json* j = find(key)) return *j;
  throw JsonError("JSON object has no member '" + std::string(key) + "'");
}
Json& Json::operator[](std::string_view key) {
  if (is_null()) v_ = JsonObject{};
  if (Json* j = find(key)) return *j;
  auto& o = as_object();
  o.emplace_back(std::string(key), Json());
  return o.back().second;
}
const Json& Json::at(std::size_t index) const {
  const auto& a = as_array();
  if (index >= a.size())
    throw JsonError("JSON array index " + std::to_string(index) + " out of range (size " +
                    std::to_string(a.size()) + ")");
  return a[index];
}
void Json::push_back(Json value) {
  if (is_null()) v_ = JsonArray{};
  as_array().push_back(std::move(value));
}
void Json::set(std::string_view key, Json value) { (*this)[key] = std::move(value); }
bool Json::erase(std::string_view key) {
  if (!is_object()) return false;
  auto& o = std::get<JsonObject>(v_);
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (it->first == key) {
      o.erase(it);
      return true;
    }
  }
  return false;
}
std::size_t Json::size() const {
  if (is_array()) return std::get<JsonArray>(v_).size();
  if (is_object()) return std::get<JsonObject>(v_).size();
  return 0;
}

std::string Json::value(std::string_view key, const char* fallback) const {
  const Json* j = find(key);
  return j && j->is_string() ? j->as_string() : std::string(fallback);
}
std::int64_t Json::value(std::string_view key, std::int64_t fallback) const {
  const Json* j = find(key);
  return j && j->is_number() ? j->as_int() : fallback;
}
bool Json::value(std::string_view key, bool fallback) const {
  const Json* j = find(key);
  return j && j->is_bool() ? j->as_bool() : fallback;
}

bool operator==(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number() && a.type() != b.type()) return a.as_double() == b.as_double();
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    // Member order does not matter for equality.
    const auto& x = a.as_object();
    const auto& y = b.as_object();
    if (x.size() != y.size()) return false;
    // A repeated name (which parsed text may have) matches any member of
    // that name, so that every object equals itself.
    for (const auto& member : x) {
      const auto same = [&](const auto& m) { return m.first == member.first && m.second == member.second; };
      if (std::none_of(y.begin(), y.end(), same)) return false;
    }
    return true;
  }
  return a.v_ == b.v_;
}

}  // namespace chainpp
