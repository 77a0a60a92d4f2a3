// The chainpp CLI's shared option parsing (see options.hpp).
#include "options.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/terminal.hpp>

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionProcessor.h>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>

namespace cli {

using Poco::Util::Option;
using Poco::Util::OptionSet;
using chainpp::join;
namespace fs = std::filesystem;

OptionSet no_options() { return OptionSet(); }

Option flag(const char* name, const char* description, const char* short_name) {
  return Option(name, short_name, description).required(false);
}
Option valued(const char* name, const char* arg, const char* description, const char* short_name) {
  return Option(name, short_name, description).required(false).argument(arg);
}

Option pipeline_flag(const char* description) { return valued("pipeline", "NAME", description); }
Option json_flag(const char* description) { return flag("json", description); }
Option stream_flag(const char* description) { return flag("stream", description); }
Option usage_flag(const char* description) { return flag("usage", description); }
Option output_flag(const char* description) { return valued("output", "FILE", description); }
Option poll_flag(const char* description) { return valued("poll", "S", description); }

bool has(const Options& opts, const std::string& name) { return opts.count(name) > 0; }
std::string value_of(const Options& opts, const std::string& name) {
  auto it = opts.find(name);
  return it == opts.end() || it->second.empty() ? std::string() : it->second.back();
}

std::string find_config(const Options& opts, const std::string& given) {
  const auto must_exist = [](const std::string& path, const std::string& source) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw UsageError(source + " names no file: " + path);
    return path;
  };
  if (!given.empty()) return given;  // load_file reports a missing CONFIG argument
  if (has(opts, "config")) return must_exist(value_of(opts, "config"), "--config");
  if (const char* env = std::getenv("CHAINPP_CONFIG"); env && *env) return must_exist(env, "CHAINPP_CONFIG");
  std::error_code ec;
  if (fs::is_regular_file("chainpp.yaml", ec)) return "chainpp.yaml";
  fs::path dir;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) dir = xdg;
  else if (const char* home = std::getenv("HOME"); home && *home) dir = fs::path(home) / ".config";
  if (!dir.empty() && fs::is_regular_file(dir / "chainpp" / "config.yaml", ec))
    return (dir / "chainpp" / "config.yaml").string();
  return {};
}

std::string only_config(const Options& opts, const std::vector<std::string>& args, const char* command) {
  if (args.size() > 1)
    throw UsageError(std::string("chainpp ") + command + ": expected at most one CONFIG argument, got " +
                     std::to_string(args.size()) + " (see chainpp " + command + " --help)");
  std::string path = find_config(opts, args.empty() ? std::string() : args.front());
  if (path.empty())
    throw UsageError(std::string("chainpp ") + command + ": no configuration: " + config_search_help +
                     " (see chainpp " + command + " --help)");
  return path;
}

std::string choose(const std::string& wanted, const std::vector<std::string>& names, const char* what,
                   const char* option, const std::string& config) {
  if (!wanted.empty()) return wanted;  // App reports an unknown name
  if (names.size() == 1) return names.front();
  if (names.empty()) throw chainpp::ConfigError(config + ": no " + what + "s defined");
  throw UsageError(config + ": several " + what + "s (" + join(names) + "); choose one with " + option);
}

std::string pipeline_option(const chainpp::App& app, const Options& opts, const std::string& config_path) {
  return choose(value_of(opts, "pipeline"), app.pipeline_names(), "pipeline", "--pipeline", config_path);
}

double number_option(const Options& opts, const std::string& name, double fallback, double minimum) {
  if (!has(opts, name)) return fallback;
  const std::string text = value_of(opts, name);
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && std::isfinite(value) && value >= minimum) return value;
  } catch (const std::exception&) {
  }
  throw UsageError("--" + name + " expects a number of at least " + std::to_string(static_cast<long>(minimum)) +
                   ", got '" + text + "'");
}

int integer_option(const Options& opts, const std::string& name, int fallback, int minimum, int maximum) {
  if (!has(opts, name)) return fallback;
  const std::string text = value_of(opts, name);
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size() && value >= minimum && value <= maximum)
    return static_cast<int>(value);
  throw UsageError("--" + name + " expects an integer from " + std::to_string(minimum) + " to " +
                   std::to_string(maximum) + ", got '" + text + "'");
}

int help_width() {
  winsize size{};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20)
    return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    int width = 0;
    const std::string_view text(columns);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), width);
    if (ec == std::errc() && end == text.data() + text.size() && width >= 20 && width <= 1000) return width;
  }
  return 80;
}

namespace {

/// The options of `command` with the ones every command has (--help, --config).
OptionSet all_options(const Command& command) {
  OptionSet options = command.options();
  options.addOption(Option("help", "h", "show this help and exit").required(false));
  options.addOption(valued("config", "FILE", "the configuration (default: $CHAINPP_CONFIG, ./chainpp.yaml, "
                                             "~/.config/chainpp/config.yaml)"));
  options.addOption(flag("verbose", "print each HTTP call (method, URL without secrets, status, attempts, time) "
                                    "to standard error", "v"));
  return options;
}

/// `text` as paragraphs for HelpFormatter to wrap: a single line break
/// becomes a space; an empty line stays a paragraph break.
std::string reflow(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') {
      out += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == '\n') {
      out += "\n\n";
      ++i;
    } else {
      out += ' ';
    }
  }
  return out;
}

/// The closest of `candidates` to `word`, as " (did you mean 'X'?)", or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         const std::string& prefix = "") {
  const std::string best = chainpp::closest_match(word, candidates);
  return best.empty() ? std::string() : " (did you mean '" + prefix + best + "'?)";
}

std::string provider_message(const chainpp::ProviderError& e) {
  const auto& info = e.info();
  std::string message = e.described();
  std::vector<std::string> details;
  if (!info.provider.empty() && message.find(info.provider) == std::string::npos)
    details.push_back("provider " + info.provider);
  if (info.status > 0 && message.find(std::to_string(info.status)) == std::string::npos)
    details.push_back("HTTP " + std::to_string(info.status));
  if (!info.request_id.empty() && message.find(info.request_id) == std::string::npos)
    details.push_back("request id " + info.request_id);
  if (!details.empty()) message += " (" + join(details) + ")";
  return message;
}

/// Whether `e` is an error of the command line, the configuration, a plugin, a
/// prompt or an input (exit 2) rather than of a provider or the network (exit 3).
bool is_usage_error(const std::exception& e) {
  return dynamic_cast<const UsageError*>(&e) || dynamic_cast<const chainpp::ConfigError*>(&e) ||
         dynamic_cast<const chainpp::PluginError*>(&e) || dynamic_cast<const chainpp::PromptError*>(&e) ||
         dynamic_cast<const chainpp::InputError*>(&e);
}

/// Parses `argv` by the command's flags and runs it (or prints its help).
/// -v: one line per HTTP call on standard error, e.g.
/// "chainpp: POST https://r.openai.azure.com/openai/... -> 200, 1 attempt, 312 ms".
void print_http_call(const chainpp::HttpCallRecord& call) {
  std::string line = "chainpp: " + call.method + " " + call.url + " -> ";
  line += call.status > 0 ? std::to_string(call.status) : std::string("no response");
  line += ", " + std::to_string(call.attempts) + (call.attempts == 1 ? " attempt" : " attempts");
  line += ", " + std::to_string(call.elapsed.count()) + " ms";
  if (call.status == 0 && !call.error.empty()) line += ": " + call.error;  // an HTTP error is printed as the result
  static std::mutex mutex;  // calls of a batch end on several threads
  std::lock_guard lock(mutex);
  std::cerr << chainpp::escape_for_terminal(line) << '\n';
}

int parse_and_run(const Command& command, const std::vector<std::string>& argv) {
  const OptionSet options = all_options(command);
  Options opts;
  std::vector<std::string> args;
  Poco::Util::OptionProcessor processor(options);
  processor.setUnixStyle(true);
  for (const auto& arg : argv) {
    std::string name, value;
    bool known = false;
    try {
      known = processor.process(arg, name, value);
    } catch (const Poco::Util::UnknownOptionException&) {
      std::vector<std::string> names;
      for (const auto& option : options) names.push_back(option.fullName());
      const std::string given = arg.substr(0, arg.find('='));
      const bool long_form = given.rfind("--", 0) == 0;
      throw UsageError("chainpp " + std::string(command.name) + ": unknown option '" + given + "'" +
                       (long_form ? did_you_mean(given.substr(2), names, "--") : std::string()) +
                       " (see chainpp " + command.name + " --help)");
    }
    if (known) {
      if (!name.empty()) opts[name].push_back(value);
    } else {
      args.push_back(arg);
    }
  }
  processor.checkRequired();
  if (has(opts, "help")) {
    print_help(command, std::cout);
    return exit_ok;
  }
  if (has(opts, "verbose")) chainpp::set_http_call_log(print_http_call);
  return command.run(opts, args);
}

}  // namespace

namespace {

/// HelpFormatter's wrapping of text and of the option table, for a help laid
/// out here (its own format() wraps the usage line past the width).
class HelpText : public Poco::Util::HelpFormatter {
public:
  HelpText(const OptionSet& options, int width) : HelpFormatter(options) {
    setUnixStyle(true);
    setWidth(width);
  }
  /// `text` wrapped, the cursor at column `first`, further lines at `indent`.
  void text(std::ostream& out, const std::string& text, int indent, int first) const {
    formatText(out, text, indent, first);
  }
  void options(std::ostream& out) const { formatOptions(out); }
};

}  // namespace

void print_help(const Command& command, std::ostream& out) {
  const OptionSet options = all_options(command);  // HelpText keeps a reference to it
  const HelpText help(options, help_width());
  std::ostringstream text;
  const std::string start = std::string("usage: chainpp ") + command.name + " ";
  text << start;
  help.text(text, command.usage, 4, static_cast<int>(start.size()));
  text << '\n';
  help.text(text, reflow(command.description), 0, 0);
  text << "\n\n";
  help.options(text);
  if (*command.examples) text << "\nExamples:\n" << command.examples;
  text << '\n';
  help.text(text, exit_codes_help, 0, 0);
  text << '\n';
  // HelpFormatter ends wrapped lines with a space
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

std::string closest_command(const std::string& name, const std::vector<std::string>& names) {
  return did_you_mean(name, names);
}

int dispatch(const Command& command, const std::vector<std::string>& argv) {
  // Every error is printed here, through escape_for_terminal: a provider's
  // message and code, a request id or a quoted input reach the terminal as
  // one line of visible text.
  const auto print_error = [](const std::string& message) {
    std::cerr << chainpp::escape_for_terminal(message) << '\n';
  };
  try {
    return parse_and_run(command, argv);
  } catch (const Poco::Util::OptionException& e) {
    print_error("chainpp " + std::string(command.name) + ": " + e.displayText() + " (see chainpp " + command.name +
                " --help)");
    return exit_usage;
  } catch (const chainpp::ProviderError& e) {
    print_error(provider_message(e));
    return exit_provider;
  } catch (const chainpp::ConfigError& e) {
    // App reports every error of a configuration, one per line: each printed on its own
    const std::string_view message = e.what();
    for (std::size_t start = 0; start <= message.size();) {
      const std::size_t end = std::min(message.find('\n', start), message.size());
      print_error(std::string(message.substr(start, end - start)));
      start = end + 1;
    }
    return exit_usage;
  } catch (const std::exception& e) {
    print_error(e.what());
    return is_usage_error(e) ? exit_usage : exit_provider;
  } catch (...) {
    print_error("chainpp: unknown error");
    return exit_provider;
  }
}

}  // namespace cli
