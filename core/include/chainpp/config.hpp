#pragma once
// ConfigNode: a small read-only configuration tree (maps, lists, scalars) that
// crosses the plugin boundary. Every value knows where it came from
// (file:line:col), so a provider can reject a bad setting with an error that
// points at it. Built from YAML, or by a host program from Json.
//
//   auto root = chainpp::ConfigNode::load_file("app.yaml");
//   const auto& model = root.at("models").at("translator");
//   model.check_keys({"provider", "temperature"});   // unknown key -> located error
//   double t = model.get_double("temperature", 0.7);
#include <chainpp/errors.hpp>
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chainpp {

/// Where a configuration value came from. `line` and `column` are 1-based;
/// 0 means unknown (a node built in code has file "<code>").
struct CHAINPP_API SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  /// "file:line:col", or just "file" when the line is unknown.
  std::string to_string() const;
  bool operator==(const SourceLocation&) const = default;
};

namespace detail {
struct ConfigData;
}

class CHAINPP_API ConfigNode {
public:
  enum class Kind { null, scalar, list, map };

  /// An empty (null) node located nowhere.
  ConfigNode();

  /// Parses YAML text. `${VAR}` and `${VAR:-default}` in scalars are expanded from the
  /// environment (`$${` is a literal `${`). Throws ConfigError `file:line:col: ...`.
  static ConfigNode parse_yaml(std::string_view text, const std::string& file_name = "<string>");
  /// Reads and parses a YAML file (see parse_yaml); the locations name `path` as given.
  static ConfigNode load_file(const std::string& path);
  /// Builds a node from JSON (programmatic configuration); every location is `origin`.
  /// Strings stay strings; numbers and booleans become scalars that read back as such.
  static ConfigNode from_json(const Json& value, const std::string& origin = "<code>");

  Kind kind() const;
  bool is_null() const { return kind() == Kind::null; }
  bool is_scalar() const { return kind() == Kind::scalar; }
  bool is_list() const { return kind() == Kind::list; }
  bool is_map() const { return kind() == Kind::map; }
  /// Where this value starts.
  const SourceLocation& location() const;
  /// Dotted path from the root, e.g. "models.translator.temperature" ("" for the root).
  const std::string& path() const;

  // --- this node as a value; each throws a located ConfigError on a type mismatch.
  const std::string& as_string() const;
  double as_double() const;
  std::int64_t as_int() const;
  bool as_bool() const;
  /// A list of strings (a single scalar is not accepted).
  std::vector<std::string> as_string_list() const;

  // --- maps
  /// Member `key`, or nullptr when absent (or this is not a map).
  const ConfigNode* find(std::string_view key) const;
  /// Member `key`; throws a located ConfigError "missing required key 'key'" when absent.
  const ConfigNode& at(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  /// Keys in document order (empty unless a map).
  std::vector<std::string> keys() const;
  /// Key/value pairs in document order (empty unless a map).
  std::vector<std::pair<std::string, ConfigNode>> entries() const;
  /// Where `key` itself is written (the map's location when absent).
  SourceLocation key_location(std::string_view key) const;
  /// Throws a ConfigError at the first key not in `allowed`, suggesting the closest
  /// allowed key: "unknown key 'temprature' in models.x (did you mean 'temperature'?)".
  void check_keys(const std::vector<std::string>& allowed) const;

  // --- lists
  /// Elements (empty unless a list).
  const std::vector<ConfigNode>& items() const;
  /// Number of members (map), elements (list), or 0.
  std::size_t size() const;

  // --- typed members of a map: get_* throw when absent, find_* return nullopt,
  //     get_*(key, fallback) return the fallback; all throw on a type mismatch.
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, const std::string& fallback) const;
  std::optional<std::string> find_string(std::string_view key) const;
  double get_double(std::string_view key) const;
  double get_double(std::string_view key, double fallback) const;
  std::optional<double> find_double(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  std::int64_t get_int(std::string_view key, std::int64_t fallback) const;
  std::optional<std::int64_t> find_int(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::optional<bool> find_bool(std::string_view key) const;
  std::vector<std::string> get_string_list(std::string_view key) const;
  std::optional<std::vector<std::string>> find_string_list(std::string_view key) const;

  /// The subtree as JSON: plain scalars become null, booleans and numbers when
  /// they read as such (YAML 1.2 core schema); quoted scalars stay strings.
  Json to_json() const;

  /// A ConfigError "file:line:col: message" at this node.
  ConfigError error(const std::string& message) const;
  /// Throws error(message).
  [[noreturn]] void fail(const std::string& message) const;

private:
  explicit ConfigNode(std::shared_ptr<const detail::ConfigData> data);
  friend struct detail::ConfigData;
  std::shared_ptr<const detail::ConfigData> d_;
};

/// "file:line:col: message" (just "message" when the location is empty).
CHAINPP_API std::string located(const SourceLocation& where, const std::string& message);

/// The candidate closest to `word` by edit distance, or "" when none is close
/// enough to be a plausible typo.
CHAINPP_API std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// `base` with `over` laid on it, each value keeping where it came from: in
/// two maps, a key of `over` replaces base's (maps merged the same way, key by
/// key) or is added after base's keys; any other `over` replaces `base`. How a
/// host adds settings to a loaded file, e.g. the CLI's `-o temperature=0`:
///
///   auto extra = ConfigNode::from_json(Json{{"models", Json{{"x", Json{{"temperature", 0}}}}}}, "-o");
///   App app = App::from_config(overlay(ConfigNode::load_file("app.yaml"), extra), ".");
CHAINPP_API ConfigNode overlay(const ConfigNode& base, const ConfigNode& over);

/// `words` joined by `separator`, each between `quote`s: join({"a", "b"}) is "a, b".
CHAINPP_API std::string join(const std::vector<std::string>& words, std::string_view separator = ", ",
                             std::string_view quote = "");

}  // namespace chainpp
