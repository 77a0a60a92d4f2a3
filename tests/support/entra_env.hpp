#pragma once
// EntraEnv: the environment of a test of the Entra ID credentials. It points
// every identity endpoint at loopback (the emulator, or a closed port),
// clears every credential variable a developer's shell may hold, puts PATH
// on an empty directory (no real `az`) and sets
// CHAINPP_CREDENTIALS_LOOPBACK_ONLY, so that no credential can reach an
// address that is not loopback (169.254.169.254 included): core refuses it.
// Restores the environment when destroyed. Make it before any thread.
//
//   chainpp::test::EntraEnv env(emu.base_url());
//   env.set("AZURE_TENANT_ID", "tenant-1");
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unistd.h>

namespace chainpp::test {

/// "http://127.0.0.1:PORT" of a port nothing listens on (connections are refused).
inline std::string closed_loopback_url() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  const auto port = s.address().port();
  s.close();
  return "http://127.0.0.1:" + std::to_string(port);
}

class EntraEnv {
public:
  /// `identity_base`: where the token endpoint and IMDS are (default: a closed loopback port).
  explicit EntraEnv(const std::string& identity_base = closed_loopback_url())
      : bin_(std::filesystem::temp_directory_path() / ("chainpp_entra_bin." + std::to_string(::getpid()))) {
    std::filesystem::create_directories(bin_);
    for (const char* name : {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                             "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD",
                             "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT",
                             "MSI_SECRET", "IMDS_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN",
                             "OPENAI_API_KEY", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"})
      unset(name);
    set("CHAINPP_CREDENTIALS_LOOPBACK_ONLY", "1");
    set("AZURE_AUTHORITY_HOST", identity_base);
    set("AZURE_POD_IDENTITY_AUTHORITY_HOST", identity_base);
    set("PATH", bin_.string());
  }
  ~EntraEnv() {
    for (const auto& [name, value] : saved_) {
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
    std::error_code ec;
    std::filesystem::remove_all(bin_, ec);
  }
  EntraEnv(const EntraEnv&) = delete;
  EntraEnv& operator=(const EntraEnv&) = delete;

  void set(const std::string& name, const std::string& value) {
    save(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    save(name);
    ::unsetenv(name.c_str());
  }
  /// The directory PATH holds (empty unless a test puts a stand-in `az` there).
  std::string bin() const { return bin_.string(); }

private:
  void save(const std::string& name) {
    if (saved_.count(name)) return;
    const char* v = std::getenv(name.c_str());
    saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
  }

  std::filesystem::path bin_;
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace chainpp::test
