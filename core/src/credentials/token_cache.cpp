// TokenCredential::get_token: the token cache of a credential, per scopes,
// with its refresh rules and one request at a time (see credentials.hpp).
#include <chainpp/credentials.hpp>

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>

namespace chainpp {

namespace {

using Clock = std::chrono::system_clock;

struct Entry {
  std::optional<AccessToken> token;
  Clock::time_point obtained;          // when the request of `token` began
  bool refreshing = false;             // a caller is fetching a new token
  long attempts = 0;                   // fetches ended, successful or not
  std::exception_ptr failure;          // of the last fetch, when it failed
  Clock::time_point quiet_until;       // after a failed early refresh: no new one before
};

Clock::duration lifetime(const Entry& e) {
  const auto d = e.token->expires_on - e.obtained;
  return d > Clock::duration::zero() ? d : Clock::duration::zero();
}

// When to ask for a new token: `refresh_on`, else 5 minutes before expiry
// (half the lifetime for tokens shorter than 10 minutes).
Clock::time_point refresh_at(const Entry& e) {
  if (e.token->refresh_on) return *e.token->refresh_on;
  return e.token->expires_on - std::min<Clock::duration>(std::chrono::minutes(5), lifetime(e) / 2);
}

// Until when the token may still be handed out: a tenth of its lifetime
// (at most 10 s) before it expires, so that it does not expire on the way.
Clock::time_point usable_until(const Entry& e) {
  return e.token->expires_on - std::min<Clock::duration>(std::chrono::seconds(10), lifetime(e) / 10);
}

bool usable(const Entry& e, Clock::time_point now) { return e.token && now < usable_until(e); }

std::string cache_key(const std::vector<std::string>& scopes) {
  std::string key;
  for (const auto& s : scopes) key += s + '\n';
  return key;
}

}  // namespace

struct TokenCredential::Cache {
  std::mutex mutex;
  std::condition_variable ended;  // a fetch ended
  std::map<std::string, Entry> entries;
};

TokenCredential::TokenCredential() : cache_(std::make_unique<Cache>()) {}
TokenCredential::~TokenCredential() = default;

AccessToken TokenCredential::get_token(const std::vector<std::string>& scopes) const {
  Cache& c = *cache_;
  std::unique_lock lock(c.mutex);
  Entry& e = c.entries[cache_key(scopes)];
  for (;;) {
    const auto now = Clock::now();
    if (usable(e, now) && (now < refresh_at(e) || e.refreshing || now < e.quiet_until)) return *e.token;
    if (e.refreshing) {
      // Another caller fetches: wait for its token (or its error).
      const long seen = e.attempts;
      c.ended.wait(lock, [&] { return e.attempts != seen; });
      if (e.failure && !usable(e, Clock::now())) std::rethrow_exception(e.failure);
      continue;
    }
    e.refreshing = true;
    lock.unlock();
    try {
      AccessToken fresh = request_token(scopes);
      if (fresh.token.empty())
        throw AuthenticationError(name() + ": the token endpoint returned an empty token",
                                  ProviderErrorInfo{name(), 0, "", "", "", 1, {}, {}, {}});
      lock.lock();
      e.token = fresh;
      e.obtained = now;
      e.failure = nullptr;
      e.refreshing = false;
      ++e.attempts;
      c.ended.notify_all();
      return fresh;
    } catch (...) {
      if (!lock.owns_lock()) lock.lock();
      e.failure = std::current_exception();
      e.refreshing = false;
      ++e.attempts;
      c.ended.notify_all();
      const auto after = Clock::now();
      if (!usable(e, after)) throw;
      // An early refresh failed: keep the valid token, try again a little later.
      e.quiet_until = after + std::min<Clock::duration>(std::chrono::seconds(30), lifetime(e) / 10);
      return *e.token;
    }
  }
}

}  // namespace chainpp
