#pragma once
// Internal to the azure_openai plugin: the Azure settings of a model, shared by
// its chat calls (azure_openai.cpp) and its Batch API service (azure_batch.cpp).
#include "chat_completions_model.hpp"
#include "token_auth.hpp"

#include <chainpp/http.hpp>
#include <chainpp/remote_batch.hpp>

#include <functional>
#include <memory>
#include <string>

namespace chainpp::azure_openai {

struct AzureSettings {
  std::string deployment;
  std::string endpoint;  ///< without a trailing slash
  std::string api_version;
  bool use_v1_api = false;
  std::string api_key;
  std::string ad_token;
  std::function<std::string()> token_provider;
  openai_wire::TokenAuth token_auth;  ///< the host's TokenCredential or `azure_credential`
};

/// Adds the one credential header of a request: `Authorization: Bearer` from
/// the token provider, the TokenCredential or the Entra ID token, else `api-key`.
void add_credentials(const AzureSettings& azure, HttpHeaders& headers);

/// The Batch API service (/openai/files, /openai/batches) of a model with these
/// settings; `options` are the generation parameters each request's body carries.
std::shared_ptr<const RemoteBatchService> make_batch_service(AzureSettings azure,
                                                             openai_wire::CommonSettings common,
                                                             CallOptions options);

}  // namespace chainpp::azure_openai
