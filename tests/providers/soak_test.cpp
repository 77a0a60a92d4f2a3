// Soak under faults: 10,200 calls through the azure_openai plugin, a third of
// them streamed, 32 in flight, against the emulator injecting a fault chosen
// at random per call (429 with retry-after, 500/503, a reset before the
// response, a break mid-stream, slow responses, a response slower than the
// call's timeout). Every call must end with exactly the outcome its fault
// implies (the answer, or the right error after the right number of
// attempts); no call may outlive its deadline; threads, sockets and memory
// must be back where they were. The tally is printed and written to
// soak_tally.txt in the build directory (tools/run-tests.sh shows it).
#include "emulator_process.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>
#include <chainpp/registry.hpp>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

using namespace chainpp;
using chainpp::test::EmulatorProcess;

namespace {

constexpr int kCalls = 10200;
constexpr int kInFlight = 32;
constexpr int kWarmup = 1000;
constexpr auto kDeadline = std::chrono::seconds(20);  // the model's total_timeout

// What a call's fault implies: its outcome ("ok" or an error type) and the attempts made.
struct Expect {
  std::string outcome;
  int attempts;
  int or_attempts = 0;  // another possible count (0: none)
};

struct Scenario {
  std::string name;
  std::string fault;  // x-emulator-fault; "-then-ok" counts are per call (x-emulator-fault-id)
  int weight;
  Expect invoke;
  Expect stream;
  std::optional<double> timeout_seconds;  // the call's own read timeout
};

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = {
      {"clean", "", 40, {"ok", 1}, {"ok", 1}, {}},
      {"429 then ok", "429-then-ok:1", 10, {"ok", 2}, {"ok", 2}, {}},
      {"429 always", "429", 3, {"RateLimitError", 3}, {"RateLimitError", 3}, {}},
      {"500 then ok", "500-then-ok:1", 8, {"ok", 2}, {"ok", 2}, {}},
      {"503 twice then ok", "503-then-ok:2", 5, {"ok", 3}, {"ok", 3}, {}},
      {"500 always", "500", 3, {"ServerError", 3}, {"ServerError", 3}, {}},
      // A reset before the response on a pooled connection looks exactly like
      // a keep-alive connection the server closed while idle: the request is
      // sent once more on a new connection without counting an attempt.
      {"reset then ok", "reset-then-ok:1", 8, {"ok", 2, 1}, {"ok", 2, 1}, {}},
      {"reset always", "reset", 3, {"ConnectionError", 3}, {"ConnectionError", 3}, {}},
      // A plain call reads its body inside the attempt, so a cut body is
      // retried; a stream that broke after it started is reported, not retried.
      {"break mid-body", "reset-mid-stream", 5, {"ConnectionError", 3}, {"ConnectionError", 1}, {}},
      {"slow first byte", "slow-first-byte:30", 5, {"ok", 1}, {"ok", 1}, {}},
      {"slow stream", "slow-stream:3", 5, {"ok", 1}, {"ok", 1}, {}},
      {"slower than the timeout", "slow-first-byte:2000", 2, {"TimeoutError", 3}, {"TimeoutError", 3}, 0.3},
  };
  return all;
}

const Messages seed_messages = messages_from_pairs(
    {{"system", "You are a helpful assistant that translates English to French. Translate the user sentence."},
     {"human", "I love programming."}});

// Counts the retries of one call.
class RetryCounter : public CallbackHandler {
public:
  void on_retry(const RunInfo&, int, const std::exception&, double) override { ++retries; }
  std::atomic<int> retries{0};
};

std::string error_type(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const RateLimitError&) {
    return "RateLimitError";
  } catch (const ServerError&) {
    return "ServerError";
  } catch (const ConnectionError&) {
    return "ConnectionError";
  } catch (const TimeoutError&) {
    return "TimeoutError";
  } catch (const ProviderError&) {
    return "other ProviderError";
  } catch (const std::exception&) {
    return "other exception";
  }
}

int attempts_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const ProviderError& p) {
    return p.attempts();
  } catch (...) {
    return 0;
  }
}

std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

std::size_t count_entries(const char* dir, const char* link_prefix = nullptr) {
  std::size_t n = 0;
  DIR* d = ::opendir(dir);
  if (!d) return 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (link_prefix) {
      char target[256];
      const std::string path = std::string(dir) + "/" + e->d_name;
      const ssize_t len = ::readlink(path.c_str(), target, sizeof target - 1);
      if (len <= 0) continue;
      if (std::string_view(target, static_cast<std::size_t>(len)).rfind(link_prefix, 0) != 0) continue;
    }
    ++n;
  }
  ::closedir(d);
  return n;
}

std::size_t threads() { return count_entries("/proc/self/task"); }
std::size_t sockets() { return count_entries("/proc/self/fd", "socket:"); }

long rss_kb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

struct Tally {
  std::mutex mutex;
  std::map<std::string, long> counts;  // "succeeded first time", "succeeded after retry", "failed: <type>"
  std::map<std::string, long> by_scenario;
  std::vector<std::string> mismatches;
  long streamed = 0;
  std::chrono::steady_clock::duration longest{};
};

// Runs calls [first, last) with kInFlight workers.
void run_calls(const ChatModel& model, int first, int last, Tally& tally) {
  std::atomic<int> next{first};
  std::vector<int> weights;
  for (const auto& s : scenarios()) weights.push_back(s.weight);
  auto worker = [&] {
    for (int i = next++; i < last; i = next++) {
      std::mt19937 rng(static_cast<unsigned>(i) * 2654435761u);
      const Scenario& sc = scenarios()[std::discrete_distribution<int>(weights.begin(), weights.end())(rng)];
      const bool stream = i % 3 == 0;
      CallOptions options;
      if (!sc.fault.empty()) {
        options.headers = {{"x-emulator-fault", sc.fault},
                           {"x-emulator-fault-id", "call-" + std::to_string(i)},
                           {"x-emulator-retry-after-ms", "5"}};
      }
      options.timeout_seconds = sc.timeout_seconds;
      auto counter = std::make_shared<RetryCounter>();
      RunConfig config;
      config.callbacks = {counter};
      const auto start = std::chrono::steady_clock::now();
      std::string outcome;
      int attempts = 0;
      std::string detail;
      int chunks = 0;
      try {
        std::string text;
        if (stream) {
          for (auto& c : model.stream(seed_messages, options, config)) {
            text += c.content;
            ++chunks;
          }
        } else {
          text = model.invoke(seed_messages, options, config).text();
        }
        outcome = text == "J'adore la programmation." ? "ok" : "wrong answer";
        attempts = counter->retries + 1;
        detail = text;
      } catch (...) {
        outcome = error_type(std::current_exception());
        attempts = attempts_of(std::current_exception());
        detail = what_of(std::current_exception());
      }
      const auto took = std::chrono::steady_clock::now() - start;
      const Expect& want = stream ? sc.stream : sc.invoke;
      std::lock_guard lock(tally.mutex);
      tally.longest = std::max(tally.longest, took);
      tally.streamed += stream;
      ++tally.by_scenario[sc.name];
      if (outcome == "ok") ++tally.counts[attempts == 1 ? "succeeded first time" : "succeeded after retry"];
      else ++tally.counts["failed: " + outcome];
      const bool chunks_kept = sc.fault != "reset-mid-stream" || !stream || chunks > 0;
      const bool attempts_ok = attempts == want.attempts || attempts == want.or_attempts;
      if ((outcome != want.outcome || !attempts_ok || !chunks_kept) && tally.mismatches.size() < 20) {
        std::ostringstream m;
        m << "call " << i << " (" << sc.name << (stream ? ", stream" : ", invoke") << "): expected " << want.outcome
          << " after " << want.attempts << " attempts, got " << outcome << " after " << attempts
          << " attempts, " << chunks << " chunks: " << detail;
        tally.mismatches.push_back(m.str());
      }
    }
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < kInFlight; ++w) workers.emplace_back(worker);
  for (auto& t : workers) t.join();
}

}  // namespace

TEST_CASE("soak: 10,200 calls under random faults end exactly as their faults imply, leaking nothing") {
  EmulatorProcess emu({"--quiet"});
  PluginRegistry registry;
  registry.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so");
  const auto model = registry.create(
      "azure_openai",
      ConfigNode::parse_yaml("provider: azure_openai\nazure_deployment: gpt-35-turbo\nazure_endpoint: " +
                                 emu.base_url() + "\napi_version: 2024-10-21\napi_key: test-key\n"
                                 "timeout: 30\ntotal_timeout: 20\nmax_retries: 2\n",
                             "soak.yaml"));
  // Backoff between retries at 1/100 of its real length (the 429s ask for 5 ms).
  HttpClient::shared().set_retry_hooks_for_test(
      [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s / 100)); }, {});
  HttpClient::shared().clear();
  const std::size_t sockets_before = sockets();

  Tally tally;
  run_calls(*model, 0, kWarmup, tally);
  const std::size_t threads_warm = threads();
  const long rss_warm = rss_kb();
  const std::size_t sockets_warm = sockets();
  const std::size_t idle_warm = HttpClient::shared().idle_connections();
  run_calls(*model, kWarmup, kCalls, tally);
  const std::size_t threads_after = threads();
  const long rss_after = rss_kb();
  const std::size_t idle = HttpClient::shared().idle_connections();
  HttpClient::shared().clear();
  const std::size_t sockets_after = sockets();
  const Json stats = emu.stats();

  std::ostringstream out;
  out << "soak: " << kCalls << " calls (" << tally.streamed << " streamed), " << kInFlight << " in flight\n";
  for (const auto& [k, v] : tally.counts) out << "  " << k << ": " << v << "\n";
  out << "  by fault:";
  for (const auto& [k, v] : tally.by_scenario) out << " " << k << " " << v << ";";
  out << "\n  requests the emulator answered: " << stats["requests"].as_int()
      << ", tcp connections opened: " << stats["tcp_connections"].as_int() << ", pooled after warm-up/at the end: " << idle_warm << "/" << idle << " (sockets " << sockets_warm << ")"
      << "\n  threads after warm-up/after: " << threads_warm << "/" << threads_after
      << ", sockets before/after (pool cleared): " << sockets_before << "/" << sockets_after
      << ", RSS after warm-up/after: " << rss_warm << "/" << rss_after << " kB"
      << "\n  longest call: " << std::chrono::duration_cast<std::chrono::milliseconds>(tally.longest).count()
      << " ms (deadline " << kDeadline.count() << " s)\n";
  std::cout << out.str();
  std::ofstream(CHAINPP_BINARY_DIR "/soak_tally.txt") << out.str();

  for (const auto& m : tally.mismatches) UNSCOPED_INFO(m);
  CHECK(tally.mismatches.empty());
  long total = 0;
  for (const auto& [k, v] : tally.counts) total += v;
  CHECK(total == kCalls);
  CHECK(tally.streamed == kCalls / 3);
  CHECK(tally.longest < kDeadline + std::chrono::seconds(10));  // none hung past its deadline
  CHECK(threads_after == threads_warm);
  CHECK(sockets_after == sockets_before);
  CHECK(idle <= static_cast<std::size_t>(kInFlight));
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // (The sanitizers hold freed memory back on purpose: RSS says nothing there.)
  CHECK(rss_after - rss_warm < 8 * 1024);
#endif
}
