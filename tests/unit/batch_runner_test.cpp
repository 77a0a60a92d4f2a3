// run_batch: a pipeline over a JSONL file of inputs, one result line per input,
// resumed after a kill, within concurrency and rate limits.
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/batch_runner.hpp>
#include <chainpp/chat_model.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/output_parsers.hpp>
#include <chainpp/prompts.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

using namespace chainpp;
namespace fs = std::filesystem;

namespace {

/// Answers with the human message in upper case after `delay`; a message
/// containing "fail" raises a 500; the first `rate_limited` calls raise a 429.
class UpperModel : public ChatModel {
public:
  struct Shared {
    std::atomic<int> calls{0};
    std::atomic<int> in_flight{0};
    std::atomic<int> max_in_flight{0};
    std::atomic<int> rate_limited{0};
    std::atomic<bool> fail{true};
    std::optional<RateLimitStatus> quota;  // reported by every call when set
  };
  explicit UpperModel(std::chrono::milliseconds delay = {}) : delay_(delay), shared_(std::make_shared<Shared>()) {}
  std::string provider() const override { return "upper"; }
  Shared& shared() const { return *shared_; }

protected:
  std::shared_ptr<ChatModel> clone() const override { return std::make_shared<UpperModel>(*this); }
  AIMessage generate(const Messages& messages, const CallOptions&, const CallContext& ctx) const override {
    ++shared_->calls;
    if (shared_->quota) ctx.run.rate_limit_status(*shared_->quota);
    const int now = ++shared_->in_flight;
    int seen = shared_->max_in_flight.load();
    while (now > seen && !shared_->max_in_flight.compare_exchange_weak(seen, now)) {
    }
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    --shared_->in_flight;
    std::string text = messages.back().text();
    if (shared_->rate_limited.fetch_sub(1) > 0) {
      ProviderErrorInfo info{"upper", 429, "429", "Rate limit", "req-429", 1, 0.3, {}, {}};
      throw RateLimitError("upper: HTTP 429 Rate limit", info);
    }
    if (shared_->fail && text.find("fail") != std::string::npos)
      throw ServerError("upper: HTTP 500 boom", ProviderErrorInfo{"upper", 500, "boom", "boom", "req-7", 1, {}, {}, {}});
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    AIMessage m(text);
    m.response_metadata = Json{{"model_name", "gpt-35-turbo"}};
    m.usage_metadata = UsageMetadata{10, 2, 12, std::nullopt, std::nullopt};
    return m;
  }

private:
  std::chrono::milliseconds delay_;
  std::shared_ptr<Shared> shared_;
};

struct Fixture {
  std::shared_ptr<UpperModel> model;
  RunnablePtr chain;
  explicit Fixture(std::chrono::milliseconds delay = {}) : model(std::make_shared<UpperModel>(delay)) {
    chain = ChatPromptTemplate::from_messages({{"human", "{input}"}}) | model | StrOutputParser();
  }
};

const chainpp::test::TempDir work("chainpp_batch_runner_test");

std::string path(const std::string& name) { return work.path(name); }

void write(const std::string& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string read(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Inputs {"input": "word1"} ... {"input": "wordN"}.
std::string inputs(int n, const std::string& word = "word") {
  std::string text;
  for (int i = 1; i <= n; ++i) text += "{\"input\":\"" + word + std::to_string(i) + "\"}\n";
  return text;
}

std::vector<Json> lines_of(const std::string& p) {
  std::vector<Json> lines;
  std::istringstream in(read(p));
  for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
  return lines;
}

/// The input line numbers of the results, sorted.
std::vector<std::int64_t> line_numbers(const std::string& p) {
  std::vector<std::int64_t> numbers;
  for (const auto& j : lines_of(p)) numbers.push_back(j["line"].as_int());
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

std::vector<std::int64_t> one_to(int n) {
  std::vector<std::int64_t> v;
  for (int i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

BatchOptions sequential() {
  BatchOptions o;
  o.concurrency = 1;
  return o;
}

}  // namespace

TEST_CASE("batch: one exact result line per input, in order with concurrency 1") {
  Fixture f;
  const std::string in = path("exact.in.jsonl"), out = path("exact.out.jsonl");
  write(in, "{\"input\":\"hello\"}\n{\"input\":\"please fail\"}\n{\"input\":\"bye\"}\n");
  BatchSummary s = run_batch(*f.chain, in, out, sequential());
  CHECK(read(out) ==
        "{\"line\":1,\"output\":\"HELLO\",\"usage\":{\"input_tokens\":10,\"output_tokens\":2,\"total_tokens\":12},"
        "\"error\":null}\n"
        "{\"line\":2,\"output\":null,\"usage\":null,\"error\":{\"type\":\"ServerError\",\"message\":\"upper: HTTP 500 "
        "boom\",\"status\":500,\"code\":\"boom\",\"request_id\":\"req-7\"}}\n"
        "{\"line\":3,\"output\":\"BYE\",\"usage\":{\"input_tokens\":10,\"output_tokens\":2,\"total_tokens\":12},"
        "\"error\":null}\n");
  CHECK(s.total == 3);
  CHECK(s.done == 3);
  CHECK(s.ok == 2);
  CHECK(s.failed == 1);
  CHECK(s.skipped == 0);
  CHECK(s.tokens == 24);
  CHECK_FALSE(s.stopped);
}

TEST_CASE("batch: bad input lines become error lines with their line number; blank lines are skipped") {
  Fixture f;
  const std::string in = path("bad.in.jsonl"), out = path("bad.out.jsonl");
  write(in, "{\"input\":\"a\"}\n\n{\"input\": \n[1,2]\n{\"other\":\"x\"}\n{\"input\":\"b\"}\n");
  BatchOptions o = sequential();
  o.required_inputs = {"input"};
  BatchSummary s = run_batch(*f.chain, in, out, o);
  const auto lines = lines_of(out);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].dump() == "{\"line\":1,\"output\":\"A\",\"usage\":{\"input_tokens\":10,\"output_tokens\":2,"
                           "\"total_tokens\":12},\"error\":null}");
  CHECK(lines[1]["line"].as_int() == 3);
  CHECK(lines[1]["error"]["type"].as_string() == "InputError");
  CHECK(lines[1]["error"]["message"].as_string().rfind("invalid JSON: ", 0) == 0);
  CHECK(lines[2].dump() == "{\"line\":4,\"output\":null,\"usage\":null,\"error\":{\"type\":\"InputError\","
                           "\"message\":\"expected a JSON object of pipeline inputs\",\"status\":null,\"code\":null,"
                           "\"request_id\":null}}");
  CHECK(lines[3].dump() == "{\"line\":5,\"output\":null,\"usage\":null,\"error\":{\"type\":\"InputError\","
                           "\"message\":\"missing input 'input'\",\"status\":null,\"code\":null,\"request_id\":null}}");
  CHECK(lines[4]["line"].as_int() == 6);
  CHECK(lines[4]["output"].as_string() == "B");
  CHECK(s.total == 5);
  CHECK(s.failed == 3);
  CHECK(f.model->shared().calls == 2);
}

TEST_CASE("batch: json_output writes the pipeline's value in its JSON form") {
  auto model = std::make_shared<UpperModel>();
  RunnablePtr chain = ChatPromptTemplate::from_messages({{"human", "{input}"}}) | model;
  const std::string in = path("json.in.jsonl"), out = path("json.out.jsonl");
  write(in, "{\"input\":\"hi\"}\n");
  BatchOptions o = sequential();
  o.json_output = true;
  run_batch(*chain, in, out, o);
  const auto lines = lines_of(out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["output"]["type"].as_string() == "ai");
  CHECK(lines[0]["output"]["content"].as_string() == "HI");
}

TEST_CASE("batch: re-running skips inputs that have a result") {
  Fixture f;
  const std::string in = path("resume.in.jsonl"), out = path("resume.out.jsonl");
  write(in, inputs(5));
  run_batch(*f.chain, in, out, sequential());
  const std::string first = read(out);
  BatchSummary s = run_batch(*f.chain, in, out, sequential());
  CHECK(read(out) == first);
  CHECK(s.skipped == 5);
  CHECK(s.done == 0);
  CHECK(f.model->shared().calls == 5);
}

TEST_CASE("batch: a torn last line is truncated away and its input run again") {
  Fixture f;
  const std::string in = path("torn.in.jsonl"), out = path("torn.out.jsonl");
  write(in, inputs(4));
  const std::string line1 = "{\"line\":1,\"output\":\"WORD1\",\"usage\":null,\"error\":null}\n";
  const std::string line3 = "{\"line\":3,\"output\":\"WORD3\",\"usage\":null,\"error\":null}\n";

  SECTION("cut in the output") { write(out, line1 + line3 + "{\"line\":2,\"output\":\"WO"); }
  SECTION("cut in the line number") { write(out, line1 + line3 + "{\"line\":2"); }
  SECTION("cut in the first member's name") { write(out, line1 + line3 + "{\"li"); }
  SECTION("cut before its newline") { write(out, line1 + line3 + "{\"line\":2,\"output\":\"WORD2\",\"usage\":null,\"error\":null}"); }

  BatchSummary s = run_batch(*f.chain, in, out, sequential());
  CHECK(s.skipped == 2);
  CHECK(s.done == 2);
  CHECK(f.model->shared().calls == 2);
  const std::string text = read(out);
  CHECK(text.rfind(line1 + line3, 0) == 0);
  CHECK(line_numbers(out) == one_to(4));
}

TEST_CASE("batch: an output with a line that is not a result of this batch is refused, the file left alone") {
  Fixture f;
  const std::string in = path("corrupt.in.jsonl"), out = path("corrupt.out.jsonl");
  write(in, inputs(2) + "\n");  // line 3 is blank: it has no input
  const std::string line1 = "{\"line\":1,\"output\":\"WORD1\",\"usage\":null,\"error\":null}\n";
  std::string text, error;
  SECTION("not JSON, before a result") {
    text = "not json\n" + line1;
    error = ":1: not a batch result line";
  }
  SECTION("a complete last line that is not JSON") {
    text = line1 + "{\"line\":2,\"outp\n";
    error = ":2: not a batch result line";
  }
  SECTION("a one-line file of something else") {
    text = "{\"input\":\"word1\"}\n";
    error = ":1: not a batch result line";
  }
  SECTION("a last line without a newline that is not the start of a result") {
    text = line1 + "hello";
    error = ":2: not a batch result line";
  }
  SECTION("an object without the members of a result") {
    text = "{\"line\":1,\"error\":null}\n";
    error = ":1: not a batch result line";
  }
  SECTION("a result with another member") {
    text = "{\"line\":1,\"output\":\"x\",\"usage\":null,\"error\":null,\"extra\":1}\n";
    error = ":1: not a batch result line";
  }
  SECTION("the result of a blank input line") {
    text = line1 + "{\"line\":3,\"output\":\"x\",\"usage\":null,\"error\":null}\n";
    error = ":2: not a result of this batch ('" + in + "' has no input on line 3)";
  }
  SECTION("a torn result of a line past the inputs") {
    text = line1 + "{\"line\":9,\"output\":\"WO";
    error = ":2: not a batch result line";
  }
  write(out, text);
  REQUIRE_THROWS_WITH(run_batch(*f.chain, in, out, sequential()), "batch: " + out + error);
  CHECK(read(out) == text);
  CHECK(f.model->shared().calls == 0);
}

TEST_CASE("batch: the inputs file as the output is refused, whatever its path") {
  Fixture f;
  const std::string in = path("self.in.jsonl");
  write(in, inputs(1));
  REQUIRE_THROWS_WITH(run_batch(*f.chain, in, in, sequential()),
                      "batch: the output '" + in + "' is the inputs file '" + in + "'; choose another output file");
  CHECK(read(in) == inputs(1));
  CHECK(f.model->shared().calls == 0);
}

TEST_CASE("batch: failed inputs are kept on resume, and run again with retry_failed") {
  Fixture f;
  const std::string in = path("retry.in.jsonl"), out = path("retry.out.jsonl");
  write(in, "{\"input\":\"a\"}\n{\"input\":\"fail b\"}\n{\"input\":\"c\"}\n{\"input\":\"fail d\"}\n");
  BatchSummary first = run_batch(*f.chain, in, out, sequential());
  CHECK(first.failed == 2);

  f.model->shared().fail = false;
  BatchSummary again = run_batch(*f.chain, in, out, sequential());
  CHECK(again.skipped == 4);
  CHECK(again.done == 0);

  BatchOptions o = sequential();
  o.retry_failed = true;
  BatchSummary retried = run_batch(*f.chain, in, out, o);
  CHECK(retried.skipped == 2);
  CHECK(retried.done == 2);
  CHECK(retried.ok == 2);
  CHECK(f.model->shared().calls == 6);
  // Exactly one line per input: the failed results were removed before the retry.
  CHECK(read(out) == "{\"line\":1,\"output\":\"A\",\"usage\":{\"input_tokens\":10,\"output_tokens\":2,\"total_tokens\":12},"
                     "\"error\":null}\n"
                     "{\"line\":3,\"output\":\"C\",\"usage\":{\"input_tokens\":10,\"output_tokens\":2,\"total_tokens\":12},"
                     "\"error\":null}\n"
                     "{\"line\":2,\"output\":\"FAIL B\",\"usage\":{\"input_tokens\":10,\"output_tokens\":2,"
                     "\"total_tokens\":12},\"error\":null}\n"
                     "{\"line\":4,\"output\":\"FAIL D\",\"usage\":{\"input_tokens\":10,\"output_tokens\":2,"
                     "\"total_tokens\":12},\"error\":null}\n");
}

TEST_CASE("batch: max_failures stops starting new inputs") {
  Fixture f;
  const std::string in = path("maxfail.in.jsonl"), out = path("maxfail.out.jsonl");
  write(in, inputs(10, "fail"));
  BatchOptions o = sequential();
  o.max_failures = 3;
  BatchSummary s = run_batch(*f.chain, in, out, o);
  CHECK(s.stopped);
  CHECK(s.failed == 3);
  CHECK(s.done == 3);
  CHECK(s.remaining() == 7);
  CHECK(f.model->shared().calls == 3);
  CHECK(line_numbers(out) == one_to(3));
}

TEST_CASE("batch: concurrency N runs N calls at once, no more") {
  Fixture f(std::chrono::milliseconds(100));
  const std::string in = path("conc.in.jsonl"), out = path("conc.out.jsonl");
  write(in, inputs(12));
  BatchOptions o;
  o.concurrency = 4;
  const auto start = std::chrono::steady_clock::now();
  BatchSummary s = run_batch(*f.chain, in, out, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(s.ok == 12);
  CHECK(f.model->shared().max_in_flight == 4);
  CHECK(seconds >= 0.3);
  CHECK(line_numbers(out) == one_to(12));
}

TEST_CASE("batch: rpm spaces the calls") {
  Fixture f;
  const std::string in = path("rpm.in.jsonl"), out = path("rpm.out.jsonl");
  write(in, inputs(11));
  BatchOptions o;
  o.concurrency = 4;
  o.rpm = 1200;  // one call per 50 ms
  const auto start = std::chrono::steady_clock::now();
  run_batch(*f.chain, in, out, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds >= 0.45);  // 10 intervals after the first call
  CHECK(line_numbers(out) == one_to(11));
}

TEST_CASE("batch: tpm charges the estimate before a call and the reported usage after") {
  Fixture f;
  const std::string in = path("tpm.in.jsonl"), out = path("tpm.out.jsonl");
  write(in, inputs(6));  // each line is 17 characters: estimate 4 + 96 = 100 tokens
  BatchOptions o;
  o.concurrency = 4;
  o.tpm = 6000;  // 100 tokens per second, a bucket of 100
  o.expected_output_tokens = 96;
  const auto start = std::chrono::steady_clock::now();
  run_batch(*f.chain, in, out, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Each call reports 12 tokens and gets 88 back: after the first call the
  // bucket refills 100 tokens in about 0.12 s instead of 1 s.
  CHECK(seconds < 4.0);  // without the correction: 5 s
  CHECK(seconds >= 0.3);
  CHECK(line_numbers(out) == one_to(6));
}

TEST_CASE("batch: a 429 pauses new calls for its retry-after and puts the input back") {
  Fixture f;
  f.model->shared().rate_limited = 1;
  const std::string in = path("429.in.jsonl"), out = path("429.out.jsonl");
  write(in, inputs(3));
  const auto start = std::chrono::steady_clock::now();
  BatchSummary s = run_batch(*f.chain, in, out, sequential());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(s.ok == 3);
  CHECK(s.failed == 0);
  CHECK(f.model->shared().calls == 4);
  CHECK(seconds >= 0.3);
  CHECK(line_numbers(out) == one_to(3));
}

TEST_CASE("batch: a response reporting the quota exhausted pauses new calls for a second") {
  // Each input's estimate is 17 / 4 + 96 = 100.25 tokens.
  struct Row {
    std::optional<std::int64_t> requests, tokens;
    std::size_t pauses;
  };
  for (const Row& row : {Row{0, 5000, 2}, Row{7, 100, 2}, Row{7, 101, 0}, Row{std::nullopt, 5000, 0}}) {
    DYNAMIC_SECTION("remaining requests " << (row.requests ? std::to_string(*row.requests) : "-") << ", tokens "
                                          << *row.tokens) {
      Fixture f;
      f.model->shared().quota = RateLimitStatus{row.requests, row.tokens};
      const std::string in = path("quota.in.jsonl"), out = path("quota.out.jsonl");
      write(in, inputs(2));
      fs::remove(out);
      BatchOptions o = sequential();
      o.expected_output_tokens = 96;
      const auto start = std::chrono::steady_clock::now();
      BatchSummary s = run_batch(*f.chain, in, out, o);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      CHECK(s.ok == 2);
      CHECK(s.quota_pauses == row.pauses);
      if (row.pauses > 0) CHECK(seconds >= 1.0);  // the second input waited out the first pause
      CHECK(line_numbers(out) == one_to(2));
    }
  }
}

TEST_CASE("batch: an input rate limited more often than rate_limit_requeues fails with the 429") {
  Fixture f;
  f.model->shared().rate_limited = 2;
  const std::string in = path("429fail.in.jsonl"), out = path("429fail.out.jsonl");
  write(in, inputs(1));
  BatchOptions o = sequential();
  o.rate_limit_requeues = 1;
  BatchSummary s = run_batch(*f.chain, in, out, o);
  CHECK(s.failed == 1);
  CHECK(read(out) == "{\"line\":1,\"output\":null,\"usage\":null,\"error\":{\"type\":\"RateLimitError\",\"message\":"
                     "\"upper: HTTP 429 Rate limit\",\"status\":429,\"code\":\"429\",\"request_id\":\"req-429\"}}\n");
}

TEST_CASE("batch: progress after every result, with the cost from a usage_cost handler") {
  Fixture f;
  PricingTable pricing;
  pricing.set("gpt-35-turbo", ModelPrice{0.5, 1.5, std::nullopt});
  auto usage = std::make_shared<UsageCostHandler>(pricing);
  const std::string in = path("progress.in.jsonl"), out = path("progress.out.jsonl");
  write(in, inputs(3));
  BatchOptions o = sequential();
  o.run_config.callbacks.push_back(usage);
  o.usage_cost = usage;
  std::vector<std::size_t> done;
  o.on_progress = [&](const BatchProgress& p) { done.push_back(p.done); };
  BatchSummary s = run_batch(*f.chain, in, out, o);
  CHECK(done == std::vector<std::size_t>{1, 2, 3});
  CHECK(s.cost == Approx(3 * (10 * 0.5 + 2 * 1.5) / 1000));
  s.elapsed_seconds = 4.24;
  CHECK(format_batch_summary(s) == "batch: 3 done (3 ok, 0 failed), 36 tokens, Total Cost (USD): $0.024000, 4.2 s");
}

TEST_CASE("batch: format_batch_summary") {
  BatchSummary s;
  s.total = 1500;
  s.skipped = 400;
  s.done = 1100;
  s.ok = 1098;
  s.failed = 2;
  s.tokens = 3100;
  s.cost = 0.000123;
  s.elapsed_seconds = 64.0;
  CHECK(format_batch_summary(s) ==
        "batch: 1,100 done (1,098 ok, 2 failed), 400 skipped, 3,100 tokens, Total Cost (USD): $0.000123, 64.0 s");
}

TEST_CASE("batch: format_batch_progress") {
  BatchProgress p;
  p.total = 2000;
  p.skipped = 500;
  p.done = 150;
  p.failed = 2;
  p.tokens = 12345;
  p.cost = 0.0042;
  p.elapsed_seconds = 10;
  CHECK(format_batch_progress(p) == "batch: 650/2,000, 15.0/s, 12,345 tokens, $0.004200, ETA 1 min 30 s, 2 failed");
  p.done = 0;
  CHECK(format_batch_progress(p) == "batch: 500/2,000, 0.0/s, 12,345 tokens, $0.004200, ETA -, 2 failed");
  p.done = 1;
  p.elapsed_seconds = 4;
  CHECK(format_batch_progress(p) == "batch: 501/2,000, 0.2/s, 12,345 tokens, $0.004200, ETA 1 h 39 min, 2 failed");
}

TEST_CASE("batch: unreadable inputs are an error") {
  Fixture f;
  REQUIRE_THROWS_WITH(run_batch(*f.chain, path("missing.jsonl"), path("missing.out.jsonl")),
                      "batch: cannot read inputs '" + path("missing.jsonl") + "'");
}

TEST_CASE("batch: an output file another batch is writing is refused") {
  Fixture f;
  const std::string in = path("locked.in.jsonl"), out = path("locked.out.jsonl");
  write(in, inputs(1));
  write(out, "");
  const int fd = ::open(out.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);
  REQUIRE_THROWS_WITH(run_batch(*f.chain, in, out, sequential()),
                      "batch: '" + out + "' is being written by another batch");
  ::close(fd);
  CHECK(run_batch(*f.chain, in, out, sequential()).ok == 1);
  CHECK(f.model->shared().calls == 1);
}
