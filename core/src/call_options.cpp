// What kGenerationOptions (chainpp/call_options.hpp) derives: merging,
// the rules of each row (checked when reading YAML and before a call), and
// the options as JSON.
#include <chainpp/call_options.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
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

// What is wrong with an option's value: the message, and the map key whose
// value it is about (empty: the value as a whole).
struct Problem {
  explicit Problem(std::string message_, std::string key_ = {}) : message(std::move(message_)), key(std::move(key_)) {}
  std::string message;
  std::string key;
};

std::string in_quotes(std::string_view name) { return "'" + std::string(name) + "'"; }

std::string number_text(double value) {
  std::ostringstream text;
  text << std::setprecision(15) << value;
  return text.str();
}

// "'temperature' must be between 0 and 2" unless `value` is within the option's range.
std::optional<Problem> range_problem(const GenerationOption& option, double value) {
  if (value >= option.min && value <= option.max) return std::nullopt;
  return Problem{in_quotes(option.name) + " must be between " + number_text(option.min) + " and " +
                 number_text(option.max)};
}

// "'reasoning_effort' must be low, medium or high" unless `value` is one of the choices.
std::optional<Problem> choice_problem(const GenerationOption& option, const std::string& value) {
  if (option.choices.empty()) return std::nullopt;
  std::vector<std::string_view> choices;
  for (std::string_view rest = option.choices;;) {
    const auto bar = rest.find('|');
    choices.push_back(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return std::nullopt;
  std::string text = in_quotes(option.name) + " must be ";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) text += i + 1 == choices.size() ? " or " : ", ";
    text += choices[i];
  }
  return Problem{text};
}

// "'stop' holds 5 sequences; the service accepts at most 4" unless the list's length is allowed.
std::optional<Problem> length_problem(const GenerationOption& option, std::size_t length) {
  if (length == 0 && option.min_items > 0) return Problem{in_quotes(option.name) + " must not be an empty list"};
  if (length >= option.min_items && length <= option.max_items) return std::nullopt;
  const bool many = length > option.max_items;
  return Problem{in_quotes(option.name) + " holds " + std::to_string(length) + " " + std::string(option.items) +
                 "; the service accepts at " + (many ? "most " : "least ") +
                 std::to_string(many ? option.max_items : option.min_items)};
}

// For a map of integers (logit_bias): "'logit_bias' value for token '50256'
// must be an integer between -100 and 100 (got 150)" at the first bad value.
std::optional<Problem> map_problem(const GenerationOption& option, const Json& value) {
  if (option.value_of.empty()) return std::nullopt;
  if (!value.is_object()) return Problem{in_quotes(option.name) + " must be " + std::string(option.expected)};
  for (const auto& [key, v] : value.as_object()) {
    if (v.is_integer() && static_cast<double>(v.as_int()) >= option.min &&
        static_cast<double>(v.as_int()) <= option.max)
      continue;
    return Problem{in_quotes(option.name) + " value for " + std::string(option.value_of) + " " + in_quotes(key) +
                       " must be an integer between " + number_text(option.min) + " and " +
                       number_text(option.max) + " (got " + v.dump() + ")",
                   key};
  }
  return std::nullopt;
}

// Each requires_true names a bool option of the table.
constexpr bool requirements_are_bool_options() {
  for (const GenerationOption& option : kGenerationOptions) {
    if (option.requires_true.empty()) continue;
    bool found = false;
    for (const GenerationOption& other : kGenerationOptions)
      found = found || (other.name == option.requires_true &&
                        std::holds_alternative<std::optional<bool> CallOptions::*>(other.member));
    if (!found) return false;
  }
  return true;
}
static_assert(requirements_are_bool_options(), "a requires_true of kGenerationOptions is not a bool option");

bool is_set(const GenerationOption& option, const CallOptions& options) {
  return std::visit([&](auto member) { return (options.*member).has_value(); }, option.member);
}

// The first rule of its row that `option`'s value in `options` breaks (none when unset).
std::optional<Problem> problem(const GenerationOption& option, const CallOptions& options) {
  std::optional<Problem> found = std::visit(
      [&](auto member) -> std::optional<Problem> {
        const auto& value = options.*member;
        using T = typename std::decay_t<decltype(value)>::value_type;
        if (!value) return std::nullopt;
        if constexpr (std::is_same_v<T, double>) return range_problem(option, *value);
        else if constexpr (std::is_same_v<T, std::int64_t>) return range_problem(option, static_cast<double>(*value));
        else if constexpr (std::is_same_v<T, std::string>) return choice_problem(option, *value);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) return length_problem(option, value->size());
        else if constexpr (std::is_same_v<T, Json>) return map_problem(option, *value);
        else return std::nullopt;
      },
      option.member);
  if (found || option.requires_true.empty() || !is_set(option, options)) return found;
  const auto required = std::find_if(kGenerationOptions.begin(), kGenerationOptions.end(),
                                     [&](const GenerationOption& o) { return o.name == option.requires_true; });
  if (options.*std::get<std::optional<bool> CallOptions::*>(required->member) == true) return std::nullopt;
  return Problem{in_quotes(option.name) + " requires '" + std::string(option.requires_true) + ": true'"};
}

// Reads `option` from `node` (which has it) into `options`, checking its type.
void read_option(const ConfigNode& node, const GenerationOption& option, CallOptions& options) {
  const std::string_view key = option.name;
  const ConfigNode& at = node.at(key);
  std::visit(
      [&](auto member) {
        auto& out = options.*member;
        using T = typename std::decay_t<decltype(out)>::value_type;
        if constexpr (std::is_same_v<T, double>) {
          out = node.find_double(key);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out = node.find_int(key);
        } else if constexpr (std::is_same_v<T, bool>) {
          out = node.find_bool(key);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out = node.find_string(key);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          out = at.is_list() ? at.as_string_list() : std::vector<std::string>{at.as_string()};
        } else {
          static_assert(std::is_same_v<T, Json>);
          if (option.type_shorthand && at.is_scalar()) out = Json{{"type", at.as_string()}};
          else if (at.is_map()) out = at.to_json();
          else at.fail(in_quotes(key) + " must be " + std::string(option.expected));
        }
      },
      option.member);
}

}  // namespace

void read_generation_options(const ConfigNode& node, CallOptions& options) {
  for (const GenerationOption& option : kGenerationOptions)
    if (node.find(option.name)) read_option(node, option, options);
  // The rules once every option is read: one may require another.
  for (const GenerationOption& option : kGenerationOptions) {
    if (!node.find(option.name)) continue;
    if (const auto p = problem(option, options)) {
      const ConfigNode& at = node.at(option.name);
      (p->key.empty() ? at : at.at(p->key)).fail(p->message);
    }
  }
}

void check_generation_options(const CallOptions& options) {
  for (const GenerationOption& option : kGenerationOptions)
    if (const auto p = problem(option, options)) throw InputError(p->message);
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
