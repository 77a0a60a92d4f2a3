// Configuration from YAML text: checked as UTF-8 text, parsed with
// yaml-cpp within limits against hostile input, ${VAR} expanded, each value
// with its file:line:column.
#include "config_data.hpp"

#include <chainpp/json.hpp>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace chainpp {

using detail::ConfigData;
using detail::child_path;

namespace {

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

// Records where the flow collections ('[' and '{') still open are, so that an
// error at the end of the file can point at the one left unclosed.
class OpenFlows : public YAML::EventHandler {
public:
  struct Open {
    YAML::Mark mark;
    char bracket;  // '[' or '{'
  };
  std::vector<Open> open;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value style) override {
    push(mark, style, '[');
  }
  void OnSequenceEnd() override { pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value style) override {
    push(mark, style, '{');
  }
  void OnMapEnd() override { pop(); }

private:
  // Block collections are kept too (bracket 0) so that ends pair with starts.
  void push(const YAML::Mark& mark, YAML::EmitterStyle::value style, char bracket) {
    open.push_back({mark, style == YAML::EmitterStyle::Flow ? bracket : '\0'});
  }
  void pop() {
    if (!open.empty()) open.pop_back();
  }
};

// The innermost `bracket` collection open when parsing `text` fails.
std::optional<YAML::Mark> unclosed_flow(std::string_view text, char bracket) {
  std::istringstream in{std::string(text)};
  OpenFlows flows;
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(flows)) flows.open.clear();
    return std::nullopt;
  } catch (const YAML::Exception&) {
  }
  if (flows.open.empty() || flows.open.back().bracket != bracket || flows.open.back().mark.line < 0)
    return std::nullopt;
  return flows.open.back().mark;
}

// Where a parser error is: yaml-cpp's mark, but never past the last character
// of the file (it reports the end of input there, a line after the last one).
SourceLocation error_location(std::string_view text, const YAML::Mark& mark, const std::string& file) {
  if (mark.line < 0) return {file, 0, 0};
  const std::size_t last = text.find_last_not_of(" \t\r\n");
  if (last == std::string_view::npos) return {file, 1, 1};
  const SourceLocation end = offset_location(text, last, file);
  if (mark.line + 1 > end.line || (mark.line + 1 == end.line && mark.column + 1 > end.column)) return end;
  return mark_location(mark, file, {file, 0, 0});
}

// A parser error as file:line:col: message. An unclosed '[' or '{' is located
// at the bracket, not at the end of the file where yaml-cpp notices it.
ConfigError parser_error(std::string_view text, const YAML::ParserException& e, const std::string& file) {
  for (const auto& [msg, bracket] : {std::pair<const char*, char>{YAML::ErrorMsg::END_OF_SEQ_FLOW, '['},
                                     {YAML::ErrorMsg::END_OF_MAP_FLOW, '{'}}) {
    if (e.msg != msg) continue;
    if (auto open = unclosed_flow(text, bracket))
      return ConfigError(located(mark_location(*open, file, {file, 0, 0}),
                                 e.msg + " (the '" + bracket + "' here is not closed before the end of the file)"));
  }
  return ConfigError(located(error_location(text, e.mark, file), parser_message(text, e.mark, e.msg)));
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
    throw parser_error(text, e, file_name);
  } catch (const YAML::Exception& e) {
    throw ConfigError(located(error_location(text, e.mark, file_name), e.msg));
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

}  // namespace chainpp
