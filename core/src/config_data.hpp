#pragma once
// Internal: what a ConfigNode holds, shared by config.cpp (the node's
// accessors, JSON input) and config_yaml.cpp (YAML input).
#include <chainpp/config.hpp>

#include <memory>
#include <string>
#include <vector>

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

namespace detail {

/// "parent.key", or "key" at the top.
std::string child_path(const std::string& parent, const std::string& key);

}  // namespace detail

}  // namespace chainpp
