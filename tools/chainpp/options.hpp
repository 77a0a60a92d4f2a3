#pragma once
// The chainpp CLI's shared option parsing: the exit codes, the command
// descriptor, the flag constructors and readers every command uses, and
// dispatch(), which parses a command's arguments, answers --help and turns
// every error into its message and exit code.
#include <chainpp/app.hpp>

#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>

#include <iosfwd>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace cli {

/// The exit code of a command that succeeded.
constexpr int exit_ok = 0;
/// The exit code of a usage or configuration error.
constexpr int exit_usage = 2;
/// The exit code of a provider or network error.
constexpr int exit_provider = 3;
/// The exit code of a batch stopped by Ctrl-C, as a shell reports SIGINT.
constexpr int exit_interrupted = 130;

/// The exit codes as the help texts state them.
inline constexpr char exit_codes_help[] =
    "Exit codes: 0 success, 2 usage or configuration error, 3 provider or network error.";

/// Where a configuration is looked for, as errors and help texts state it.
inline constexpr char config_search_help[] =
    "pass CONFIG or --config FILE, set CHAINPP_CONFIG, or create ./chainpp.yaml or "
    "$XDG_CONFIG_HOME/chainpp/config.yaml";

/// A usage error of the command line (exit 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A command's parsed flags: each flag's name and the values given to it, in order.
using Options = std::map<std::string, std::vector<std::string>>;

/// A command of the CLI: its name, its help text, its flags and what it runs.
struct Command {
  const char* name;         ///< what follows "chainpp" on the command line ("batch-fetch")
  const char* usage;        ///< the --help usage line after "chainpp NAME"
  const char* description;  ///< the --help text above the flags
  Poco::Util::OptionSet (*options)();  ///< its flags (--help is added to them)
  int (*run)(const Options& opts, const std::vector<std::string>& args);  ///< runs it; the exit code
  const char* examples = "";  ///< the --help examples, one command line per line ("" for none)
};

/// The width help texts wrap at: the terminal's when standard output is one,
/// else COLUMNS (from 20 to 1000) when set, else 80.
int help_width();

/// Prints `command`'s help (usage, description, flags, examples, exit codes),
/// wrapped at help_width().
void print_help(const Command& command, std::ostream& out);

/// The flags of a command that takes none (but --help).
Poco::Util::OptionSet no_options();

/// A flag without a value (--name, or -s with a `short_name`).
Poco::Util::Option flag(const char* name, const char* description, const char* short_name = "");
/// A flag with a value (--name ARG, or -s ARG with a `short_name`).
Poco::Util::Option valued(const char* name, const char* arg, const char* description, const char* short_name = "");

// The flags several commands share, each with its help line as that command
// words it; has() and value_of() read them by the same name.

/// --pipeline NAME: the pipeline of CONFIG (read by pipeline_option).
Poco::Util::Option pipeline_flag(const char* description);
/// --json: the output in its JSON form.
Poco::Util::Option json_flag(const char* description);
/// --stream: the output printed as it arrives.
Poco::Util::Option stream_flag(const char* description);
/// --usage: token totals and the cost printed at the end.
Poco::Util::Option usage_flag(const char* description);
/// --output FILE: the JSONL file a batch's results are appended to.
Poco::Util::Option output_flag(const char* description);
/// --poll S: seconds between the status requests of an Azure batch.
Poco::Util::Option poll_flag(const char* description);

/// Whether flag `name` was given.
bool has(const Options& opts, const std::string& name);
/// The last value of flag `name` (empty when it was not given).
std::string value_of(const Options& opts, const std::string& name);

/// The configuration file a command reads, the first found of: `given` (its
/// CONFIG argument, when not empty), --config, CHAINPP_CONFIG, ./chainpp.yaml,
/// $XDG_CONFIG_HOME/chainpp/config.yaml (~/.config when XDG_CONFIG_HOME is
/// unset); "" when there is none. A --config or CHAINPP_CONFIG naming no file
/// is a usage error.
std::string find_config(const Options& opts, const std::string& given = "");

/// The configuration of `command`, which takes at most one CONFIG argument:
/// find_config(); a usage error when there is none or more arguments.
std::string only_config(const Options& opts, const std::vector<std::string>& args, const char* command);

/// `wanted` when given, otherwise the only one of `names` (a `what`, chosen by
/// `option`); an error naming `config` when there are none or several.
std::string choose(const std::string& wanted, const std::vector<std::string>& names, const char* what,
                   const char* option, const std::string& config);

/// The pipeline --pipeline names (default: the only one).
std::string pipeline_option(const chainpp::App& app, const Options& opts, const std::string& config_path);

/// A number option of at least `minimum` (`fallback` when it is not given).
double number_option(const Options& opts, const std::string& name, double fallback, double minimum);

/// An integer option from `minimum` to `maximum` (a count: no fraction, no exponent).
int integer_option(const Options& opts, const std::string& name, int fallback, int minimum, int maximum);

/// " (did you mean 'NAME'?)" for the one of `names` closest to `name` (a
/// mistyped command), or "" when none is close.
std::string closest_command(const std::string& name, const std::vector<std::string>& names);

/// Runs `command` with its arguments `argv` (after the command name): --help
/// prints its help; an error is printed to standard error. The exit code.
int dispatch(const Command& command, const std::vector<std::string>& argv);

}  // namespace cli
