// The Azure OpenAI provider: chat completions on Azure's URL forms
// (deployment and /openai/v1/) with an API key or a Microsoft Entra ID token.
// The protocol itself is the shared chat-completions code in plugins/openai_wire;
// the Batch API is in azure_batch.cpp.
#include "azure_openai.hpp"

#include <chainpp/endpoint.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/plugin.hpp>

#include <cstdlib>

namespace chainpp::azure_openai {

using openai_wire::ChatCompletionsModel;
using openai_wire::CommonSettings;

void add_credentials(const AzureSettings& azure, HttpHeaders& headers) {
  if (azure.token_provider) {
    std::string token = azure.token_provider();
    if (token.empty())
      throw AuthenticationError("azure_openai: the Entra ID token provider returned an empty token",
                                ProviderErrorInfo{"azure_openai", 0, "", "", "", 0, {}, {}, {}});
    headers.emplace_back("Authorization", "Bearer " + token);
  } else if (azure.token_auth) {
    openai_wire::add_bearer(azure.token_auth, headers);
  } else if (!azure.ad_token.empty()) {
    headers.emplace_back("Authorization", "Bearer " + azure.ad_token);
  } else {
    headers.emplace_back("api-key", azure.api_key);
  }
}

class AzureChatOpenAI final : public ChatCompletionsModel, public RemoteBatchModel {
public:
  AzureChatOpenAI(CommonSettings common, AzureSettings azure)
      : ChatCompletionsModel(std::move(common)), azure_(std::move(azure)) {}

  std::string provider() const override { return "azure_openai"; }
  std::string name() const override { return "AzureChatOpenAI"; }

  Json to_config() const override {
    Json j{{"provider", provider()}, {"azure_deployment", azure_.deployment}, {"azure_endpoint", azure_.endpoint}};
    if (!azure_.api_version.empty()) j.set("api_version", azure_.api_version);
    if (azure_.use_v1_api) j.set("use_v1_api", true);
    if (!azure_.token_auth.kind.empty()) j.set("azure_credential", azure_.token_auth.kind);
    const Json common = openai_wire::common_settings_config(settings());
    for (const auto& [k, v] : common.as_object()) j.set(k, v);
    return j;
  }

  Json invocation_params(const CallOptions& options) const override {
    Json p = ChatCompletionsModel::invocation_params(options);
    p.set("azure_deployment", azure_.deployment);
    return p;
  }

  std::shared_ptr<const RemoteBatchService> remote_batch_service() const override {
    return make_batch_service(azure_, settings(), bound_options());
  }

protected:
  std::shared_ptr<ChatModel> clone() const override { return std::make_shared<AzureChatOpenAI>(*this); }

  std::string endpoint_url() const override {
    if (azure_.use_v1_api) return azure_.endpoint + "/openai/v1/chat/completions";
    return azure_.endpoint + "/openai/deployments/" + url_encode(azure_.deployment) +
           "/chat/completions?api-version=" + url_encode(azure_.api_version);
  }

  void add_credentials(HttpHeaders& headers) const override { azure_openai::add_credentials(azure_, headers); }

  std::string body_model() const override { return azure_.use_v1_api ? azure_.deployment : std::string(); }

  // v1 (no api-version), or the dated form when the configured version is a
  // preview that has /responses (2025-03-01-preview and later) and v1 is not asked for.
  std::string responses_url() const override {
    const std::string& v = azure_.api_version;
    const bool dated = !azure_.use_v1_api && v.size() > 10 && v.ends_with("-preview") && v.substr(0, 10) >= "2025-03-01";
    if (dated) return azure_.endpoint + "/openai/responses?api-version=" + url_encode(v);
    return azure_.endpoint + "/openai/v1/responses";
  }

  std::string responses_model() const override { return azure_.deployment; }

  std::string call_target() const override { return "deployment " + azure_.deployment; }

private:
  AzureSettings azure_;
};

namespace {

using openai_wire::from_env;

// A setting from the configuration, else from the environment variable.
std::string setting(const ConfigNode& node, const char* key, const char* env) {
  if (auto v = node.find_string(key)) return *v;
  return env ? from_env(env) : std::string();
}

std::shared_ptr<ChatModel> make_azure(const ConfigNode& node, const ProviderContext& ctx) {
  std::vector<std::string> keys = openai_wire::common_setting_keys();
  for (const char* k : {"provider", "azure_deployment", "deployment_name", "azure_endpoint", "api_key",
                        "azure_ad_token", "api_version", "openai_api_version", "use_v1_api"})
    keys.emplace_back(k);
  for (const auto& k : openai_wire::token_auth_keys()) keys.push_back(k);
  node.check_keys(keys);

  AzureSettings a;
  a.deployment = node.get_string("azure_deployment", node.get_string("deployment_name", ""));
  if (a.deployment.empty()) node.fail("azure_openai needs 'azure_deployment' (the name of your deployment)");
  if (a.deployment == "." || a.deployment == "..") {
    const ConfigNode* at = node.find("azure_deployment");
    (at ? *at : node.at("deployment_name"))
        .fail("azure_openai: the deployment name '" + a.deployment + "' cannot be a URL path segment");
  }
  a.endpoint = setting(node, "azure_endpoint", "AZURE_OPENAI_ENDPOINT");
  if (a.endpoint.empty())
    node.fail("azure_openai needs an endpoint: set 'azure_endpoint' or the environment variable AZURE_OPENAI_ENDPOINT");
  while (!a.endpoint.empty() && a.endpoint.back() == '/') a.endpoint.pop_back();
  a.use_v1_api = node.get_bool("use_v1_api", false);
  a.api_version = node.get_string("api_version", node.get_string("openai_api_version", from_env("OPENAI_API_VERSION")));
  a.token_provider = ctx.azure_ad_token_provider;
  a.api_key = setting(node, "api_key", "AZURE_OPENAI_API_KEY");
  a.ad_token = setting(node, "azure_ad_token", "AZURE_OPENAI_AD_TOKEN");
  if (node.contains("api_key") && node.contains("azure_ad_token"))
    node.at("azure_ad_token").fail("azure_openai: set either 'api_key' or 'azure_ad_token', not both");
  // A credential written in the configuration wins over one from the environment.
  if (node.contains("api_key")) a.ad_token.clear();
  if (node.contains("azure_ad_token")) a.api_key.clear();
  // A credential in the file wins over `azure_credential`, which wins over the environment's.
  const bool key_in_file = node.contains("api_key") || node.contains("azure_ad_token");
  if (node.contains("azure_credential") && !key_in_file) {
    a.api_key.clear();
    a.ad_token.clear();
  }
  if (!a.token_provider && !ctx.token_credential && !node.contains("azure_credential") && a.api_key.empty() &&
      a.ad_token.empty())
    node.fail("azure_openai has no credential: set the environment variable AZURE_OPENAI_API_KEY (or "
              "AZURE_OPENAI_AD_TOKEN for Microsoft Entra ID), or 'api_key' / 'azure_ad_token' / 'azure_credential' "
              "in the configuration");

  check_credential(node, "api_key", "AZURE_OPENAI_API_KEY", a.api_key);
  check_credential(node, "azure_ad_token", "AZURE_OPENAI_AD_TOKEN", a.ad_token);
  check_endpoint(node, a.endpoint,
                 {"azure_openai", "azure_endpoint", "AZURE_OPENAI_ENDPOINT", true,
                  "https://YOUR-RESOURCE.openai.azure.com"});
  CommonSettings common = openai_wire::parse_common_settings(node);
  // A model that always speaks the Responses API (v1: use_responses_api true, or auto with a
  // profile that says responses_api_only) needs no version.
  const bool responses_only =
      common.use_responses_api == openai_wire::UseResponsesApi::yes ||
      (common.use_responses_api == openai_wire::UseResponsesApi::automatic && common.profile &&
       common.profile->responses_api_only.value_or(false));
  if (a.api_version.empty() && !a.use_v1_api && !responses_only)
    node.fail("azure_openai needs an API version: set 'api_version' or the environment variable OPENAI_API_VERSION "
              "(e.g. 2024-10-21), or use_v1_api: true");
  a.token_auth = openai_wire::parse_token_auth(node, ctx, common.transport, "azure_openai", !a.token_provider,
                                               !key_in_file);
  if (common.model_name.empty()) common.model_name = a.deployment;
  return std::make_shared<AzureChatOpenAI>(std::move(common), std::move(a));
}

PluginDescriptor describe() {
  return {"azure_openai", "0.1.0", CHAINPP_ABI_VERSION, {{"azure_openai", &make_azure}}};
}

}  // namespace

}  // namespace chainpp::azure_openai

CHAINPP_PLUGIN(chainpp::azure_openai::describe)
