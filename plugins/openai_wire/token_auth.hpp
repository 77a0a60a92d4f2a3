#pragma once
// Keyless authentication of the OpenAI dialects: a TokenCredential (the
// host's, or the one `azure_credential` names) whose token each request
// carries as `Authorization: Bearer`. Shared by the azure_openai and openai plugins.
#include <chainpp/config.hpp>
#include <chainpp/credentials.hpp>
#include <chainpp/http.hpp>
#include <chainpp/provider.hpp>

#include <memory>
#include <string>
#include <vector>

namespace chainpp::openai_wire {

/// The credential of a model and the scopes it asks tokens for.
struct TokenAuth {
  std::shared_ptr<TokenCredential> credential;  ///< nullptr: none
  std::vector<std::string> scopes;
  std::string kind;  ///< the `azure_credential` setting, "" for the host's credential

  explicit operator bool() const { return credential != nullptr; }
};

/// The keys parse_token_auth() reads: azure_credential, managed_identity_client_id, azure_ad_scope.
const std::vector<std::string>& token_auth_keys();

/// The host's credential (ctx.token_credential) when there is one and
/// `use_host`, else the one `azure_credential` names when `use_file`, made
/// with `transport` for its token requests; located ConfigErrors for bad
/// values (managed_identity_client_id without a managed identity, an empty
/// scope, an unknown kind).
TokenAuth parse_token_auth(const ConfigNode& node, const ProviderContext& ctx, const TransportOptions& transport,
                           const std::string& provider, bool use_host, bool use_file);

/// Adds `Authorization: Bearer <token>` from the credential.
void add_bearer(const TokenAuth& auth, HttpHeaders& headers);

}  // namespace chainpp::openai_wire
