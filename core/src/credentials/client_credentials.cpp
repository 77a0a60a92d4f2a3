// The client credentials flow of the Microsoft identity platform: a client
// secret, a certificate's client assertion, a workload identity's federated
// token, and EnvironmentCredential, which picks one from the environment.
#include "credentials/token_request.hpp"

namespace chainpp {

using credentials::client_credentials;
using credentials::env;

namespace {

constexpr std::size_t kMaxPemBytes = 1 << 20;
constexpr std::size_t kMaxFederatedTokenBytes = 1 << 20;
constexpr const char* kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// The environment variables of `names` that are unset, "A, B and C"; "" when none is.
std::string unset_of(const std::vector<const char*>& names) {
  std::vector<std::string> unset;
  for (const char* n : names)
    if (env(n).empty()) unset.emplace_back(n);
  std::string out;
  for (std::size_t i = 0; i < unset.size(); ++i)
    out += (i == 0 ? "" : (i + 1 == unset.size() ? " and " : ", ")) + unset[i];
  return out;
}

}  // namespace

ClientSecretCredential::ClientSecretCredential(std::string tenant_id, std::string client_id,
                                               std::string client_secret, CredentialOptions options)
    : token_url_(credentials::token_endpoint(options, tenant_id, client_id, "ClientSecretCredential")),
      client_id_(std::move(client_id)),
      secret_(std::move(client_secret)),
      transport_(std::move(options.transport)) {
  if (secret_.empty()) throw ConfigError("ClientSecretCredential: the client secret is empty");
}

AccessToken ClientSecretCredential::request_token(const std::vector<std::string>& scopes) const {
  return client_credentials(token_url_, client_id_, scopes, {{"client_secret", secret_}}, transport_, name());
}

ClientCertificateCredential::ClientCertificateCredential(std::string tenant_id, std::string client_id,
                                                         const std::string& certificate_path,
                                                         CredentialOptions options)
    : token_url_(credentials::token_endpoint(options, tenant_id, client_id, "ClientCertificateCredential")),
      client_id_(std::move(client_id)),
      pem_(credentials::read_small_file(certificate_path, kMaxPemBytes, "the certificate file",
                                        "ClientCertificateCredential")),
      transport_(std::move(options.transport)) {
  // Signed once now, so that a bad file fails here rather than at the first request.
  (void)credentials::client_assertion(pem_, token_url_, client_id_, name());
}

AccessToken ClientCertificateCredential::request_token(const std::vector<std::string>& scopes) const {
  return client_credentials(token_url_, client_id_, scopes,
                            {{"client_assertion_type", kJwtBearer},
                             {"client_assertion", credentials::client_assertion(pem_, token_url_, client_id_, name())}},
                            transport_, name());
}

WorkloadIdentityCredential::WorkloadIdentityCredential(std::string tenant_id, std::string client_id,
                                                       std::string token_file, CredentialOptions options)
    : token_url_(credentials::token_endpoint(options, tenant_id, client_id, "WorkloadIdentityCredential")),
      client_id_(std::move(client_id)),
      token_file_(std::move(token_file)),
      transport_(std::move(options.transport)) {
  if (token_file_.empty()) throw ConfigError("WorkloadIdentityCredential: the federated token file is empty");
}

std::shared_ptr<WorkloadIdentityCredential> WorkloadIdentityCredential::from_environment(CredentialOptions options) {
  const std::string unset = unset_of({"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"});
  if (!unset.empty()) credentials::fail("WorkloadIdentityCredential", unset + " not set", true);
  return std::make_shared<WorkloadIdentityCredential>(env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"),
                                                      env("AZURE_FEDERATED_TOKEN_FILE"), std::move(options));
}

AccessToken WorkloadIdentityCredential::request_token(const std::vector<std::string>& scopes) const {
  // Read at every request: Kubernetes rotates the file.
  std::string assertion =
      credentials::read_small_file(token_file_, kMaxFederatedTokenBytes, "the federated token file", name());
  while (!assertion.empty() && (assertion.back() == '\n' || assertion.back() == '\r' || assertion.back() == ' '))
    assertion.pop_back();
  if (assertion.empty()) credentials::fail(name(), "the federated token file is empty");
  return client_credentials(token_url_, client_id_, scopes,
                            {{"client_assertion_type", kJwtBearer}, {"client_assertion", assertion}}, transport_,
                            name());
}

EnvironmentCredential::EnvironmentCredential(CredentialOptions options) {
  const std::string tenant = env("AZURE_TENANT_ID");
  const std::string client = env("AZURE_CLIENT_ID");
  if (!tenant.empty() && !client.empty() && !env("AZURE_CLIENT_SECRET").empty()) {
    inner_ = std::make_shared<ClientSecretCredential>(tenant, client, env("AZURE_CLIENT_SECRET"), std::move(options));
  } else if (!tenant.empty() && !client.empty() && !env("AZURE_CLIENT_CERTIFICATE_PATH").empty()) {
    inner_ = std::make_shared<ClientCertificateCredential>(tenant, client, env("AZURE_CLIENT_CERTIFICATE_PATH"),
                                                           std::move(options));
  } else {
    missing_ = "needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH; " +
               unset_of({"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH"}) +
               " not set";
  }
}

AccessToken EnvironmentCredential::request_token(const std::vector<std::string>& scopes) const {
  if (!inner_) credentials::fail(name(), missing_, true);
  return inner_->get_token(scopes);
}

}  // namespace chainpp
