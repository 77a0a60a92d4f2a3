// chainpp-bench: drives a chat model from a YAML configuration (loaded with
// chainpp::App, exactly as a host does) with N requests, C at a time, and
// prints throughput, latency percentiles and peak RSS.
//
//   chainpp-bench --config FILE --model NAME --mode invoke|stream --requests N
//                 --concurrency C [--warmup W] [--expect TEXT] [--json]
//   chainpp-bench --config FILE --mode load [--json]
//
// invoke: each answer's content must equal --expect (default: be non-empty).
// stream: every chunk is merged into the message; the merged content must
// equal --expect (default: be non-empty) and at least one chunk must carry
// content. chunks_per_s counts chunks with content (as wrk's stream figure).
// load: times loading the configuration's plugins (dlopen + register) in this
// fresh process, then App::load of the whole configuration.
// Exit codes: 0 all requests succeeded, 1 some failed, 2 bad arguments or configuration.
#include <chainpp/app.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/registry.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

constexpr const char* usage_text =
    "usage: chainpp-bench --config FILE --model NAME --mode invoke|stream --requests N --concurrency C\n"
    "                     [--warmup W] [--expect TEXT] [--system TEXT] [--message TEXT] [--json]\n"
    "       chainpp-bench --config FILE --mode load [--json]\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string config;
  std::string model;
  std::string mode;
  long requests = -1;
  long concurrency = -1;
  long warmup = -1;  // default: min(requests, 10 * concurrency)
  std::optional<std::string> expect;
  std::string system = "You are a helpful assistant that translates English to French. Translate the user sentence.";
  std::string message = "I love programming.";
  bool json = false;
};

long positive_number(const std::string& name, const std::string& text, long min) {
  long v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || v < min)
    throw UsageError("--" + name + " expects an integer >= " + std::to_string(min) + ", got '" + text + "'");
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") throw UsageError("");
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2);
    std::string value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else {
      if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
      value = argv[++i];
    }
    if (name == "config") o.config = value;
    else if (name == "model") o.model = value;
    else if (name == "mode") o.mode = value;
    else if (name == "requests") o.requests = positive_number(name, value, 1);
    else if (name == "concurrency") o.concurrency = positive_number(name, value, 1);
    else if (name == "warmup") o.warmup = positive_number(name, value, 0);
    else if (name == "expect") o.expect = value;
    else if (name == "system") o.system = value;
    else if (name == "message") o.message = value;
    else throw UsageError("unknown option '--" + name + "'");
  }
  if (o.config.empty()) throw UsageError("--config is required");
  if (o.mode == "load") return o;
  if (o.mode != "invoke" && o.mode != "stream")
    throw UsageError(o.mode.empty() ? "--mode is required (invoke, stream or load)"
                                    : "--mode must be invoke, stream or load, not '" + o.mode + "'");
  if (o.model.empty()) throw UsageError("--model is required");
  if (o.requests < 0) throw UsageError("--requests is required");
  if (o.concurrency < 0) throw UsageError("--concurrency is required");
  if (o.concurrency > 4096) throw UsageError("--concurrency must be at most 4096");
  if (o.warmup < 0) o.warmup = std::min(o.requests, 10 * o.concurrency);
  return o;
}

/// One request's outcome: content chunks received (stream) and whether it passed.
struct Outcome {
  long chunks = 0;
  std::string failure;  // empty: passed
};

class Driver {
public:
  Driver(const Options& o, chainpp::ChatModelPtr model)
      : o_(o), model_(std::move(model)), messages_{chainpp::SystemMessage(o.system), chainpp::HumanMessage(o.message)} {}

  Outcome one() const {
    Outcome out;
    try {
      std::string content;
      if (o_.mode == "invoke") {
        content = model_->invoke(messages_).text();
      } else {
        chainpp::AIMessageChunk merged;
        auto stream = model_->stream(messages_);
        while (auto chunk = stream.next()) {
          if (!chunk->content.empty()) ++out.chunks;
          merged += *chunk;
        }
        if (out.chunks == 0) out.failure = "the stream carried no content chunk";
        content = std::move(merged.content);
      }
      if (out.failure.empty()) {
        if (o_.expect && content != *o_.expect)
          out.failure = "unexpected content '" + content + "' (expected '" + *o_.expect + "')";
        else if (!o_.expect && content.empty())
          out.failure = "empty content";
      }
    } catch (const std::exception& e) {
      out.failure = e.what();
    }
    return out;
  }

  struct Totals {
    double seconds = 0;
    std::vector<std::int64_t> latencies_us;
    long chunks = 0;
    long errors = 0;
    std::string first_error;
  };

  /// Runs `n` requests, `concurrency` at a time.
  Totals run(long n, long concurrency) const {
    Totals t;
    std::atomic<long> next{0};
    std::mutex mutex;
    const long threads = std::min(n, concurrency);
    std::vector<std::thread> workers;
    workers.reserve(static_cast<std::size_t>(threads));
    const auto start = std::chrono::steady_clock::now();
    for (long w = 0; w < threads; ++w) {
      workers.emplace_back([&] {
        std::vector<std::int64_t> latencies;
        latencies.reserve(static_cast<std::size_t>(n / threads + 1));
        long chunks = 0, errors = 0;
        std::string first_error;
        while (next.fetch_add(1, std::memory_order_relaxed) < n) {
          const auto t0 = std::chrono::steady_clock::now();
          Outcome r = one();
          const auto t1 = std::chrono::steady_clock::now();
          latencies.push_back(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count());
          chunks += r.chunks;
          if (!r.failure.empty()) {
            ++errors;
            if (first_error.empty()) first_error = std::move(r.failure);
          }
        }
        std::lock_guard lock(mutex);
        t.latencies_us.insert(t.latencies_us.end(), latencies.begin(), latencies.end());
        t.chunks += chunks;
        t.errors += errors;
        if (t.first_error.empty()) t.first_error = std::move(first_error);
      });
    }
    for (auto& w : workers) w.join();
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return t;
  }

private:
  const Options& o_;
  chainpp::ChatModelPtr model_;
  chainpp::Messages messages_;
};

std::int64_t percentile(std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;  // kilobytes on Linux
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// --mode load: the plugins of `plugins.load` loaded into a fresh registry
// (the first dlopen in this process), then the whole configuration.
int run_load(const Options& o) {
  namespace fs = std::filesystem;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const chainpp::ConfigNode root = chainpp::ConfigNode::load_file(o.config);
    const std::string base_dir = fs::absolute(o.config).parent_path().string();
    const double parse_ms = ms_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    chainpp::PluginRegistry registry;
    std::size_t plugins = 0;
    const chainpp::ConfigNode* section = root.find("plugins");
    const chainpp::ConfigNode* load = section ? section->find("load") : nullptr;
    if (load && load->is_list()) {
      const auto dirs = chainpp::plugin_search_dirs(root, base_dir);
      for (const auto& entry : load->as_string_list()) {
        const bool is_path = entry.find('/') != std::string::npos || entry.ends_with(".so");
        if (is_path) registry.load_file(entry, base_dir);
        else registry.load(entry, dirs);
        ++plugins;
      }
    }
    const double plugin_ms = ms_since(t1);
    const auto t2 = std::chrono::steady_clock::now();
    const chainpp::App app = chainpp::App::load(o.config);
    const double app_ms = ms_since(t2);
    char line[256];
    std::snprintf(line, sizeof line,
                  "{\"mode\":\"load\",\"plugins\":%zu,\"config_parse_ms\":%.3f,\"plugin_load_ms\":%.3f,"
                  "\"app_load_ms\":%.3f,\"peak_rss_kb\":%ld}",
                  plugins, parse_ms, plugin_ms, app_ms, peak_rss_kb());
    if (o.json) std::cout << line << std::endl;
    else
      std::printf("%zu plugin(s) loaded in %.3f ms (dlopen + register); App::load %.3f ms; peak RSS %ld kB\n",
                  plugins, plugin_ms, app_ms, peak_rss_kb());
    return exit_ok;
  } catch (const chainpp::Error& e) {
    std::cerr << "chainpp-bench: " << e.what() << "\n";
    return exit_usage;
  }
}

int run(const Options& o) {
  if (o.mode == "load") return run_load(o);
  chainpp::ChatModelPtr model;
  try {
    model = chainpp::App::load(o.config).model(o.model);
  } catch (const chainpp::Error& e) {
    std::cerr << "chainpp-bench: " << e.what() << "\n";
    return exit_usage;
  }
  const Driver driver(o, model);
  if (o.warmup > 0) {
    auto w = driver.run(o.warmup, o.concurrency);
    if (w.errors > 0 && static_cast<std::size_t>(w.errors) == w.latencies_us.size()) {
      std::cerr << "chainpp-bench: every warm-up request failed: " << w.first_error << "\n";
      return exit_failed;
    }
  }
  auto t = driver.run(o.requests, o.concurrency);
  std::sort(t.latencies_us.begin(), t.latencies_us.end());
  const double rps = static_cast<double>(o.requests) / t.seconds;
  const double cps = static_cast<double>(t.chunks) / t.seconds;
  char line[512];
  std::snprintf(line, sizeof line,
                "{\"mode\":\"%s\",\"requests\":%ld,\"concurrency\":%ld,\"seconds\":%.3f,\"req_per_s\":%.1f,"
                "\"p50_us\":%lld,\"p99_us\":%lld,\"chunks_per_s\":%.0f,\"peak_rss_kb\":%ld,\"errors\":%ld}",
                o.mode.c_str(), o.requests, o.concurrency, t.seconds, rps,
                static_cast<long long>(percentile(t.latencies_us, 50)),
                static_cast<long long>(percentile(t.latencies_us, 99)), cps, peak_rss_kb(), t.errors);
  if (o.json) {
    std::cout << line << std::endl;
  } else {
    std::printf("%s %s: %ld requests, %ld at a time, %.3f s\n", o.model.c_str(), o.mode.c_str(), o.requests,
                o.concurrency, t.seconds);
    std::printf("  %.1f req/s, p50 %lld us, p99 %lld us", rps, static_cast<long long>(percentile(t.latencies_us, 50)),
                static_cast<long long>(percentile(t.latencies_us, 99)));
    if (o.mode == "stream") std::printf(", %.0f content chunks/s", cps);
    std::printf("\n  peak RSS %ld kB, %ld errors\n", peak_rss_kb(), t.errors);
  }
  if (t.errors > 0) {
    std::cerr << "chainpp-bench: " << t.errors << " of " << o.requests << " requests failed; first: " << t.first_error
              << "\n";
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse_args(argc, argv);
  } catch (const UsageError& e) {
    if (*e.what()) std::cerr << "chainpp-bench: " << e.what() << "\n";
    std::cerr << usage_text;
    return exit_usage;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "chainpp-bench: " << e.what() << "\n";
    return exit_failed;
  }
}
