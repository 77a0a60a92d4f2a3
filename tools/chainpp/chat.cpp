// chainpp chat [-m MODEL] [-s TEXT] [MESSAGE...]: one exchange with a model,
// or a conversation read line by line; the model comes from a configuration
// or from the environment alone (see load_model_app).
#include "commands.hpp"

#include <chainpp/errors.hpp>

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace cli {
namespace {

using Poco::Util::OptionSet;

OptionSet chat_options() {
  OptionSet set;
  set.addOption(valued("model", "NAME",
                       "a model of the configuration, or a deployment (model) of its provider or the "
                       "environment's",
                       "m"));
  set.addOption(valued("system", "TEXT", "a system message to start the conversation", "s"));
  set.addOption(valued("message", "TEXT", "send one message, print the reply and exit (as MESSAGE does)"));
  set.addOption(valued("temperature", "T", "the model's temperature for these calls"));
  set.addOption(valued("max-tokens", "N", "the most tokens a reply may have"));
  set.addOption(valued("option", "KEY=VALUE", "any setting of the model, written as in YAML (repeatable)", "o")
                    .repeatable(true));
  set.addOption(stream_flag("print replies as they arrive"));
  set.addOption(json_flag("print each reply as one JSON object"));
  set.addOption(usage_flag("print token totals and the cost at the end"));
  return set;
}

chainpp::AIMessage reply(const chainpp::ChatModel& model, const chainpp::Messages& history, bool stream, bool json,
                         const chainpp::RunConfig& config) {
  if (!stream) {
    chainpp::AIMessage message = model.invoke(history, {}, config);
    std::cout << for_stdout(json ? message.to_json().dump() : message.text()) << '\n';
    return message;
  }
  chainpp::AIMessageChunk merged;
  for (auto& chunk : model.stream(history, {}, config)) {
    if (!json) std::cout << for_stdout(chunk.content) << std::flush;
    merged += chunk;
  }
  chainpp::AIMessage message = merged.to_message();
  std::cout << (json ? for_stdout(message.to_json().dump()) : std::string()) << '\n';
  return message;
}

/// Whether `arg` is a configuration given as the first argument (the form
/// `chainpp chat CONFIG`, the same as --config CONFIG): an existing .yaml or
/// .yml file.
bool is_config_argument(const std::string& arg) {
  const std::filesystem::path path(arg);
  std::error_code ec;
  return (path.extension() == ".yaml" || path.extension() == ".yml") && std::filesystem::is_regular_file(path, ec);
}

int chat_command(const Options& opts, const std::vector<std::string>& args) {
  std::vector<std::string> words = args;
  std::string config_arg;
  if (!words.empty() && is_config_argument(words.front())) {
    config_arg = words.front();
    words.erase(words.begin());
  }
  if (!words.empty() && has(opts, "message"))
    throw UsageError("chainpp chat: give the message once, as MESSAGE or with --message");
  ModelApp chosen = load_model_app(opts, config_arg);
  chainpp::ChatModelPtr model = chosen.app.model(chosen.model);
  chainpp::RunConfig config = chosen.app.run_config();
  std::shared_ptr<chainpp::UsageCostHandler> usage;
  if (has(opts, "usage")) usage = usage_handler(chosen.app, config);
  const bool stream = has(opts, "stream"), json = has(opts, "json");

  chainpp::Messages history;
  if (has(opts, "system")) history.push_back(chainpp::SystemMessage(value_of(opts, "system")));
  const bool terminal = ::isatty(STDIN_FILENO) != 0;
  if (has(opts, "message") || !words.empty() || !terminal) {
    // MESSAGE, --message, or "-" or a piped standard input: all of it, one message
    std::string text = has(opts, "message") ? value_of(opts, "message") : chainpp::join(words, " ");
    if (!has(opts, "message") && (words.empty() || words == std::vector<std::string>{"-"})) {
      text = read_standard_input();
      if (text.empty()) throw UsageError("chainpp chat: standard input is empty: no message to send");
    }
    history.push_back(chainpp::HumanMessage(text));
    reply(*model, history, stream, json, config);
  } else {
    if (!usage) usage = usage_handler(chosen.app, config);  // for /usage
    return interactive_chat(opts, std::move(chosen), std::move(history), std::move(config), std::move(usage));
  }
  if (usage) std::cout << for_stdout(usage->summary()) << '\n';
  return exit_ok;
}

}  // namespace

const Command chat{"chat", "[-m MODEL] [-s TEXT] [options] [MESSAGE...]",
                   "Talks to a model: one exchange when MESSAGE (or --message) is given, or with all of\n"
                   "standard input as the message when it is \"-\" or standard input is not a terminal;\n"
                   "otherwise a conversation on the terminal.\n"
                   "Without a configuration (--config, CHAINPP_CONFIG, ./chainpp.yaml,\n"
                   "$XDG_CONFIG_HOME/chainpp/config.yaml), the model comes from the environment:\n"
                   "Azure OpenAI when AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY are set (-m names\n"
                   "the deployment; OPENAI_API_VERSION, default 2024-10-21), OpenAI when OPENAI_API_KEY\n"
                   "is (OPENAI_BASE_URL for a compatible server).",
                   &chat_options, &chat_command,
                   "  chainpp chat -m gpt-4o \"Tell me a joke\"\n"
                   "  echo hi | chainpp chat -m gpt-4o -s \"Be brief.\" --temperature 0\n"
                   "  chainpp chat --config configs/fake.yaml -m parrot -o echo=true hello\n"};

}  // namespace cli
