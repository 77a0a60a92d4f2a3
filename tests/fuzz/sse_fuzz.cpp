// SseParser: the same bytes give the same events whatever the split (whole,
// byte at a time, random pieces chosen by the input itself) and whether they
// are taken with next() or next_event().
#include "fuzz_check.hpp"

#include <chainpp/sse.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Outcome {
  std::vector<chainpp::SseEvent> events;
  bool complete = false;
  bool done = false;
  bool truncated = false;
  std::optional<long> retry;
  std::string last_id;
};

void drain(chainpp::SseParser& p, Outcome& out) {
  while (auto e = p.next()) out.events.push_back(std::move(*e));
  chainpp::fuzz::check(p.pending() == 0, "pending() is 0 after draining next()");
}

Outcome finish(chainpp::SseParser& p, Outcome out) {
  out.complete = p.finish();
  drain(p, out);
  out.done = p.done();
  out.truncated = p.truncated();
  out.retry = p.retry_ms();
  out.last_id = p.last_event_id();
  chainpp::fuzz::check(out.complete == out.done, "finish() returns done()");
  chainpp::fuzz::check(out.truncated == !out.done, "truncated() after finish() is !done()");
  return out;
}

bool same(const Outcome& a, const Outcome& b) {
  if (a.events.size() != b.events.size()) return false;
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const auto& x = a.events[i];
    const auto& y = b.events[i];
    if (x.event != y.event || x.data != y.data || x.id != y.id) return false;
  }
  return a.complete == b.complete && a.done == b.done && a.truncated == b.truncated && a.retry == b.retry &&
         a.last_id == b.last_id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  // The first bytes seed the random split; the rest is the stream.
  const auto split_seed = fdp.ConsumeIntegral<std::uint32_t>();
  const std::string bytes = fdp.ConsumeRemainingBytesAsString();
  const std::string_view all(bytes);

  chainpp::SseParser whole;
  whole.feed(all);
  const Outcome a = finish(whole, {});

  chainpp::SseParser bytewise;
  Outcome b;
  for (char c : bytes) {
    bytewise.feed(std::string_view(&c, 1));
    drain(bytewise, b);  // taking events between feeds must not change them
  }
  b = finish(bytewise, std::move(b));
  chainpp::fuzz::check(same(a, b), "byte-at-a-time == whole");

  chainpp::SseParser pieces;
  std::uint32_t state = split_seed | 1u;
  std::size_t at = 0;
  while (at < all.size()) {
    state ^= state << 13;  // xorshift32: piece lengths 0..16, empty feeds included
    state ^= state >> 17;
    state ^= state << 5;
    const std::size_t n = std::min<std::size_t>(state % 17, all.size() - at);
    pieces.feed(all.substr(at, n));
    at += n;
  }
  const Outcome c = finish(pieces, {});
  chainpp::fuzz::check(same(a, c), "random pieces == whole");

  // next_event() (no copy, reused buffers) between feeds gives the same events.
  chainpp::SseParser viewed;
  Outcome d;
  for (std::size_t at3 = 0; at3 < all.size(); at3 += 3) {
    viewed.feed(all.substr(at3, 3));
    while (const chainpp::SseEvent* e = viewed.next_event()) d.events.push_back(*e);
  }
  d = finish(viewed, std::move(d));
  chainpp::fuzz::check(same(a, d), "next_event() in 3-byte pieces == whole");
  return 0;
}
