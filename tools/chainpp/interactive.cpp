// The interactive `chainpp chat` on a terminal (see commands.hpp:
// interactive_chat): line editing and history through libedit, slash
// commands, streamed replies, Ctrl-C cancelling the reply in progress.
//
// libedit rather than GNU readline: it is BSD-licensed (readline is GPL, which
// would bind every binary linking it), a well-kept Debian package
// (libedit-dev), and offers the readline calls used here.
#include "commands.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/terminal.hpp>

#include <editline/readline.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stop_token>
#include <string>
#include <thread>

namespace cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> reply_interrupted{false};
void on_reply_sigint(int) { reply_interrupted = true; }

/// $XDG_STATE_HOME/chainpp/history (~/.local/state when unset), its directory
/// created; "" when there is no home.
std::string history_path() {
  fs::path dir;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state) dir = state;
  else if (const char* home = std::getenv("HOME"); home && *home) dir = fs::path(home) / ".local" / "state";
  else return {};
  std::error_code ec;
  fs::create_directories(dir / "chainpp", ec);
  return (dir / "chainpp" / "history").string();
}

/// One message from the terminal: lines ending with a backslash continue on
/// the next. False at Ctrl-D.
bool read_message(std::string& message) {
  message.clear();
  const char* prompt = "> ";
  while (true) {
    char* line = ::readline(prompt);
    if (!line) return !message.empty();
    std::string text(line);
    std::free(line);
    if (!text.empty() && text.back() == '\\') {
      message += text.substr(0, text.size() - 1) + "\n";
      prompt = "... ";
      continue;
    }
    message += text;
    return true;
  }
}

const char interactive_help[] =
    "Type a message and press Enter; end a line with \\ to go on to the next.\n"
    "  /exit           end the session (or Ctrl-D)\n"
    "  /clear          drop the conversation (the system message stays)\n"
    "  /model NAME     talk to another model or deployment\n"
    "  /system TEXT    set the system message\n"
    "  /usage          print the token totals and the cost so far\n"
    "  /help           this help\n"
    "Ctrl-C stops the reply in progress; the session goes on.\n";

/// Streams the reply to `history`; Ctrl-C stops it, the partial reply kept
/// and marked {"interrupted": true} in its response_metadata.
chainpp::AIMessage streamed_reply(const chainpp::ChatModel& model, const chainpp::Messages& history,
                                  chainpp::RunConfig config) {
  std::stop_source stop;
  config.stop = stop.get_token();
  reply_interrupted = false;
  struct sigaction action {}, previous {};
  action.sa_handler = on_reply_sigint;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &previous);
  std::jthread watcher([&stop](std::stop_token done) {
    while (!done.stop_requested() && !reply_interrupted) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (reply_interrupted) stop.request_stop();
  });
  chainpp::AIMessageChunk merged;
  bool interrupted = false;
  try {
    for (auto& chunk : model.stream(history, {}, config)) {
      std::cout << for_stdout(chunk.content) << std::flush;
      merged += chunk;
      if (reply_interrupted) break;
    }
  } catch (const chainpp::CancelledError&) {
  }
  interrupted = reply_interrupted;
  watcher.request_stop();
  watcher.join();
  ::sigaction(SIGINT, &previous, nullptr);
  chainpp::AIMessage message = merged.to_message();
  if (interrupted) {
    message.response_metadata.set("interrupted", true);
    std::cout << " [interrupted]";
  }
  std::cout << '\n';
  return message;
}

}  // namespace

int interactive_chat(const Options& opts, ModelApp chosen, chainpp::Messages history, chainpp::RunConfig config,
                     std::shared_ptr<chainpp::UsageCostHandler> usage) {
  chainpp::ChatModelPtr model = chosen.app.model(chosen.model);
  const std::string path = history_path();
  ::using_history();
  if (!path.empty()) ::read_history(path.c_str());
  ::signal(SIGINT, SIG_IGN);  // at the prompt; a reply in progress takes it
  std::cout << "chainpp chat with " << chosen.model << " (/help for the commands, Ctrl-D to end)\n";
  std::string message;
  while (read_message(message)) {
    if (message.find_first_not_of(" \t\n") == std::string::npos) continue;
    ::add_history(message.c_str());
    if (!path.empty()) ::write_history(path.c_str());
    if (message == "/exit" || message == "/quit") break;
    if (message == "/help") {
      std::cout << interactive_help;
    } else if (message == "/clear") {
      const bool system = !history.empty() && history.front().role == chainpp::Role::system;
      history.erase(history.begin() + (system ? 1 : 0), history.end());
      std::cout << "(conversation cleared)\n";
    } else if (message == "/usage") {
      std::cout << for_stdout(usage->summary()) << '\n';
    } else if (message.rfind("/model ", 0) == 0) {
      Options other = opts;
      other["model"] = {message.substr(7)};
      try {
        ModelApp next = load_model_app(other, "");
        model = next.app.model(next.model);
        chosen = std::move(next);
        std::cout << "(now talking to " << chosen.model << ")\n";
      } catch (const std::exception& e) {
        std::cerr << chainpp::escape_for_terminal(e.what()) << '\n';
      }
    } else if (message.rfind("/system ", 0) == 0) {
      if (!history.empty() && history.front().role == chainpp::Role::system) history.erase(history.begin());
      history.insert(history.begin(), chainpp::SystemMessage(message.substr(8)));
      std::cout << "(system message set)\n";
    } else if (message[0] == '/') {
      std::cerr << "unknown command " << chainpp::escape_for_terminal(message.substr(0, message.find(' ')))
                << " (/help lists them)\n";
    } else {
      history.push_back(chainpp::HumanMessage(message));
      try {
        history.push_back(streamed_reply(*model, history, config));
      } catch (const chainpp::Error& e) {
        history.pop_back();  // not answered: not in the conversation
        const auto* provider = dynamic_cast<const chainpp::ProviderError*>(&e);
        std::cerr << chainpp::escape_for_terminal(provider ? provider->described() : std::string(e.what())) << '\n';
      }
    }
  }
  std::cout << '\n';
  if (has(opts, "usage")) std::cout << for_stdout(usage->summary()) << '\n';
  return exit_ok;
}

}  // namespace cli
