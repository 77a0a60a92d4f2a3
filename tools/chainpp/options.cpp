// The chainpp CLI's shared option parsing (see options.hpp).
#include "options.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/terminal.hpp>

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionProcessor.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

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

namespace {

void print_help(const Command& command, const OptionSet& options) {
  Poco::Util::HelpFormatter help(options);
  help.setUnixStyle(true);
  help.setCommand(std::string("chainpp ") + command.name);
  help.setUsage(command.usage);
  help.setHeader(command.description);
  help.setFooter(exit_codes_help);
  help.format(std::cout);
}

std::string provider_message(const chainpp::ProviderError& e) {
  const auto& info = e.info();
  std::string message = e.what();
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
int parse_and_run(const Command& command, const std::vector<std::string>& argv) {
  OptionSet options = command.options();
  options.addOption(Option("help", "h", "show this help and exit").required(false));
  options.addOption(valued("config", "FILE", "the configuration (default: CHAINPP_CONFIG, ./chainpp.yaml, "
                                             "$XDG_CONFIG_HOME/chainpp/config.yaml)"));
  Options opts;
  std::vector<std::string> args;
  Poco::Util::OptionProcessor processor(options);
  processor.setUnixStyle(true);
  for (const auto& arg : argv) {
    std::string name, value;
    if (processor.process(arg, name, value)) {
      if (!name.empty()) opts[name].push_back(value);
    } else {
      args.push_back(arg);
    }
  }
  processor.checkRequired();
  if (has(opts, "help")) {
    print_help(command, options);
    return exit_ok;
  }
  return command.run(opts, args);
}

}  // namespace

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
  } catch (const std::exception& e) {
    print_error(e.what());
    return is_usage_error(e) ? exit_usage : exit_provider;
  } catch (...) {
    print_error("chainpp: unknown error");
    return exit_provider;
  }
}

}  // namespace cli
