// The interactive `chainpp chat` through a pseudo-terminal, against the
// loopback emulator: editing keys edit the line and never reach the model
// (the emulator's request log), slash commands, the history file, /exit with
// --usage, and Ctrl-C cancelling a slow reply while the session goes on.
#include "emulator_process.hpp"
#include "pty_session.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

using chainpp::Json;
using chainpp::test::PtySession;

namespace {

const chainpp::test::TempDir work("chainpp_interactive_chat_test");

/// `chainpp chat -m gpt-4o extra...` on a terminal, the model from the
/// environment at `emu`, the history in this test's directory.
std::vector<std::string> chat(const chainpp::test::EmulatorProcess& emu, const std::vector<std::string>& extra) {
  std::filesystem::create_directories(work.path("state"));
  std::vector<std::string> argv = {"env", "-u", "CHAINPP_PLUGIN_PATH", "-u", "CHAINPP_CONFIG", "-u",
                                   "OPENAI_API_VERSION", "-u", "OPENAI_API_KEY",
                                   "XDG_CONFIG_HOME=" + work.path("no-config"), "HOME=" + work.path("home"),
                                   "XDG_STATE_HOME=" + work.path("state"), "TERM=xterm",
                                   "AZURE_OPENAI_ENDPOINT=" + emu.base_url(), "AZURE_OPENAI_API_KEY=test-key",
                                   CHAINPP_CLI, "chat", "-m", "gpt-4o"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

/// The user messages the emulator received, in order (the last of each request).
std::vector<std::string> sent(const chainpp::test::EmulatorProcess& emu) {
  std::vector<std::string> out;
  const Json requests = emu.requests();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Json& messages = requests[i]["body"]["messages"];
    out.push_back(messages[messages.size() - 1]["content"].as_string());
  }
  return out;
}

const std::string answer = "This is the emulator's answer to: ";

}  // namespace

TEST_CASE("interactive chat: editing keys edit the line, never reach the model; /exit prints the usage") {
  chainpp::test::EmulatorProcess emu;
  PtySession session(chat(emu, {"--usage"}));
  REQUIRE(session.read_until("> "));
  // "helo", Left, "l": "hello"; then Backspace over a typo
  session.write("helo\x1b[Dl\r");
  REQUIRE(session.read_until(answer + "hello"));
  REQUIRE(session.read_until("> "));
  session.write("worlx\x7f" "d\r");
  REQUIRE(session.read_until(answer + "world"));
  REQUIRE(session.read_until("> "));
  session.write("/usage\r");
  REQUIRE(session.read_until("Successful Requests: 2"));
  REQUIRE(session.read_until("> "));
  session.write("/exit\r");
  REQUIRE(session.read_until("Tokens Used: "));
  REQUIRE(session.read_until("Successful Requests: 2"));
  CHECK(session.wait() == 0);
  CHECK(sent(emu) == std::vector<std::string>{"hello", "world"});
  // the second request carried the first exchange: the conversation is kept
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1]["body"]["messages"].size() == 3);
  // the history file holds the lines typed
  const std::string history = chainpp::test::read_file(work.path("state") + "/chainpp/history");
  CHECK(history.find("hello") != std::string::npos);
  CHECK(history.find("/exit") != std::string::npos);
}

TEST_CASE("interactive chat: /clear, /system and an unknown command; Ctrl-D ends the session") {
  chainpp::test::EmulatorProcess emu;
  PtySession session(chat(emu, {}));
  REQUIRE(session.read_until("> "));
  session.write("one\r");
  REQUIRE(session.read_until(answer + "one"));
  REQUIRE(session.read_until("> "));
  session.write("/clear\r");
  REQUIRE(session.read_until("(conversation cleared)"));
  session.write("/system Be brief.\r");
  REQUIRE(session.read_until("(system message set)"));
  session.write("/frobnicate\r");
  REQUIRE(session.read_until("unknown command /frobnicate (/help lists them)"));
  REQUIRE(session.read_until("> "));
  session.write("two\r");
  REQUIRE(session.read_until(answer + "two"));
  REQUIRE(session.read_until("> "));
  session.write("\x04");  // Ctrl-D
  CHECK(session.wait() == 0);
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[1]["body"]["messages"].dump() ==
        R"([{"role":"system","content":"Be brief."},{"role":"user","content":"two"}])");
}

TEST_CASE("interactive chat: Ctrl-C stops a slow reply, which stays marked; the next prompt works") {
  chainpp::test::EmulatorProcess emu;
  PtySession session(chat(emu, {"-o", "default_headers={x-emulator-fault: \"slow-stream:300\"}"}));
  REQUIRE(session.read_until("> "));
  session.write("first message here\r");
  REQUIRE(session.read_until("This"));  // the reply has begun
  session.write("\x03");                // Ctrl-C
  REQUIRE(session.read_until(" [interrupted]\r\n"));
  REQUIRE(session.read_until("> "));
  session.write("second\r");
  REQUIRE(session.read_until(answer + "second", 30));
  REQUIRE(session.read_until("> "));
  session.write("/exit\r");
  CHECK(session.wait() == 0);
  const Json requests = emu.requests();
  REQUIRE(requests.size() == 2);
  // the interrupted reply is in the conversation the second request carried
  const Json& messages = requests[1]["body"]["messages"];
  REQUIRE(messages.size() == 3);
  CHECK(messages[1]["role"].as_string() == "assistant");
  const std::string partial = messages[1]["content"].as_string();
  CHECK(partial.rfind("This", 0) == 0);
  CHECK(partial.size() < (answer + "first message here").size());
}
