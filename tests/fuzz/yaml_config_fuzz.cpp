// ConfigNode::parse_yaml on arbitrary text: a tree or a ConfigError; every
// accessor of every node either answers or throws a located ConfigError.
#include "fuzz_check.hpp"

#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

template <class F>
void expect_config_error_or_value(F&& f) {
  try {
    f();
  } catch (const chainpp::ConfigError&) {
  }
}

void walk(const chainpp::ConfigNode& node, int depth) {
  (void)node.location().to_string();
  (void)node.path();
  expect_config_error_or_value([&] { (void)node.as_string(); });
  expect_config_error_or_value([&] { (void)node.as_double(); });
  expect_config_error_or_value([&] { (void)node.as_int(); });
  expect_config_error_or_value([&] { (void)node.as_bool(); });
  expect_config_error_or_value([&] { (void)node.as_string_list(); });
  expect_config_error_or_value([&] { node.check_keys({"provider", "temperature"}); });
  if (depth > 64) return;  // the tree itself may be deeper; walking it is not the point
  for (const auto& key : node.keys()) {
    (void)node.key_location(key);
    expect_config_error_or_value([&] { (void)node.get_string(key, "x"); });
    expect_config_error_or_value([&] { (void)node.find_int(key); });
    expect_config_error_or_value([&] { (void)node.get_bool(key, false); });
  }
  for (const auto& [key, child] : node.entries()) walk(child, depth + 1);
  for (const auto& child : node.items()) walk(child, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const chainpp::ConfigNode root = chainpp::ConfigNode::parse_yaml(text, "fuzz.yaml");
    walk(root, 0);
    (void)root.to_json().dump();
    (void)chainpp::to_yaml(root.to_json());
  } catch (const chainpp::ConfigError& e) {
    // Errors point into the file.
    chainpp::fuzz::check(std::string_view(e.what()).substr(0, 9) == "fuzz.yaml", "ConfigError names the file");
  }
  return 0;
}
