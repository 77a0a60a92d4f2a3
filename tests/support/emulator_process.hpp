#pragma once
// EmulatorProcess: runs tools/emulator's azure-openai-emulator as a child
// process on a free loopback port for one test, and stops it afterwards.
//
//   chainpp::test::EmulatorProcess emu({"--config", path});
//   request.url = emu.base_url() + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21";
//   CHECK(emu.stats().at("connections").as_int() == 1);
//
// The executable defaults to CHAINPP_EMULATOR (a compile definition the test
// target sets to $<TARGET_FILE:azure-openai-emulator>).
#include <chainpp/http.hpp>
#include <chainpp/json.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace chainpp::test {

class EmulatorProcess {
public:
#ifdef CHAINPP_EMULATOR
  explicit EmulatorProcess(std::vector<std::string> args = {}, std::string executable = CHAINPP_EMULATOR)
#else
  EmulatorProcess(std::vector<std::string> args, std::string executable)
#endif
  {
    args.insert(args.begin(), {executable, "--port", "0"});
    std::vector<char*> argv;  // built before fork(): the child only calls async-signal-safe functions
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("EmulatorProcess: pipe() failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("EmulatorProcess: fork() failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive a crashed test
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      pollfd p{out[0], POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      char buf[256];
      const auto n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    const std::string prefix = "listening on ";
    const auto colon = line.rfind(':');
    if (line.rfind(prefix, 0) != 0 || colon == std::string::npos) {
      stop();
      throw std::runtime_error("EmulatorProcess: " + executable + " did not start (printed '" + line + "')");
    }
    host_ = line.substr(prefix.size(), colon - prefix.size());
    port_ = std::stoi(line.substr(colon + 1));
  }

  ~EmulatorProcess() { stop(); }
  EmulatorProcess(const EmulatorProcess&) = delete;
  EmulatorProcess& operator=(const EmulatorProcess&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:PORT" (no trailing slash).
  std::string base_url() const { return "http://" + host_ + ":" + std::to_string(port_); }

  /// GET /_emulator/stats: {"requests", "connections" (distinct client connections
  /// that sent API requests), "streams", "tcp_connections", "current_connections"}.
  Json stats() const { return control("GET", "/_emulator/stats"); }
  /// GET /_emulator/requests: the API requests received, oldest first:
  /// [{"method", "uri", "headers": {...}, "body": <JSON or text>}].
  Json requests() const { return control("GET", "/_emulator/requests"); }
  /// GET /_emulator/files: the files of the Files API (uploaded and batch
  /// outputs), oldest first: [{"id", "filename", "purpose", "bytes", "content"}].
  Json files() const { return control("GET", "/_emulator/files"); }
  /// POST /_emulator/reset: clears counters, recorded requests and fault counters.
  void reset() const { control("POST", "/_emulator/reset"); }

  /// Stops the emulator (SIGTERM, then SIGKILL after 5 s). Idempotent.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      ::usleep(10000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

private:
  Json control(const char* method, const char* path) const {
    HttpClient client;  // its own connection: not counted in the emulator's API connections
    HttpRequest request;
    request.method = method;
    request.url = base_url() + path;
    request.provider = "emulator";
    TransportOptions options;
    options.max_retries = 0;
    return Json::parse(client.send(request, options).body);
  }

  pid_t pid_ = -1;
  std::string host_;
  int port_ = 0;
};

}  // namespace chainpp::test
