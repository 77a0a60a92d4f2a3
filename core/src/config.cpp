#include "config_data.hpp"

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

using detail::ConfigData;

namespace detail {

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

}  // namespace detail

using detail::child_path;

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

ConfigNode overlay(const ConfigNode& base, const ConfigNode& over) {
  if (!base.is_map() || !over.is_map()) return over;
  auto data = std::make_shared<ConfigData>();
  data->kind = ConfigNode::Kind::map;
  data->location = base.location();
  data->path = base.path();
  for (const auto& [key, value] : base.entries()) {
    const ConfigNode* replacement = over.find(key);
    data->entries.push_back({key, base.key_location(key), replacement ? overlay(value, *replacement) : value});
  }
  for (const auto& [key, value] : over.entries())
    if (!base.contains(key)) data->entries.push_back({key, over.key_location(key), value});
  return ConfigData::wrap(std::move(data));
}

ConfigNode::ConfigNode() : d_(null_data()) {}
ConfigNode::ConfigNode(std::shared_ptr<const detail::ConfigData> data) : d_(std::move(data)) {}

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
