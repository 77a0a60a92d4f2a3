#pragma once
// ChatCompletionsModel: a chat model over the OpenAI chat-completions
// protocol, shared by every dialect (Azure OpenAI, OpenAI, compatible
// servers). A dialect supplies the URL, the credential and the body's
// "model" field; everything else (settings, requests, responses, streams,
// errors, retries through core's transport) is here, once.
#include "openai_wire.hpp"
#include "responses.hpp"

#include <chainpp/chat_model.hpp>
#include <chainpp/config.hpp>
#include <chainpp/http.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chainpp::openai_wire {

/// Settings every dialect shares, parsed once from the model's config node.
struct CommonSettings {
  CallOptions defaults;        ///< generation parameters from the configuration
  bool streaming = false;      ///< invoke() streams internally
  bool stream_usage = false;   ///< ask for the usage chunk when streaming
  std::string model_name;      ///< `model` / `model_name`: reported when the response has none
  std::string model_version;   ///< appended to the reported model name
  TransportOptions transport;  ///< timeout, max_retries, TLS, proxy
  HttpHeaders default_headers;
  std::vector<std::pair<std::string, std::string>> default_query;
  std::optional<ModelProfile> profile;  ///< of model_name[-model_version] (configured_model_profile)
  std::string model_profiles;           ///< the `model_profiles` setting ("" for the bundled table)
  UseResponsesApi use_responses_api = UseResponsesApi::automatic;  ///< which API the calls use
};

/// The configuration keys CommonSettings reads.
const std::vector<std::string>& common_setting_keys();

/// Reads the common keys of `node` (located ConfigErrors on bad values).
CommonSettings parse_common_settings(const ConfigNode& node);

/// The value of environment variable `name`, or "" when unset.
std::string from_env(const char* name);

/// The common settings as configuration (for to_config()).
Json common_settings_config(const CommonSettings& s);

class ChatCompletionsModel : public ChatModel {
public:
  /// The configured generation options and default_headers become the
  /// model's bound options, merged with each call's once, in ChatModel.
  explicit ChatCompletionsModel(CommonSettings settings)
      : ChatModel(configured_options(settings)), settings_(std::move(settings)) {}
  bool prefers_streaming() const override { return settings_.streaming; }
  std::optional<ModelProfile> profile() const override { return settings_.profile; }
  Json invocation_params(const CallOptions& options) const override;
  /// "<provider> at HOST:PORT, <call_target()>[, api-version V][, Responses API]".
  std::string describe_call(const CallOptions& options) const override;
  const CommonSettings& settings() const { return settings_; }

protected:
  /// The full URL of the chat-completions endpoint (default_query appended by the caller).
  virtual std::string endpoint_url() const = 0;
  /// Adds the credential header(s) for one request.
  virtual void add_credentials(HttpHeaders& headers) const = 0;
  /// The body's "model" field ("" to leave it out).
  virtual std::string body_model() const = 0;
  /// The full URL of the Responses endpoint (default_query appended by the caller).
  virtual std::string responses_url() const = 0;
  /// The Responses body's "model" field (Azure: the deployment).
  virtual std::string responses_model() const = 0;
  /// What the calls address, for errors: "deployment D" or "model M".
  virtual std::string call_target() const = 0;
  /// Whether a call with `options` goes to the Responses API (see choose_responses_api).
  bool uses_responses_api(const CallOptions& options) const;

  AIMessage generate(const Messages& messages, const CallOptions& options, const CallContext& ctx) const override;
  Stream<AIMessageChunk> generate_stream(const Messages& messages, const CallOptions& options,
                                         const CallContext& ctx) const override;

private:
  /// The request of one call (with the call's stop token), plain or streamed.
  HttpRequest make_request(const Messages& messages, const CallOptions& options, bool stream,
                           const CallContext& ctx) const;
  /// The same for the Responses API.
  HttpRequest make_responses_request(const Messages& messages, const CallOptions& options, bool stream,
                                     const CallContext& ctx) const;
  /// The request to `url` with `body`, headers and credentials, plain or streamed.
  HttpRequest request_to(std::string url, std::string body, const CallOptions& options, bool stream,
                         const CallContext& ctx) const;
  /// Sends `request` (retries as the options say), telling the run the quota the response reported.
  HttpResponse send(const HttpRequest& request, const CallOptions& options, const CallContext& ctx) const;
  /// The same for a streamed response.
  std::unique_ptr<HttpBodyStream> open(const HttpRequest& request, const TransportOptions& transport,
                                       const CallContext& ctx) const;
  AIMessage generate_responses(const Messages& messages, const CallOptions& options, const CallContext& ctx) const;
  Stream<AIMessageChunk> stream_responses(const Messages& messages, const CallOptions& options,
                                          const CallContext& ctx) const;
  TransportOptions transport_for(const CallOptions& options) const;
  ResponseShape response_shape(const std::string& request_id, int status) const;
  static CallOptions configured_options(const CommonSettings& settings);

  CommonSettings settings_;
};

}  // namespace chainpp::openai_wire
