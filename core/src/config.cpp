#include <chainpp/config.hpp>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace chainpp {

namespace detail {

struct ConfigData {
  struct Entry {
    std::string key;
    SourceLocation key_location;
    ConfigNode value;
  };

  ConfigNode::Kind kind = ConfigNode::Kind::null;
  SourceLocation location;
  std::string path;
  std::string scalar;
  bool quoted = false;  ///< a quoted YAML scalar or a JSON string: always a string
  std::vector<ConfigNode> items;
  std::vector<Entry> entries;

  static ConfigNode wrap(std::shared_ptr<const ConfigData> data) { return ConfigNode(std::move(data)); }
};

}  // namespace detail

using detail::ConfigData;

std::string SourceLocation::to_string() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string located(const SourceLocation& where, const std::string& message) {
  std::string prefix = where.to_string();
  if (prefix.empty()) return message;
  return prefix + ": " + message;
}

namespace {

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

const std::shared_ptr<const ConfigData>& null_data() {
  static const std::shared_ptr<const ConfigData> data = std::make_shared<ConfigData>();
  return data;
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string subject(const std::string& path) { return path.empty() ? std::string("value") : path; }

bool is_null_text(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  std::string_view digits = s;
  if (digits.front() == '+' || digits.front() == '-') {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
    base = digits[1] == 'x' ? 16 : 8;
    digits.remove_prefix(2);
  }
  if (digits.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (negative) {
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) return std::nullopt;
    return static_cast<std::int64_t>(0 - value);
  }
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

// Decimal digits with an optional sign: an integer, however large.
bool is_integer_text(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<double> parse_double(std::string_view s) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return std::numeric_limits<double>::infinity();
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  if (auto i = parse_int(s)) return static_cast<double>(*i);
  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  std::string copy(s);
  return std::strtod(copy.c_str(), nullptr);
}

// Expands ${VAR} and ${VAR:-default}; `$${` is a literal `${`.
std::string expand_environment(const std::string& text, const SourceLocation& where) {
  if (text.find('$') == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    std::size_t close = text.find('}', i + 2);
    if (close == std::string::npos) throw ConfigError(located(where, "unterminated '${' in value"));
    std::string body = text.substr(i + 2, close - i - 2);
    std::string name = body;
    std::optional<std::string> fallback;
    if (auto sep = body.find(":-"); sep != std::string::npos) {
      name = body.substr(0, sep);
      fallback = body.substr(sep + 2);
    }
    bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                 std::all_of(name.begin(), name.end(),
                             [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
    if (!valid) throw ConfigError(located(where, "invalid environment variable reference '${" + body + "}'"));
    const char* value = std::getenv(name.c_str());
    if (value && *value) {
      out += value;
    } else if (fallback) {
      out += *fallback;
    } else if (value) {
      out += value;  // set but empty, no default: empty
    } else {
      throw ConfigError(located(where, "environment variable '" + name + "' is not set"));
    }
    i = close + 1;
  }
  return out;
}

SourceLocation mark_location(const YAML::Mark& mark, const std::string& file, const SourceLocation& fallback) {
  if (mark.line < 0) return fallback;
  return SourceLocation{file, mark.line + 1, mark.column + 1};
}

// Limits against hostile input: aliases may repeat a subtree exponentially
// ("billion laughs") or refer to themselves.
constexpr std::size_t max_values = 1'000'000;
constexpr int max_depth = 200;

struct YamlReader {
  std::string file;
  std::size_t values = 0;
};

ConfigNode from_yaml(const YAML::Node& node, YamlReader& reader, const std::string& path,
                     const SourceLocation& fallback, int depth) {
  const std::string& file = reader.file;
  if (++reader.values > max_values)
    throw ConfigError(located(fallback, "the configuration has more than " + std::to_string(max_values) +
                                            " values (aliases repeating a subtree?)"));
  if (depth > max_depth)
    throw ConfigError(located(fallback, "the configuration is nested more than " + std::to_string(max_depth) +
                                            " levels deep"));
  auto data = std::make_shared<ConfigData>();
  data->location = mark_location(node.Mark(), file, fallback);
  data->path = path;
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      data->kind = ConfigNode::Kind::null;
      break;
    case YAML::NodeType::Scalar:
      data->kind = ConfigNode::Kind::scalar;
      data->quoted = node.Tag() == "!";
      data->scalar = expand_environment(node.Scalar(), data->location);
      break;
    case YAML::NodeType::Sequence: {
      data->kind = ConfigNode::Kind::list;
      std::size_t index = 0;
      for (const auto& item : node) {
        data->items.push_back(
            from_yaml(item, reader, path + "[" + std::to_string(index++) + "]", data->location, depth + 1));
      }
      break;
    }
    case YAML::NodeType::Map:
      data->kind = ConfigNode::Kind::map;
      std::map<std::string, int> seen;  // key -> line
      for (const auto& kv : node) {
        SourceLocation key_location = mark_location(kv.first.Mark(), file, data->location);
        if (!kv.first.IsScalar()) throw ConfigError(located(key_location, "a key must be a plain string"));
        std::string key = kv.first.Scalar();
        if (auto [it, fresh] = seen.emplace(key, key_location.line); !fresh) {
          throw ConfigError(located(key_location, "duplicate key '" + key + "' (first defined at line " +
                                                      std::to_string(it->second) + ")"));
        }
        data->entries.push_back(
            {key, key_location, from_yaml(kv.second, reader, child_path(path, key), key_location, depth + 1)});
      }
      break;
  }
  return ConfigData::wrap(std::move(data));
}

ConfigNode from_json_value(const Json& value, const std::string& origin, const std::string& path) {
  auto data = std::make_shared<ConfigData>();
  data->location = SourceLocation{origin, 0, 0};
  data->path = path;
  switch (value.type()) {
    case Json::Type::null:
      data->kind = ConfigNode::Kind::null;
      break;
    case Json::Type::boolean:
      data->kind = ConfigNode::Kind::scalar;
      data->scalar = value.as_bool() ? "true" : "false";
      break;
    case Json::Type::integer:
    case Json::Type::number:
      data->kind = ConfigNode::Kind::scalar;
      data->scalar = value.dump();
      break;
    case Json::Type::string:
      data->kind = ConfigNode::Kind::scalar;
      data->scalar = value.as_string();
      data->quoted = true;
      break;
    case Json::Type::array: {
      data->kind = ConfigNode::Kind::list;
      std::size_t index = 0;
      for (const auto& item : value.as_array())
        data->items.push_back(from_json_value(item, origin, path + "[" + std::to_string(index++) + "]"));
      break;
    }
    case Json::Type::object:
      data->kind = ConfigNode::Kind::map;
      for (const auto& [key, member] : value.as_object())
        data->entries.push_back({key, data->location, from_json_value(member, origin, child_path(path, key))});
      break;
  }
  return ConfigData::wrap(std::move(data));
}

}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string> sorted = candidates;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const auto& candidate : sorted) {
    std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

ConfigNode::ConfigNode() : d_(null_data()) {}
ConfigNode::ConfigNode(std::shared_ptr<const detail::ConfigData> data) : d_(std::move(data)) {}

namespace {

// Where byte `offset` of `text` is (1-based line and column).
SourceLocation offset_location(std::string_view text, std::size_t offset, const std::string& file) {
  const std::string_view before = text.substr(0, offset);
  const std::size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
  return SourceLocation{file, static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1,
                        static_cast<int>(offset - line_start) + 1};
}

// Refuses text that is not UTF-8 YAML (a binary file, UTF-16, a stray byte)
// before the YAML reader sees it: it would pass such bytes on to prompts and
// requests, or stop with an error that does not say what is wrong.
void check_yaml_text(std::string_view text, const std::string& file) {
  const std::size_t bad = utf8_error_offset(text);
  for (std::size_t i = 0; i < text.size() && i < bad; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      throw ConfigError(located(offset_location(text, i, file),
                                std::string("control character ") + hex + ": a configuration file must be UTF-8 text"));
    }
  }
  if (bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(text[bad]));
    throw ConfigError(located(offset_location(text, bad, file),
                              std::string("invalid UTF-8 byte ") + hex + ": a configuration file must be UTF-8 text"));
  }
}

// yaml-cpp's message, with a hint when the line it points at (or the one
// before) is indented with a tab, which YAML does not allow.
std::string parser_message(std::string_view text, const YAML::Mark& mark, const std::string& message) {
  if (mark.line < 0) return message;
  std::vector<std::string_view> lines;  // lines 0 .. mark.line
  for (std::size_t at = 0; lines.size() <= static_cast<std::size_t>(mark.line) && at <= text.size();) {
    const std::size_t nl = std::min(text.find('\n', at), text.size());
    lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  for (std::size_t back = 0; back < 2 && back < lines.size(); ++back) {
    const std::string_view line = lines[lines.size() - 1 - back];
    if (line.substr(0, line.find_first_not_of(" \t")).find('\t') != std::string_view::npos)
      return message + " (line " + std::to_string(lines.size() - back) +
             " is indented with a tab; YAML indents with spaces only)";
  }
  return message;
}

}  // namespace

ConfigNode ConfigNode::parse_yaml(std::string_view text, const std::string& file_name) {
  check_yaml_text(text, file_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {  // its own message is "bad file"; its limit is past ours
    throw ConfigError(located(mark_location(e.mark, file_name, {file_name, 0, 0}),
                              "the configuration is nested more than " + std::to_string(max_depth) + " levels deep"));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(located(mark_location(e.mark, file_name, {file_name, 0, 0}), parser_message(text, e.mark, e.msg)));
  } catch (const YAML::Exception& e) {
    throw ConfigError(located(mark_location(e.mark, file_name, {file_name, 0, 0}), e.msg));
  }
  try {
    YamlReader reader{file_name};
    return from_yaml(root, reader, "", SourceLocation{file_name, 1, 1}, 0);
  } catch (const YAML::Exception& e) {
    throw ConfigError(located(mark_location(e.mark, file_name, {file_name, 0, 0}), e.msg));
  }
}

ConfigNode ConfigNode::load_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ConfigError(path + ": is a directory, not a configuration file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open configuration file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_yaml(text.str(), path);
}

ConfigNode ConfigNode::from_json(const Json& value, const std::string& origin) {
  return from_json_value(value, origin, "");
}

ConfigNode::Kind ConfigNode::kind() const { return d_->kind; }
const SourceLocation& ConfigNode::location() const { return d_->location; }
const std::string& ConfigNode::path() const { return d_->path; }

ConfigError ConfigNode::error(const std::string& message) const { return ConfigError(located(d_->location, message)); }
void ConfigNode::fail(const std::string& message) const { throw error(message); }

const std::string& ConfigNode::as_string() const {
  if (!is_scalar()) fail(subject(path()) + " must be a string");
  return d_->scalar;
}

double ConfigNode::as_double() const {
  std::optional<double> v;
  if (is_scalar() && !d_->quoted) v = parse_double(d_->scalar);
  if (!v) fail(subject(path()) + " must be a number");
  // No setting means anything by .nan or .inf, and comparisons with NaN let it
  // pass every range check.
  if (!std::isfinite(*v)) fail(subject(path()) + " must be a finite number");
  return *v;
}

std::int64_t ConfigNode::as_int() const {
  std::optional<std::int64_t> v;
  if (is_scalar() && !d_->quoted) v = parse_int(d_->scalar);
  if (!v) {
    if (is_scalar() && !d_->quoted && is_integer_text(d_->scalar))
      fail(subject(path()) + " must be an integer between " + std::to_string(std::numeric_limits<std::int64_t>::min()) +
           " and " + std::to_string(std::numeric_limits<std::int64_t>::max()));
    fail(subject(path()) + " must be an integer");
  }
  return *v;
}

bool ConfigNode::as_bool() const {
  std::optional<bool> v;
  if (is_scalar() && !d_->quoted) v = parse_bool(d_->scalar);
  if (!v) fail(subject(path()) + " must be true or false");
  return *v;
}

std::vector<std::string> ConfigNode::as_string_list() const {
  if (!is_list()) fail(subject(path()) + " must be a list");
  std::vector<std::string> out;
  for (const auto& item : d_->items) out.push_back(item.as_string());
  return out;
}

const ConfigNode* ConfigNode::find(std::string_view key) const {
  for (const auto& e : d_->entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

const ConfigNode& ConfigNode::at(std::string_view key) const {
  if (!is_map()) fail(subject(path()) + " must be a map");
  if (const ConfigNode* n = find(key)) return *n;
  fail("missing required key '" + std::string(key) + "'" + (path().empty() ? "" : " in " + path()));
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> out;
  for (const auto& e : d_->entries) out.push_back(e.key);
  return out;
}

std::vector<std::pair<std::string, ConfigNode>> ConfigNode::entries() const {
  std::vector<std::pair<std::string, ConfigNode>> out;
  for (const auto& e : d_->entries) out.emplace_back(e.key, e.value);
  return out;
}

SourceLocation ConfigNode::key_location(std::string_view key) const {
  for (const auto& e : d_->entries)
    if (e.key == key) return e.key_location;
  return d_->location;
}

void ConfigNode::check_keys(const std::vector<std::string>& allowed) const {
  if (!is_map()) {
    if (is_null()) return;
    fail(subject(path()) + " must be a map");
  }
  for (const auto& e : d_->entries) {
    if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
    std::string message = "unknown key '" + e.key + "'";
    if (!path().empty()) message += " in " + path();
    std::string suggestion = closest_match(e.key, allowed);
    if (!suggestion.empty()) {
      message += " (did you mean '" + suggestion + "'?)";
    } else {
      std::vector<std::string> sorted = allowed;
      std::sort(sorted.begin(), sorted.end());
      message += " (valid keys: " + join(sorted) + ")";
    }
    throw ConfigError(located(e.key_location, message));
  }
}

const std::vector<ConfigNode>& ConfigNode::items() const { return d_->items; }

std::size_t ConfigNode::size() const {
  if (is_map()) return d_->entries.size();
  return d_->items.size();
}

namespace {
// A member that is present and not null.
const ConfigNode* present(const ConfigNode& node, std::string_view key) {
  if (!node.is_map()) {
    if (node.is_null()) return nullptr;
    node.fail(subject(node.path()) + " must be a map");
  }
  const ConfigNode* n = node.find(key);
  return n && !n->is_null() ? n : nullptr;
}
}  // namespace

std::string ConfigNode::get_string(std::string_view key) const { return at(key).as_string(); }
std::string ConfigNode::get_string(std::string_view key, const std::string& fallback) const {
  const ConfigNode* n = present(*this, key);
  return n ? n->as_string() : fallback;
}
std::optional<std::string> ConfigNode::find_string(std::string_view key) const {
  const ConfigNode* n = present(*this, key);
  return n ? std::optional<std::string>(n->as_string()) : std::nullopt;
}

double ConfigNode::get_double(std::string_view key) const { return at(key).as_double(); }
double ConfigNode::get_double(std::string_view key, double fallback) const {
  const ConfigNode* n = present(*this, key);
  return n ? n->as_double() : fallback;
}
std::optional<double> ConfigNode::find_double(std::string_view key) const {
  const ConfigNode* n = present(*this, key);
  return n ? std::optional<double>(n->as_double()) : std::nullopt;
}

std::int64_t ConfigNode::get_int(std::string_view key) const { return at(key).as_int(); }
std::int64_t ConfigNode::get_int(std::string_view key, std::int64_t fallback) const {
  const ConfigNode* n = present(*this, key);
  return n ? n->as_int() : fallback;
}
std::optional<std::int64_t> ConfigNode::find_int(std::string_view key) const {
  const ConfigNode* n = present(*this, key);
  return n ? std::optional<std::int64_t>(n->as_int()) : std::nullopt;
}

bool ConfigNode::get_bool(std::string_view key) const { return at(key).as_bool(); }
bool ConfigNode::get_bool(std::string_view key, bool fallback) const {
  const ConfigNode* n = present(*this, key);
  return n ? n->as_bool() : fallback;
}
std::optional<bool> ConfigNode::find_bool(std::string_view key) const {
  const ConfigNode* n = present(*this, key);
  return n ? std::optional<bool>(n->as_bool()) : std::nullopt;
}

std::vector<std::string> ConfigNode::get_string_list(std::string_view key) const {
  return at(key).as_string_list();
}
std::optional<std::vector<std::string>> ConfigNode::find_string_list(std::string_view key) const {
  const ConfigNode* n = present(*this, key);
  return n ? std::optional<std::vector<std::string>>(n->as_string_list()) : std::nullopt;
}

Json ConfigNode::to_json() const {
  switch (kind()) {
    case Kind::null:
      return Json();
    case Kind::scalar: {
      const std::string& s = d_->scalar;
      if (d_->quoted) return Json(s);
      if (is_null_text(s)) return Json();
      if (auto b = parse_bool(s)) return Json(*b);
      if (auto i = parse_int(s)) return Json(static_cast<long long>(*i));
      if (auto d = parse_double(s); d && std::isfinite(*d)) return Json(*d);
      return Json(s);
    }
    case Kind::list: {
      Json out = Json::array();
      for (const auto& item : d_->items) out.push_back(item.to_json());
      return out;
    }
    case Kind::map: {
      Json out = Json::object();
      for (const auto& e : d_->entries) out.set(e.key, e.value.to_json());
      return out;
    }
  }
  return Json();
}

std::string join(const std::vector<std::string>& words, std::string_view separator, std::string_view quote) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += separator;
    out += quote;
    out += w;
    out += quote;
  }
  return out;
}

}  // namespace chainpp
