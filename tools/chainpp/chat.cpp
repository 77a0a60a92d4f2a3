// chainpp chat CONFIG [--model NAME] [--system TEXT] [--message TEXT] [--stream] [--json] [--usage]:
// one exchange with a model of CONFIG, or a conversation read line by line.
#include "commands.hpp"

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

namespace cli {
namespace {

using Poco::Util::OptionSet;

OptionSet chat_options() {
  OptionSet set;
  set.addOption(valued("model", "NAME", "the model to talk to (default: the only one)"));
  set.addOption(valued("system", "TEXT", "a system message to start the conversation"));
  set.addOption(valued("message", "TEXT", "send one message, print the reply and exit"));
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

int chat_command(const Options& opts, const std::vector<std::string>& args) {
  const std::string config_path = only_config(args, "chat");
  chainpp::App app = chainpp::load_app(config_path);
  const std::string name = choose(value_of(opts, "model"), app.model_names(), "model", "--model", config_path);
  chainpp::ChatModelPtr model = app.model(name);
  chainpp::RunConfig config = app.run_config();
  std::shared_ptr<chainpp::UsageCostHandler> usage;
  if (has(opts, "usage")) usage = usage_handler(app, config);
  const bool stream = has(opts, "stream"), json = has(opts, "json");

  chainpp::Messages history;
  if (has(opts, "system")) history.push_back(chainpp::SystemMessage(value_of(opts, "system")));
  if (has(opts, "message")) {
    history.push_back(chainpp::HumanMessage(value_of(opts, "message")));
    reply(*model, history, stream, json, config);
  } else {
    const bool terminal = ::isatty(STDIN_FILENO) != 0;
    std::string line;
    while (true) {
      if (terminal) std::cout << "> " << std::flush;
      if (!std::getline(std::cin, line)) break;
      if (line.empty()) continue;
      history.push_back(chainpp::HumanMessage(line));
      history.push_back(reply(*model, history, stream, json, config));
    }
    if (terminal) std::cout << '\n';
  }
  if (usage) std::cout << for_stdout(usage->summary()) << '\n';
  return exit_ok;
}

}  // namespace

const Command chat{"chat", "CONFIG [--model NAME] [--system TEXT] [--message TEXT] [--stream] [--json] [--usage]",
                   "Talks to a model of CONFIG: one exchange with --message, otherwise a conversation\n"
                   "reading one message per line from the terminal or standard input.",
                   &chat_options, &chat_command};

}  // namespace cli
