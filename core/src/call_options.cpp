// What kGenerationOptions (chainpp/call_options.hpp) derives: merging,
// reading from YAML with range checks, and the options as JSON.
#include <chainpp/call_options.hpp>
#include <chainpp/config.hpp>
#include <chainpp/http.hpp>

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace chainpp {

CallOptions CallOptions::over(const CallOptions& base) const {
  CallOptions r = base;
  auto take = [](auto& dst, const auto& src) {
    if (src) dst = src;
  };
  for (const GenerationOption& option : kGenerationOptions)
    std::visit([&](auto member) { take(r.*member, this->*member); }, option.member);
  if (!tools.empty()) r.tools = tools;
  take(r.tool_choice, tool_choice);
  take(r.parallel_tool_calls, parallel_tool_calls);
  take(r.stream_usage, stream_usage);
  take(r.timeout_seconds, timeout_seconds);
  for (const auto& h : headers) {
    std::erase_if(r.headers, [&](const auto& b) { return same_header_name(b.first, h.first); });
    r.headers.push_back(h);
  }
  return r;
}

namespace {

// "'temperature' must be between 0 and 2" unless `value` is within the option's range.
void check_range(const ConfigNode& at, const GenerationOption& option, double value) {
  if (value >= option.min && value <= option.max) return;
  std::ostringstream text;
  text << std::setprecision(15) << "'" << option.name << "' must be between " << option.min << " and " << option.max;
  at.fail(text.str());
}

// "'reasoning_effort' must be low, medium or high" unless `value` is one of the choices.
void check_choice(const ConfigNode& at, const GenerationOption& option, const std::string& value) {
  if (option.choices.empty()) return;
  std::vector<std::string_view> choices;
  for (std::string_view rest = option.choices;;) {
    const auto bar = rest.find('|');
    choices.push_back(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
  std::string text = "'" + std::string(option.name) + "' must be ";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) text += i + 1 == choices.size() ? " or " : ", ";
    text += choices[i];
  }
  at.fail(text);
}

// Reads `option` from `node` (which has it) into `options`.
void read_option(const ConfigNode& node, const GenerationOption& option, CallOptions& options) {
  const std::string_view key = option.name;
  const ConfigNode& at = node.at(key);
  std::visit(
      [&](auto member) {
        auto& out = options.*member;
        using T = typename std::decay_t<decltype(out)>::value_type;
        if constexpr (std::is_same_v<T, double>) {
          out = node.find_double(key);
          if (out) check_range(at, option, *out);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out = node.find_int(key);
          if (out) check_range(at, option, static_cast<double>(*out));
        } else if constexpr (std::is_same_v<T, bool>) {
          out = node.find_bool(key);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out = node.find_string(key);
          if (out) check_choice(at, option, *out);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          out = at.is_list() ? at.as_string_list() : std::vector<std::string>{at.as_string()};
        } else {
          static_assert(std::is_same_v<T, Json>);
          if (option.type_shorthand && at.is_scalar()) out = Json{{"type", at.as_string()}};
          else if (at.is_map()) out = at.to_json();
          else at.fail("'" + std::string(key) + "' must be " + std::string(option.expected));
        }
      },
      option.member);
}

}  // namespace

void read_generation_options(const ConfigNode& node, CallOptions& options) {
  for (const GenerationOption& option : kGenerationOptions)
    if (node.find(option.name)) read_option(node, option, options);
}

std::vector<std::string> generation_option_keys() {
  std::vector<std::string> keys;
  for (const GenerationOption& option : kGenerationOptions) keys.emplace_back(option.name);
  return keys;
}

Json generation_options_json(const CallOptions& options) {
  Json out = Json::object();
  for_each_set_option(options, [&](std::string_view name, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      Json list = Json::array();
      for (const auto& s : value) list.push_back(s);
      out.set(std::string(name), std::move(list));
    } else {
      out.set(std::string(name), value);
    }
  });
  return out;
}

}  // namespace chainpp
