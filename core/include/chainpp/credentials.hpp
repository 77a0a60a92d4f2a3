#pragma once
// Microsoft Entra ID credentials, as azure-identity provides them: a
// TokenCredential gets a bearer token for scopes, and core caches it per
// credential and scopes, refreshes it ahead of expiry and fetches one at a
// time. The implementations reach their token endpoints through core's HTTP
// transport (its retries included):
//
//   auto credential = std::make_shared<chainpp::DefaultAzureCredential>();
//   chainpp::AccessToken t = credential->get_token({chainpp::kCognitiveServicesScope});
//   request.headers.emplace_back("Authorization", "Bearer " + t.token);
//
// A token, a client secret, a client assertion and a certificate's key are
// secrets: no error, log or trace of chainpp holds one.
#include <chainpp/errors.hpp>
#include <chainpp/export.hpp>
#include <chainpp/http.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chainpp {

/// The scope of Azure OpenAI (Cognitive Services), the default of `azure_ad_scope`.
inline constexpr const char* kCognitiveServicesScope = "https://cognitiveservices.azure.com/.default";

/// Set (to any value) in a process's environment, this variable makes every
/// credential refuse a token endpoint that is not loopback (IMDS included) with
/// a ConfigError, before any connection: tests set it so that nothing can
/// reach a real identity service.
inline constexpr const char* kLoopbackOnlyEnv = "CHAINPP_CREDENTIALS_LOOPBACK_ONLY";

/// A bearer token and when it expires. `token` is a secret.
struct CHAINPP_API AccessToken {
  std::string token;
  std::chrono::system_clock::time_point expires_on;
  /// When the issuer asked to refresh it (`refresh_in`), if it did.
  std::optional<std::chrono::system_clock::time_point> refresh_on;
};

/// A credential that is not configured here (its environment variables are
/// unset, there is no Azure CLI, no managed identity endpoint answered): a
/// chain tries the next one.
class CHAINPP_API CredentialUnavailableError : public AuthenticationError {
public:
  using AuthenticationError::AuthenticationError;
};

/// Gets bearer tokens for scopes. get_token() serves the cached token of the
/// scopes while it is fresh, and otherwise asks request_token(), one request
/// at a time per scopes (other callers keep the still-valid token, or wait
/// for the new one). A token is refreshed at its `refresh_on`, else 5 minutes
/// before it expires (at half its lifetime when that is shorter), and is no
/// longer handed out once less than a tenth of its lifetime (at most 10 s)
/// remains. Thread-safe. A host implements request_token() for its own source.
class CHAINPP_API TokenCredential {
public:
  virtual ~TokenCredential();
  TokenCredential(const TokenCredential&) = delete;
  TokenCredential& operator=(const TokenCredential&) = delete;

  /// A token for `scopes` (cached, refreshed ahead of expiry). Throws
  /// AuthenticationError (CredentialUnavailableError when not configured).
  AccessToken get_token(const std::vector<std::string>& scopes) const;
  /// The credential's name in errors: "ClientSecretCredential".
  virtual std::string name() const = 0;

protected:
  TokenCredential();
  /// Fetches a new token for `scopes`, bypassing the cache.
  virtual AccessToken request_token(const std::vector<std::string>& scopes) const = 0;

private:
  struct Cache;
  std::unique_ptr<Cache> cache_;
};

/// What the Entra ID credentials share.
struct CHAINPP_API CredentialOptions {
  /// The Microsoft identity platform's host; empty: AZURE_AUTHORITY_HOST,
  /// else https://login.microsoftonline.com. Plain http:// only to loopback.
  std::string authority_host;
  /// The token requests' timeouts and retries (408, 409, 429, 5xx; IMDS also 404, 410).
  TransportOptions transport;
  /// Longest run of `az account get-access-token`.
  std::chrono::milliseconds cli_timeout{13000};
  /// The client id of a user-assigned managed identity; empty: the
  /// system-assigned one (DefaultAzureCredential: AZURE_CLIENT_ID).
  std::string managed_identity_client_id;
};

/// A service principal's client secret, through the client credentials flow:
/// POST {authority}/{tenant}/oauth2/v2.0/token.
class CHAINPP_API ClientSecretCredential final : public TokenCredential {
public:
  ClientSecretCredential(std::string tenant_id, std::string client_id, std::string client_secret,
                         CredentialOptions options = {});
  std::string name() const override { return "ClientSecretCredential"; }

protected:
  AccessToken request_token(const std::vector<std::string>& scopes) const override;

private:
  std::string token_url_, client_id_, secret_;
  TransportOptions transport_;
};

/// A service principal's certificate: a PEM file with the certificate and
/// its (unencrypted) private key. Each token request carries a client
/// assertion, a JWT signed RS256 whose `x5t` is the certificate's SHA-1
/// thumbprint. The file is read when the credential is made.
class CHAINPP_API ClientCertificateCredential final : public TokenCredential {
public:
  ClientCertificateCredential(std::string tenant_id, std::string client_id, const std::string& certificate_path,
                              CredentialOptions options = {});
  std::string name() const override { return "ClientCertificateCredential"; }

protected:
  AccessToken request_token(const std::vector<std::string>& scopes) const override;

private:
  std::string token_url_, client_id_, pem_;
  TransportOptions transport_;
};

/// Kubernetes workload identity: the federated token in `token_file` (re-read
/// at each request, since it rotates) as the client assertion.
class CHAINPP_API WorkloadIdentityCredential final : public TokenCredential {
public:
  WorkloadIdentityCredential(std::string tenant_id, std::string client_id, std::string token_file,
                             CredentialOptions options = {});
  /// From AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE;
  /// CredentialUnavailableError naming those unset.
  static std::shared_ptr<WorkloadIdentityCredential> from_environment(CredentialOptions options = {});
  std::string name() const override { return "WorkloadIdentityCredential"; }

protected:
  AccessToken request_token(const std::vector<std::string>& scopes) const override;

private:
  std::string token_url_, client_id_, token_file_;
  TransportOptions transport_;
};

/// A managed identity: App Service, Functions and Container Apps when
/// IDENTITY_ENDPOINT and IDENTITY_HEADER are set (api-version 2019-08-01,
/// header X-IDENTITY-HEADER), else IMDS (VMs, AKS):
/// GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01
/// with `Metadata: true`, its base overridable with AZURE_POD_IDENTITY_AUTHORITY_HOST.
/// The environment is read when the credential is made. Until IMDS first
/// answers, a request is a probe (1 s to connect, no retry): no answer means
/// no managed identity here (CredentialUnavailableError).
class CHAINPP_API ManagedIdentityCredential final : public TokenCredential {
public:
  explicit ManagedIdentityCredential(CredentialOptions options = {});
  std::string name() const override { return "ManagedIdentityCredential"; }

protected:
  AccessToken request_token(const std::vector<std::string>& scopes) const override;

private:
  bool app_service_ = false;
  std::string endpoint_;  ///< IDENTITY_ENDPOINT, or the IMDS token URL
  std::string identity_header_;
  std::string client_id_;
  TransportOptions transport_;
  mutable std::atomic<bool> answered_{false};  ///< the endpoint answered once (no more probing)
};

/// The signed-in Azure CLI: runs `az account get-access-token --output json
/// --scope <scope>` (found on PATH, without a shell, with options.cli_timeout).
class CHAINPP_API AzureCliCredential final : public TokenCredential {
public:
  explicit AzureCliCredential(CredentialOptions options = {});
  std::string name() const override { return "AzureCliCredential"; }

protected:
  AccessToken request_token(const std::vector<std::string>& scopes) const override;

private:
  std::chrono::milliseconds timeout_;
};

/// A service principal from the environment: AZURE_TENANT_ID and
/// AZURE_CLIENT_ID with AZURE_CLIENT_SECRET (ClientSecretCredential), else
/// with AZURE_CLIENT_CERTIFICATE_PATH (ClientCertificateCredential).
class CHAINPP_API EnvironmentCredential final : public TokenCredential {
public:
  explicit EnvironmentCredential(CredentialOptions options = {});
  std::string name() const override { return "EnvironmentCredential"; }

protected:
  AccessToken request_token(const std::vector<std::string>& scopes) const override;

private:
  std::shared_ptr<TokenCredential> inner_;  ///< nullptr when the environment has none
  std::string missing_;                     ///< why, then
};

/// Credentials tried in order; the first that gives a token is used from
/// then on. When all fail, one AuthenticationError lists each one's reason.
class CHAINPP_API ChainedTokenCredential : public TokenCredential {
public:
  explicit ChainedTokenCredential(std::vector<std::shared_ptr<TokenCredential>> credentials,
                                  std::string name = "ChainedTokenCredential");
  std::string name() const override { return name_; }

protected:
  AccessToken request_token(const std::vector<std::string>& scopes) const override;

private:
  std::vector<std::shared_ptr<TokenCredential>> credentials_;
  std::string name_;
  mutable std::atomic<int> chosen_{-1};
};

/// azure-identity's default chain: EnvironmentCredential, then
/// WorkloadIdentityCredential, ManagedIdentityCredential, AzureCliCredential.
class CHAINPP_API DefaultAzureCredential final : public ChainedTokenCredential {
public:
  explicit DefaultAzureCredential(CredentialOptions options = {});
};

/// The credential a configuration names: "default", "environment",
/// "workload_identity", "managed_identity" or "azure_cli". InputError
/// listing those for another name.
CHAINPP_API std::shared_ptr<TokenCredential> make_azure_credential(std::string_view kind,
                                                                   CredentialOptions options = {});

/// The names make_azure_credential() takes, in the order above.
CHAINPP_API const std::vector<std::string>& azure_credential_kinds();

/// A function returning a bearer token of `credential` for `scopes` at each
/// call, as azure-identity's get_bearer_token_provider.
CHAINPP_API std::function<std::string()> bearer_token_provider(std::shared_ptr<TokenCredential> credential,
                                                               std::vector<std::string> scopes);

}  // namespace chainpp
