// Configuration of the azure_openai plugin, loaded at run time like any host
// loads it. No network: these only build models and read their settings.
#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/registry.hpp>

#include <cstdlib>

using namespace chainpp;

namespace {

PluginRegistry& registry() {
  static PluginRegistry r;
  static bool loaded = (r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so"), true);
  (void)loaded;
  return r;
}

// Clears the Azure environment variables for the duration of a test.
struct CleanEnv {
  static void clear() {
    for (const char* v : {"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "OPENAI_API_VERSION"})
      unsetenv(v);
  }
  CleanEnv() { clear(); }
  ~CleanEnv() { clear(); }
};

std::shared_ptr<ChatModel> make(const std::string& yaml, const ProviderContext& ctx = {}) {
  ConfigNode root = ConfigNode::parse_yaml(yaml, "app.yaml");
  return registry().create("azure_openai", root.at("models").at("m"), ctx);
}

}  // namespace

TEST_CASE("azure_openai: settings dump back to YAML without secrets") {
  CleanEnv env;
  auto model = make(
      "models:\n"
      "  m:\n"
      "    provider: azure_openai\n"
      "    azure_deployment: gpt-35-turbo\n"
      "    azure_endpoint: https://example.openai.azure.com/\n"
      "    api_version: 2024-10-21\n"
      "    api_key: sk-very-secret\n"
      "    temperature: 0\n"
      "    model_version: '0301'\n"
      "    max_retries: 2\n"
      "    default_headers: {x-team: sk-header-secret}\n");
  REQUIRE(model->provider() == "azure_openai");
  REQUIRE(model->name() == "AzureChatOpenAI");
  const std::string yaml = to_yaml(model->to_config());
  REQUIRE(yaml ==
          "provider: \"azure_openai\"\n"
          "azure_deployment: \"gpt-35-turbo\"\n"
          "azure_endpoint: \"https://example.openai.azure.com\"\n"
          "api_version: \"2024-10-21\"\n"
          "model: \"gpt-35-turbo\"\n"
          "model_version: \"0301\"\n"
          "temperature: 0\n"
          "streaming: false\n"
          "stream_usage: false\n"
          "timeout: 600\n"
          "max_retries: 2\n"
          "default_headers:\n"
          "  x-team: \"***\"\n");
  REQUIRE(yaml.find("secret") == std::string::npos);
}

TEST_CASE("azure_openai: endpoint, key and version come from the environment when not configured") {
  CleanEnv env;
  setenv("AZURE_OPENAI_ENDPOINT", "https://env.openai.azure.com", 1);
  setenv("AZURE_OPENAI_API_KEY", "k", 1);
  setenv("OPENAI_API_VERSION", "2024-10-21", 1);
  auto model = make("models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n");
  REQUIRE(model->to_config()["azure_endpoint"].as_string() == "https://env.openai.azure.com");
  REQUIRE(model->to_config()["api_version"].as_string() == "2024-10-21");
}

TEST_CASE("azure_openai: configuration errors name the problem, where it is, and what to set") {
  CleanEnv env;
  REQUIRE_THROWS_WITH(make("models:\n  m:\n    provider: azure_openai\n    azure_endpoint: https://x\n"
                           "    api_version: v\n    api_key: k\n"),
                      "app.yaml:3:5: azure_openai needs 'azure_deployment' (the name of your deployment)");
  REQUIRE_THROWS_WITH(make("models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                           "    api_version: v\n    api_key: k\n"),
                      "app.yaml:3:5: azure_openai needs an endpoint: set 'azure_endpoint' or the environment "
                      "variable AZURE_OPENAI_ENDPOINT");
  REQUIRE_THROWS_WITH(make("models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                           "    azure_endpoint: https://x\n    api_key: k\n"),
                      "app.yaml:3:5: azure_openai needs an API version: set 'api_version' or the environment "
                      "variable OPENAI_API_VERSION (e.g. 2024-10-21), or use_v1_api: true");
  REQUIRE_THROWS_WITH(make("models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                           "    azure_endpoint: https://x\n    api_version: v\n"),
                      "app.yaml:3:5: azure_openai has no credential: set the environment variable "
                      "AZURE_OPENAI_API_KEY (or AZURE_OPENAI_AD_TOKEN for Microsoft Entra ID), or 'api_key' / "
                      "'azure_ad_token' / 'azure_credential' in the configuration");
  REQUIRE_THROWS_WITH(make("models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                           "    azure_endpoint: x.openai.azure.com\n    api_version: v\n    api_key: k\n"),
                      "app.yaml:5:21: azure_openai: azure_endpoint 'x.openai.azure.com' must start with http:// or https:// "
                      "(e.g. https://YOUR-RESOURCE.openai.azure.com)");
  REQUIRE_THROWS_WITH(make("models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                           "    azure_endpoint: https://x\n    api_version: v\n    api_key: k\n    temprature: 0\n"),
                      "app.yaml:8:5: unknown key 'temprature' in models.m (did you mean 'temperature'?)");
  REQUIRE_THROWS_WITH(make("models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                           "    azure_endpoint: https://x\n    api_version: v\n    api_key: k\n    temperature: 3\n"),
                      "app.yaml:8:18: 'temperature' must be between 0 and 2");
  const std::string model = "models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                            "    azure_endpoint: https://x\n    api_version: v\n    api_key: k\n";
  REQUIRE_THROWS_WITH(make(model + "    stop: [a, b, c, d, e]\n"),
                      "app.yaml:8:11: 'stop' holds 5 sequences; the service accepts at most 4");
  REQUIRE_THROWS_WITH(make(model + "    stop: []\n"), "app.yaml:8:11: 'stop' must not be an empty list");
  REQUIRE_THROWS_WITH(make(model + "    logit_bias: {'50256': 150}\n"),
                      "app.yaml:8:27: 'logit_bias' value for token '50256' must be an integer between -100 and 100 "
                      "(got 150)");
  REQUIRE_THROWS_WITH(make(model + "    top_logprobs: 3\n"), "app.yaml:8:19: 'top_logprobs' requires 'logprobs: true'");
  REQUIRE_THROWS_WITH(make("models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                           "    azure_endpoint: https://x\n    api_version: v\n    api_key: k\n    timeout: -1\n"),
                      "app.yaml:8:14: 'timeout' must be a positive number of seconds, at most 1000000");
}

TEST_CASE("azure_openai: a C++ host configures a model from code, with an Entra ID token provider") {
  CleanEnv env;
  ProviderContext ctx;
  ctx.azure_ad_token_provider = [] { return std::string("token"); };
  auto model = registry().create("azure_openai",
                                 ConfigNode::from_json(Json{{"provider", "azure_openai"},
                                                            {"azure_deployment", "gpt-4o"},
                                                            {"azure_endpoint", "https://example.openai.azure.com"},
                                                            {"use_v1_api", true}}),
                                 ctx);
  REQUIRE(model->to_config()["use_v1_api"].as_bool());
  REQUIRE_FALSE(model->to_config().contains("api_version"));
}

TEST_CASE("azure_openai: no credential over plain http:// except to loopback or when allowed") {
  CleanEnv env;
  const std::string base = "models:\n  m:\n    provider: azure_openai\n    azure_deployment: d\n"
                           "    api_version: v\n    api_key: k\n";
  REQUIRE_THROWS_WITH(make(base + "    azure_endpoint: http://example.openai.azure.com\n"),
                      "app.yaml:7:21: azure_openai: refusing to send the credential over plain http:// to "
                      "'example.openai.azure.com', which is not loopback; use https://, or set allow_insecure_http: true");
  REQUIRE_NOTHROW(make(base + "    azure_endpoint: http://127.0.0.1:8080\n"));
  REQUIRE_NOTHROW(make(base + "    azure_endpoint: http://localhost:8080\n"));
  REQUIRE_NOTHROW(make(base + "    azure_endpoint: http://[::1]:8080\n"));
  REQUIRE_NOTHROW(make(base + "    azure_endpoint: http://gateway.internal\n    allow_insecure_http: true\n"));
}
