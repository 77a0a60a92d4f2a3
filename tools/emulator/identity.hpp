#pragma once
// The emulator's Microsoft Entra ID side (identity.cpp): its configuration
// (the `identity:` section) and the tokens it issued, which the chat
// endpoints accept as `Authorization: Bearer` until they expire.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace emulator {

struct IdentityConfig {
  long token_lifetime = 3600;                       // seconds
  std::optional<long> refresh_in;                   // sent by the token endpoint when set
  std::string client_secret = "test-client-secret";  // the one accepted secret
  std::string identity_header = "test-identity-header";  // App Service's X-IDENTITY-HEADER
  std::string fault;                                // faults of every identity endpoint (see emulator.yaml)
};

/// Reads the `identity:` section; throws std::runtime_error "file:line:col: ...".
IdentityConfig parse_identity(const YAML::Node& node, const std::string& source);

/// The tokens issued, with their expiry. Thread-safe.
class IssuedTokens {
public:
  enum class Status { unknown, valid, expired };
  /// A new token of `kind` ("entra", "appservice", "imds") valid until `expires`.
  std::string issue(const std::string& kind, std::chrono::system_clock::time_point expires);
  Status status(const std::string& token) const;
  void clear();

private:
  mutable std::mutex mutex_;
  long next_ = 0;
  std::map<std::string, std::chrono::system_clock::time_point> tokens_;
};

}  // namespace emulator
