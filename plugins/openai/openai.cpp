// The OpenAI provider: OpenAI's API and every server that speaks its
// chat-completions protocol (llama.cpp, vLLM, Ollama, LM Studio). The
// protocol is the shared chat-completions code in plugins/openai_wire; this file
// is the URL layout and the credential.
#include "chat_completions_model.hpp"
#include "token_auth.hpp"

#include <chainpp/endpoint.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/plugin.hpp>

#include <cstdlib>

namespace chainpp::openai {

using openai_wire::ChatCompletionsModel;
using openai_wire::CommonSettings;

struct OpenAISettings {
  std::string base_url;  ///< without a trailing slash
  std::string api_key;   ///< may be empty for local servers
  std::string organization;
  std::string project;
  openai_wire::TokenAuth token_auth;  ///< the host's TokenCredential or `azure_credential`: wins over api_key
};

class ChatOpenAI final : public ChatCompletionsModel {
public:
  ChatOpenAI(CommonSettings common, OpenAISettings openai)
      : ChatCompletionsModel(std::move(common)), openai_(std::move(openai)) {}

  std::string provider() const override { return "openai"; }
  std::string name() const override { return "ChatOpenAI"; }

  Json to_config() const override {
    Json j{{"provider", provider()}, {"base_url", openai_.base_url}};
    if (!openai_.organization.empty()) j.set("organization", openai_.organization);
    if (!openai_.project.empty()) j.set("project", openai_.project);
    if (!openai_.token_auth.kind.empty()) j.set("azure_credential", openai_.token_auth.kind);
    const Json common = openai_wire::common_settings_config(settings());
    for (const auto& [k, v] : common.as_object()) j.set(k, v);
    return j;
  }

protected:
  std::shared_ptr<ChatModel> clone() const override { return std::make_shared<ChatOpenAI>(*this); }
  std::string endpoint_url() const override { return openai_.base_url + "/chat/completions"; }
  void add_credentials(HttpHeaders& headers) const override {
    if (openai_.token_auth)
      openai_wire::add_bearer(openai_.token_auth, headers);
    else if (!openai_.api_key.empty())
      headers.emplace_back("Authorization", "Bearer " + openai_.api_key);
    if (!openai_.organization.empty()) headers.emplace_back("OpenAI-Organization", openai_.organization);
    if (!openai_.project.empty()) headers.emplace_back("OpenAI-Project", openai_.project);
  }
  std::string body_model() const override { return settings().model_name; }
  std::string responses_url() const override { return openai_.base_url + "/responses"; }
  std::string responses_model() const override { return settings().model_name; }
  std::string call_target() const override { return "model " + settings().model_name; }

private:
  OpenAISettings openai_;
};

namespace {

using openai_wire::from_env;

std::shared_ptr<ChatModel> make_openai(const ConfigNode& node, const ProviderContext& ctx) {
  std::vector<std::string> keys = openai_wire::common_setting_keys();
  for (const char* k : {"provider", "api_key", "base_url", "organization", "project"}) keys.emplace_back(k);
  for (const auto& k : openai_wire::token_auth_keys()) keys.push_back(k);
  node.check_keys(keys);

  OpenAISettings o;
  o.base_url = node.get_string("base_url", from_env("OPENAI_BASE_URL"));
  if (o.base_url.empty()) o.base_url = "https://api.openai.com/v1";
  while (!o.base_url.empty() && o.base_url.back() == '/') o.base_url.pop_back();
  o.api_key = node.get_string("api_key", from_env("OPENAI_API_KEY"));
  // A key in the file wins over `azure_credential`, which wins over OPENAI_API_KEY. A host's
  // TokenCredential serves only a model without a key, and never OpenAI itself.
  const bool openai_itself = o.base_url == "https://api.openai.com/v1";
  if (node.contains("azure_credential") && !node.contains("api_key")) o.api_key.clear();
  const bool use_host =
      o.api_key.empty() && !node.contains("azure_credential") && !openai_itself && ctx.token_credential;
  if (o.api_key.empty() && !node.contains("azure_credential") && openai_itself)
    node.fail("openai has no credential: set the environment variable OPENAI_API_KEY or 'api_key' in the "
              "configuration (only local servers at another base_url may go without)");
  o.organization = node.get_string("organization", from_env("OPENAI_ORG_ID"));
  o.project = node.get_string("project", from_env("OPENAI_PROJECT_ID"));

  check_credential(node, "api_key", "OPENAI_API_KEY", o.api_key);
  const bool token = use_host || (node.contains("azure_credential") && !node.contains("api_key"));
  check_endpoint(node, o.base_url, {"openai", "base_url", "OPENAI_BASE_URL", !o.api_key.empty() || token, ""});
  CommonSettings common = openai_wire::parse_common_settings(node);
  o.token_auth = openai_wire::parse_token_auth(node, ctx, common.transport, "openai", use_host, !node.contains("api_key"));
  if (common.model_name.empty()) node.fail("openai needs 'model' (e.g. gpt-4o-mini, or the local server's model name)");
  return std::make_shared<ChatOpenAI>(std::move(common), std::move(o));
}

PluginDescriptor describe() { return {"openai", "0.1.0", CHAINPP_ABI_VERSION, {{"openai", &make_openai}}}; }

}  // namespace

}  // namespace chainpp::openai

CHAINPP_PLUGIN(chainpp::openai::describe)
