// TokenCredential's cache, refresh and single fetch, with a host's own
// credential (no network), and the names make_azure_credential takes.
#include <catch2/catch.hpp>
#include <chainpp/credentials.hpp>

#include <atomic>
#include <barrier>
#include <thread>

using namespace chainpp;

namespace {

using Clock = std::chrono::system_clock;

// A host's credential: tokens "host-N" living `lifetime`, after `delay`; throws when `fail` is set.
class HostCredential final : public TokenCredential {
public:
  std::chrono::milliseconds lifetime{3600000};
  std::chrono::milliseconds delay{0};
  std::optional<std::chrono::milliseconds> refresh_in;
  std::atomic<bool> fail{false};
  std::atomic<bool> empty{false};
  mutable std::atomic<int> calls{0};

  std::string name() const override { return "HostCredential"; }

protected:
  AccessToken request_token(const std::vector<std::string>& scopes) const override {
    const int n = ++calls;
    std::this_thread::sleep_for(delay);
    if (fail) throw AuthenticationError("HostCredential: no token today", ProviderErrorInfo{});
    AccessToken t{empty ? std::string() : "host-" + std::to_string(n) + "-" + scopes.at(0), Clock::now() + lifetime, {}};
    if (refresh_in) t.refresh_on = Clock::now() + *refresh_in;
    return t;
  }
};

}  // namespace

TEST_CASE("TokenCredential caches per scopes") {
  HostCredential c;
  for (int i = 0; i < 100; ++i) REQUIRE(c.get_token({"a"}).token == "host-1-a");
  REQUIRE(c.get_token({"b"}).token == "host-2-b");
  REQUIRE(c.get_token({"a"}).token == "host-1-a");
  REQUIRE(c.calls == 2);
}

TEST_CASE("TokenCredential refreshes at refresh_on, else ahead of expiry") {
  HostCredential c;
  c.refresh_in = std::chrono::milliseconds(0);  // stale at once, valid for an hour
  REQUIRE(c.get_token({"a"}).token == "host-1-a");
  REQUIRE(c.get_token({"a"}).token == "host-2-a");
  REQUIRE(c.calls == 2);

  HostCredential short_lived;
  short_lived.lifetime = std::chrono::milliseconds(400);  // refreshed from 200 ms on
  REQUIRE(short_lived.get_token({"a"}).token == "host-1-a");
  REQUIRE(short_lived.get_token({"a"}).token == "host-1-a");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  REQUIRE(short_lived.get_token({"a"}).token == "host-2-a");
}

TEST_CASE("a failed early refresh keeps the valid token and waits before trying again") {
  HostCredential c;
  c.refresh_in = std::chrono::milliseconds(0);
  REQUIRE(c.get_token({"a"}).token == "host-1-a");
  c.fail = true;
  REQUIRE(c.get_token({"a"}).token == "host-1-a");  // the refresh failed: the token is still valid
  REQUIRE(c.get_token({"a"}).token == "host-1-a");  // and no new attempt yet
  REQUIRE(c.calls == 2);
}

TEST_CASE("callers waiting for a fetch that fails all get its error, from one attempt") {
  HostCredential c;
  c.fail = true;
  c.delay = std::chrono::milliseconds(300);
  std::barrier start(8);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      start.arrive_and_wait();
      try {
        c.get_token({"a"});
      } catch (const AuthenticationError& e) {
        if (std::string(e.what()) == "HostCredential: no token today") ++errors;
      }
    });
  for (auto& t : threads) t.join();
  REQUIRE(errors == 8);
  REQUIRE(c.calls == 1);
  c.fail = false;
  c.delay = std::chrono::milliseconds(0);
  REQUIRE(c.get_token({"a"}).token == "host-2-a");  // the next call tries again
}

TEST_CASE("an empty token is an error") {
  HostCredential c;
  c.empty = true;
  REQUIRE_THROWS_WITH(c.get_token({"a"}), "HostCredential: the token endpoint returned an empty token");
}

TEST_CASE("make_azure_credential names the kinds; bearer_token_provider needs a credential") {
  REQUIRE_THROWS_WITH(make_azure_credential("keyless"),
                      "unknown Azure credential 'keyless'; known: default, environment, workload_identity, "
                      "managed_identity, azure_cli");
  REQUIRE_THROWS_WITH(bearer_token_provider(nullptr, {kCognitiveServicesScope}),
                      "bearer_token_provider: the credential is null");
  auto host = std::make_shared<HostCredential>();
  auto provider = bearer_token_provider(host, {"s"});
  REQUIRE(provider() == "host-1-s");
  REQUIRE(provider() == "host-1-s");
  REQUIRE_THROWS_WITH(ChainedTokenCredential({}), "ChainedTokenCredential: no credential to try");
}

TEST_CASE("a chain uses the first credential that gives a token, and then only that one") {
  auto failing = std::make_shared<HostCredential>();
  failing->fail = true;
  auto working = std::make_shared<HostCredential>();
  ChainedTokenCredential chain({failing, working});
  REQUIRE(chain.get_token({"a"}).token == "host-1-a");
  REQUIRE(chain.get_token({"b"}).token == "host-2-b");
  REQUIRE(failing->calls == 1);
  failing->fail = false;
  working->fail = true;
  REQUIRE_THROWS_WITH(chain.get_token({"c"}), "HostCredential: no token today");
  REQUIRE(failing->calls == 1);
}
