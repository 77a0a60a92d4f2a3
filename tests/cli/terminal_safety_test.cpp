// What a server sends never reaches the terminal raw: the real chainpp binary
// against a loopback server whose error body and request-id headers carry
// ESC, BEL and CR/LF, and a model answer with escape sequences printed to a
// pipe (unchanged) and to a pseudo-terminal (escaped).
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using Result = chainpp::test::CommandResult;

const chainpp::test::TempDir work("chainpp_terminal_safety_test");

/// Answers every request on 127.0.0.1 (port 0) with `response`, then closes
/// the connection; counts the requests.
class CannedServer {
public:
  explicit CannedServer(std::string response)
      : listener_(Poco::Net::SocketAddress("127.0.0.1", 0)), response_(std::move(response)),
        thread_([this] { serve(); }) {}
  ~CannedServer() {
    stop_ = true;
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(listener_.address().port()); }
  int requests() const { return requests_; }

private:
  void serve() {
    while (!stop_) {
      try {
        if (!listener_.poll(Poco::Timespan(0, 50000), Poco::Net::Socket::SELECT_READ)) continue;
        Poco::Net::StreamSocket c = listener_.acceptConnection();
        c.setReceiveTimeout(Poco::Timespan(5, 0));
        c.setSendTimeout(Poco::Timespan(5, 0));
        read_request(c);
        ++requests_;
        c.sendBytes(response_.data(), static_cast<int>(response_.size()));
        c.shutdownSend();
      } catch (const Poco::Exception&) {
      }
    }
  }
  // The head and a Content-Length body (each receive bounded by the 5 s timeout).
  static void read_request(Poco::Net::StreamSocket& c) {
    std::string data;
    char buf[4096];
    for (std::size_t need = std::string::npos; need == std::string::npos || data.size() < need;) {
      const int n = c.receiveBytes(buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<std::size_t>(n));
      const std::size_t head = data.find("\r\n\r\n");
      if (head == std::string::npos || need != std::string::npos) continue;
      const std::size_t at = data.find("Content-Length: ");
      need = head + 4 + (at < head ? std::stoul(data.substr(at + 16)) : 0);
    }
  }

  Poco::Net::ServerSocket listener_;
  std::string response_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::string http_response(const std::string& status, const std::string& extra_headers, const std::string& body) {
  return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "Connection: close\r\n\r\n" + body;
}

/// An azure_openai model `m` at `endpoint`, no retries.
std::string azure_config(const std::string& name, const std::string& endpoint) {
  const std::string p = work.path(name);
  chainpp::test::write_file(p,
                            "plugins: {load: [azure_openai]}\n"
                            "models:\n"
                            "  m:\n"
                            "    provider: azure_openai\n"
                            "    azure_deployment: gpt-35-turbo\n"
                            "    azure_endpoint: " + endpoint + "\n"
                            "    api_version: 2024-10-21\n"
                            "    api_key: test-key\n"
                            "    max_retries: 0\n"
                            "prompts:\n"
                            "  p: {messages: [[human, \"{input}\"]]}\n"
                            "pipelines:\n"
                            "  p: {steps: [{prompt: p}, {model: m}, {parser: str}]}\n");
  return p;
}

/// A fake model `m` answering `answer` (a YAML double-quoted string's content).
std::string fake_config(const std::string& name, const std::string& answer) {
  const std::string p = work.path(name);
  chainpp::test::write_file(p,
                            "plugins: {load: [fake]}\n"
                            "models:\n"
                            "  m: {provider: fake, responses: [\"" + answer + "\"]}\n");
  return p;
}

Result run(const std::vector<std::string>& args) {
  return chainpp::test::run_command(CHAINPP_CLI, args, "", "-u CHAINPP_PLUGIN_PATH");
}

/// Runs `chainpp args...` with standard output on a pseudo-terminal in raw
/// mode (no newline translation); what it printed there, read within 10 s.
std::string stdout_on_terminal(const std::vector<std::string>& args) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave_name = ::ptsname(master);
  const int slave = ::open(slave_name.c_str(), O_RDWR | O_NOCTTY);
  REQUIRE(slave >= 0);
  termios raw{};
  REQUIRE(::tcgetattr(slave, &raw) == 0);
  ::cfmakeraw(&raw);
  REQUIRE(::tcsetattr(slave, TCSANOW, &raw) == 0);

  std::vector<std::string> argv_text = {"env", "-u", "CHAINPP_PLUGIN_PATH", CHAINPP_CLI};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(slave, STDOUT_FILENO);
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, STDIN_FILENO);
    ::execvp("env", argv.data());
    ::_exit(127);
  }
  ::close(slave);
  std::string out;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the child closed the terminal
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  return out;
}

// The error body: ESC[2J (clear the screen), BEL and CR/LF before a forged line.
const std::string hostile_error_body =
    R"({"error":{"code":"\u001b[2J\u0007\r\nfake code","message":"\u001b[2J\u0007\r\nfake line"}})";
// Raw control bytes in the request-id headers (CR and LF cannot be in a header).
const std::string hostile_apim_id = "apim-request-id: apim\x1b[31m\x07-1\r\n";
const std::string hostile_x_id = "x-request-id: x\x1b]0;title\x07\x7f-2\r\n";

}  // namespace

TEST_CASE("terminal safety: a server's error message, code and request id are escaped on stderr") {
  const std::string forged = "\\u001b[2J\\u0007\\r\\n";  // as printed
  std::string headers, shown_id;
  SECTION("apim-request-id") {
    headers = hostile_apim_id + "x-request-id: not-this-one\r\n";
    shown_id = "apim\\u001b[31m\\u0007-1";
  }
  SECTION("x-request-id") {
    headers = hostile_x_id;
    shown_id = "x\\u001b]0;title\\u0007\\u007f-2";
  }
  CannedServer server(http_response("400 Bad Request", headers, hostile_error_body));
  const std::string config = azure_config("error.yaml", server.url());
  const std::string expected = "azure_openai: HTTP 400 " + forged + "fake code: " + forged + "fake line (request id " +
                               shown_id + ", 1 attempt)\n";
  Result r = run({"chat", config, "--message", "hi"});
  CHECK(r.out == "");
  const std::string called = expected.substr(0, expected.size() - 1) + " [calling azure_openai at " +
                             server.url().substr(7) + ", deployment gpt-35-turbo, api-version 2024-10-21]\n";
  CHECK(r.err == called);
  CHECK(r.code == 3);
  CHECK(server.requests() == 1);

  Result pipeline = run({"run", config, "--input", "input=hi"});
  CHECK(pipeline.out == "");
  CHECK(pipeline.err == called);  // a pipeline's model call names itself too
  CHECK(pipeline.code == 3);
}

TEST_CASE("terminal safety: a batch's id and status from the service are escaped") {
  const std::string body =
      R"({"id":"batch_1\u001b[2J","status":"in_progress\r\nbatch: fake","errors":{"data":[{"message":"\u0007oops"}]},)"
      R"("request_counts":{"total":2,"completed":1,"failed":0}})";
  CannedServer server(http_response("200 OK", "", body));
  const std::string config = azure_config("status.yaml", server.url());
  Result r = run({"batch-status", config, "batch_1"});
  CHECK(r.err == "");
  CHECK(r.out ==
        "batch_1\\u001b[2J: in_progress\\r\\nbatch: fake, 1/2 done, 1 completed, 0 failed; errors: \\u0007oops\n");
  CHECK(r.code == 0);
}

TEST_CASE("terminal safety: a model's answer is printed as it is to a pipe, escaped on a terminal") {
  // ESC]0; sets the window title, ESC[2J clears the screen, U+009B is the C1 CSI.
  const std::string config = fake_config("answer.yaml", "caf\\u00e9 \\e]0;pwned\\a\\e[2J\\r\\nline 2\\tend \\u009b31m");
  const std::string answer = "caf\xc3\xa9 \x1b]0;pwned\x07\x1b[2J\r\nline 2\tend \xc2\x9b" "31m";
  const std::string escaped = "caf\xc3\xa9 \\u001b]0;pwned\\u0007\\u001b[2J\\r\nline 2\tend \\u009b31m";

  Result piped = run({"chat", config, "--message", "hi"});
  CHECK(piped.out == answer + "\n");
  CHECK(piped.code == 0);
  CHECK(stdout_on_terminal({"chat", config, "--message", "hi"}) == escaped + "\n");
  CHECK(stdout_on_terminal({"chat", config, "--message", "hi", "--stream"}) == escaped + "\n");
}
