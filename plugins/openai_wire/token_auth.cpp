#include "token_auth.hpp"

#include <chainpp/errors.hpp>

namespace chainpp::openai_wire {

const std::vector<std::string>& token_auth_keys() {
  static const std::vector<std::string> keys = {"azure_credential", "managed_identity_client_id", "azure_ad_scope"};
  return keys;
}

TokenAuth parse_token_auth(const ConfigNode& node, const ProviderContext& ctx, const TransportOptions& transport,
                           const std::string& provider, bool use_host, bool use_file) {
  TokenAuth auth;
  auth.scopes = {node.get_string("azure_ad_scope", kCognitiveServicesScope)};
  if (auth.scopes.front().empty() || auth.scopes.front().find_first_of(" \r\n\t") != std::string::npos)
    node.at("azure_ad_scope").fail(provider + ": 'azure_ad_scope' must be one scope, without spaces");
  const std::string kind = node.get_string("azure_credential", "");
  const std::string client_id = node.get_string("managed_identity_client_id", "");
  if (node.contains("managed_identity_client_id") && kind != "managed_identity" && kind != "default")
    node.at("managed_identity_client_id")
        .fail(provider + ": 'managed_identity_client_id' needs azure_credential: managed_identity or default");
  if (node.contains("azure_credential")) {
    const auto& kinds = azure_credential_kinds();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
      std::string known;
      for (const auto& k : kinds) known += (known.empty() ? "" : ", ") + k;
      node.at("azure_credential").fail(provider + ": unknown azure_credential '" + kind + "'; known: " + known);
    }
  }
  if (use_host && ctx.token_credential) {
    auth.credential = ctx.token_credential;
    return auth;
  }
  if (!use_file || kind.empty()) return auth;
  CredentialOptions options;
  options.transport = transport;
  options.managed_identity_client_id = client_id;
  try {
    auth.credential = make_azure_credential(kind, options);
  } catch (const Error& e) {
    node.at("azure_credential").fail(provider + ": " + e.what());
  }
  auth.kind = kind;
  return auth;
}

void add_bearer(const TokenAuth& auth, HttpHeaders& headers) {
  headers.emplace_back("Authorization", "Bearer " + auth.credential->get_token(auth.scopes).token);
}

}  // namespace chainpp::openai_wire
