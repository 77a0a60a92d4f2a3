#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/runnable.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace chainpp;

TEST_CASE("a | b feeds a's output to b") {
  auto upper = make_lambda("upper", [](const Value& v) {
    std::string s = v.as_text();
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return Value(s);
  });
  auto exclaim = make_lambda("exclaim", [](const Value& v) { return Value(v.as_text() + "!"); });
  auto chain = upper | exclaim | exclaim;
  REQUIRE(chain->invoke(Value("hi")).as_text() == "HI!!");
  REQUIRE(chain->name() == "RunnableSequence");
}

TEST_CASE("batch runs up to max_concurrency at once and keeps input order") {
  std::atomic<int> now{0}, peak{0};
  auto slow = make_lambda("slow", [&](const Value& v) {
    int n = ++now;
    int p = peak.load();
    while (n > p && !peak.compare_exchange_weak(p, n)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    --now;
    return Value(v.as_text() + "?");
  });
  std::vector<Value> inputs;
  for (int i = 0; i < 8; ++i) inputs.emplace_back(std::to_string(i));
  RunConfig config;
  config.max_concurrency = 4;
  auto out = slow->batch(inputs, config);
  REQUIRE(peak.load() == 4);
  REQUIRE(out.size() == 8);
  for (int i = 0; i < 8; ++i) REQUIRE(out[i].as_text() == std::to_string(i) + "?");

  peak = 0;
  config.max_concurrency = 1;
  slow->batch(inputs, config);
  REQUIRE(peak.load() == 1);
}

TEST_CASE("batch rethrows the first failure after all calls end") {
  std::atomic<int> calls{0};
  auto f = make_lambda("f", [&](const Value& v) -> Value {
    ++calls;
    if (v.as_text() == "bad") throw InputError("bad input");
    return v;
  });
  REQUIRE_THROWS_WITH(f->batch({Value("a"), Value("bad"), Value("c")}), "bad input");
  REQUIRE(calls.load() == 3);
}

TEST_CASE("ainvoke does not block the caller") {
  std::atomic<bool> release{false};
  auto gate = make_lambda("gate", [&](const Value& v) {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return v;
  });
  auto fut = gate->ainvoke(Value("x"));
  // The caller runs on while the call waits for it.
  REQUIRE(fut.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  release = true;
  REQUIRE(fut.get().as_text() == "x");
}

TEST_CASE("with_retry retries chainpp errors, then gives up with the last error") {
  int calls = 0;
  auto flaky = make_lambda("flaky", [&](const Value& v) -> Value {
    if (++calls < 3) throw InputError("try " + std::to_string(calls));
    return v;
  });
  RetryConfig p;
  p.max_attempts = 3;
  p.initial_delay = 0.001;
  REQUIRE(flaky->with_retry(p)->invoke(Value("ok")).as_text() == "ok");
  REQUIRE(calls == 3);
  calls = -10;
  REQUIRE_THROWS_WITH(flaky->with_retry(p)->invoke(Value("ok")), "try -7");
}

TEST_CASE("with_fallbacks tries the next runnable, and rethrows the first error when all fail") {
  auto bad = make_lambda("bad", [](const Value&) -> Value { throw InputError("primary down"); });
  auto good = make_lambda("good", [](const Value& v) { return Value("fallback:" + v.as_text()); });
  REQUIRE(bad->with_fallbacks({good})->invoke(Value("x")).as_text() == "fallback:x");
  REQUIRE_THROWS_WITH(bad->with_fallbacks({bad})->invoke(Value("x")), "primary down");
}

TEST_CASE("stream of a sequence merges pieces for steps that cannot stream") {
  auto a = make_lambda("a", [](const Value& v) { return Value(v.as_text() + "a"); });
  auto b = make_lambda("b", [](const Value& v) { return Value(v.as_text() + "b"); });
  auto pieces = (a | b)->stream(Value(">")).collect();
  REQUIRE(pieces.size() == 1);
  REQUIRE(pieces[0].as_text() == ">ab");
}

TEST_CASE("merge_values joins text and chunks") {
  REQUIRE(merge_values(Value("ab"), Value("cd")).as_text() == "abcd");
  AIMessageChunk x, y;
  x.content = "J'";
  y.content = "adore";
  REQUIRE(merge_values(Value(x), Value(y)).as_chunk().content == "J'adore");
}

TEST_CASE("Value accessors name the expected and actual kinds") {
  REQUIRE_THROWS_WITH(Value("x").as_messages(), "expected a messages value, got text");
  REQUIRE(Value(ValueMap{{"k", Value("v")}}).to_json().dump() == R"({"k":"v"})");
}
