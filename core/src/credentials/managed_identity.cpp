// ManagedIdentityCredential: App Service's identity endpoint
// (IDENTITY_ENDPOINT + IDENTITY_HEADER, api-version 2019-08-01) or IMDS
// (api-version 2018-02-01, `Metadata: true`).
#include "credentials/token_request.hpp"

#include <chainpp/endpoint.hpp>

#include <algorithm>

namespace chainpp {

using credentials::env;

namespace {

constexpr const char* kImdsBase = "http://169.254.169.254";
constexpr const char* kImdsPath = "/metadata/identity/oauth2/token";

// A managed identity endpoint takes a resource: the one scope without "/.default".
std::string resource_of(const std::vector<std::string>& scopes, const std::string& who) {
  if (scopes.size() != 1) throw InputError(who + ": a managed identity takes exactly one scope");
  std::string r = credentials::join_scopes(scopes, who);
  static const std::string suffix = "/.default";
  if (r.size() > suffix.size() && r.compare(r.size() - suffix.size(), suffix.size(), suffix) == 0)
    r.resize(r.size() - suffix.size());
  return r;
}

}  // namespace

ManagedIdentityCredential::ManagedIdentityCredential(CredentialOptions options)
    : client_id_(std::move(options.managed_identity_client_id)), transport_(std::move(options.transport)) {
  const std::string endpoint = env("IDENTITY_ENDPOINT");
  const std::string header = env("IDENTITY_HEADER");
  if (!endpoint.empty() && !header.empty()) {
    app_service_ = true;
    endpoint_ = endpoint;
    identity_header_ = header;
    if (header_problem("X-IDENTITY-HEADER", header))
      throw ConfigError("ManagedIdentityCredential: IDENTITY_HEADER holds CR, LF or NUL");
    credentials::check_token_url(endpoint_, name());
  } else {
    std::string base = env("AZURE_POD_IDENTITY_AUTHORITY_HOST");
    if (base.empty()) base = kImdsBase;
    while (!base.empty() && base.back() == '/') base.pop_back();
    endpoint_ = base + kImdsPath;
    credentials::check_token_url(endpoint_, name(), true);
    // The IMDS is on this machine's network or not at all: a short connect timeout.
    transport_.connect_timeout = std::min(transport_.connect_timeout, std::chrono::milliseconds(1000));
    // IMDS answers 404 and 410 while it starts (as documented): retried too.
    transport_.retry_statuses = {404, 410};
    transport_.use_environment_proxy = false;  // link-local: never through a proxy
  }
}

AccessToken ManagedIdentityCredential::request_token(const std::vector<std::string>& scopes) const {
  const std::string resource = resource_of(scopes, name());
  credentials::check_token_url(endpoint_, name(), !app_service_);
  HttpRequest request;
  request.method = "GET";
  if (app_service_) {
    request.url = endpoint_ + (endpoint_.find('?') == std::string::npos ? "?" : "&") +
                  "api-version=2019-08-01&resource=" + url_encode(resource);
    if (!client_id_.empty()) request.url += "&client_id=" + url_encode(client_id_);
    request.headers.emplace_back("X-IDENTITY-HEADER", identity_header_);
    return credentials::fetch_token(std::move(request), transport_, name());
  }
  request.url = endpoint_ + "?api-version=2018-02-01&resource=" + url_encode(resource);
  if (!client_id_.empty()) request.url += "&client_id=" + url_encode(client_id_);
  request.headers.emplace_back("Metadata", "true");
  if (!answered_) {
    TransportOptions probe = transport_;
    probe.max_retries = 0;
    try {
      AccessToken t = credentials::fetch_token(request, probe, name());
      answered_ = true;
      return t;
    } catch (const AuthenticationError& e) {
      // No answer at all: there is no managed identity endpoint here.
      if (e.status() == 0) throw CredentialUnavailableError(std::string(e.what()) + " (no managed identity endpoint)", e.info());
      answered_ = true;
      const int s = e.status();
      if (!RetryPolicy::retryable_status(s) && s != 404 && s != 410) throw;
    }
  }
  return credentials::fetch_token(std::move(request), transport_, name());
}

}  // namespace chainpp
