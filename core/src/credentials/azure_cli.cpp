// AzureCliCredential: `az account get-access-token --scope <scope> --output
// json`, found on PATH and run without a shell, with a timeout.
#include "credentials/token_request.hpp"

#include <chainpp/json.hpp>
#include <chainpp/terminal.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

extern char** environ;

namespace chainpp {

namespace {

constexpr std::size_t kMaxOutputBytes = 1 << 20;

struct CliResult {
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;
  std::string out;
  std::string err;
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Runs `args` (args[0] looked up on PATH) with no standard input, reading
// its output and errors (each up to kMaxOutputBytes) until it ends or `timeout` passes.
CliResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  CliResult r;
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) return r;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    close_fd(out[0]);
    close_fd(out[1]);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close_fd(out[1]);
  close_fd(err[1]);
  if (spawned != 0) {
    close_fd(out[0]);
    close_fd(err[0]);
    return r;
  }
  r.started = true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out[0] >= 0 || err[0] >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      std::string& sink = i == 0 ? r.out : r.err;
      if (got <= 0) {
        close_fd(i == 0 ? out[0] : err[0]);
      } else if (sink.size() < kMaxOutputBytes) {
        sink.append(buffer, static_cast<std::size_t>(got));
      }
    }
  }
  close_fd(out[0]);
  close_fd(err[0]);
  if (r.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// `expiresOn` of older CLIs: "2026-12-02 17:49:01.000000", local time.
std::optional<std::chrono::system_clock::time_point> local_time(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (!end) return std::nullopt;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace

AzureCliCredential::AzureCliCredential(CredentialOptions options) : timeout_(options.cli_timeout) {}

AccessToken AzureCliCredential::request_token(const std::vector<std::string>& scopes) const {
  if (scopes.size() != 1) throw InputError(name() + ": the Azure CLI takes exactly one scope");
  const std::string& scope = scopes.front();
  if (scope.empty()) throw InputError(name() + ": an empty scope");
  for (const char c : scope)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr(".-:/_", c))
      throw InputError(name() + ": the scope may hold only letters, digits and . - : / _");
  const CliResult r = run({"az", "account", "get-access-token", "--scope", scope, "--output", "json"}, timeout_);
  if (!r.started || r.exit_code == 127) credentials::fail(name(), "the Azure CLI ('az') is not on PATH", true);
  if (r.timed_out)
    credentials::fail(name(), "'az account get-access-token' did not finish within " +
                                  std::to_string(timeout_.count()) + " ms");
  if (r.exit_code != 0) {
    const bool login = r.err.find("az login") != std::string::npos;
    std::string said = r.err.substr(0, 250);
    while (!said.empty() && std::isspace(static_cast<unsigned char>(said.back()))) said.pop_back();
    said = escape_for_terminal(said);
    credentials::fail(name(), (login ? std::string("not logged in; run 'az login' (") : std::string("'az' failed (")) +
                                  "exit code " + std::to_string(r.exit_code) + "): " + said,
                      login);
  }
  auto bad = [&](const std::string& why) -> AccessToken {
    throw BadResponseError(name() + ": " + why, ProviderErrorInfo{name(), 0, "", "", "", 1, {}, {}, {}});
  };
  Json j;
  try {
    j = Json::parse(r.out);
  } catch (const std::exception&) {
    return bad("the output of 'az account get-access-token' is not JSON");
  }
  const Json* token = j.is_object() ? j.find("accessToken") : nullptr;
  if (!token || !token->is_string() || token->as_string().empty())
    return bad("the output of 'az account get-access-token' has no accessToken");
  AccessToken t;
  t.token = token->as_string();
  if (t.token.find_first_of("\r\n", 0) != std::string::npos || t.token.find('\0') != std::string::npos)
    return bad("the accessToken holds CR, LF or NUL");
  const Json* epoch = j.find("expires_on");
  const Json* local = j.find("expiresOn");
  if (epoch && epoch->is_number() && std::isfinite(epoch->as_double()) && epoch->as_double() >= 0) {
    t.expires_on = std::chrono::system_clock::time_point{} +
                   std::chrono::seconds(static_cast<std::int64_t>(epoch->as_double()));
  } else if (local && local->is_string() && local_time(local->as_string())) {
    t.expires_on = *local_time(local->as_string());
  } else {
    return bad("the output of 'az account get-access-token' has no valid expires_on or expiresOn");
  }
  return t;
}

}  // namespace chainpp
