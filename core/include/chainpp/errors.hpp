#pragma once
// The one exception hierarchy of chainpp. Every error carries what a user
// needs to act on it, and never a secret (API key or token).
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace chainpp {

/// Root of every chainpp error.
class CHAINPP_API Error : public std::runtime_error {
public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Malformed JSON text or a JSON value of the wrong type.
class CHAINPP_API JsonError : public Error {
public:
  using Error::Error;
};

/// Bad configuration; `what()` starts with `file:line:col: ` when known.
class CHAINPP_API ConfigError : public Error {
public:
  using Error::Error;
};

/// A plugin could not be found, loaded or registered.
class CHAINPP_API PluginError : public Error {
public:
  using Error::Error;
};

/// A malformed prompt template, or a missing template variable.
class CHAINPP_API PromptError : public Error {
public:
  using Error::Error;
};

/// Bad input to a runnable (wrong value kind, unknown message role, ...).
class CHAINPP_API InputError : public Error {
public:
  using Error::Error;
};

/// Model output an output parser could not turn into the expected value.
class CHAINPP_API OutputParserError : public Error {
public:
  OutputParserError(const std::string& message, std::string llm_output)
      : Error(message), llm_output_(std::move(llm_output)) {}
  const std::string& llm_output() const { return llm_output_; }

private:
  std::string llm_output_;
};

/// What a provider or the network reported; shared by every provider error.
struct CHAINPP_API ProviderErrorInfo {
  std::string provider;       ///< e.g. "azure_openai"
  int status = 0;             ///< HTTP status, 0 when no response arrived
  std::string code;           ///< the provider's error code, e.g. "DeploymentNotFound"
  std::string provider_message;
  std::string request_id;     ///< apim-request-id / x-request-id
  int attempts = 1;           ///< attempts made, retries included
  std::optional<double> retry_after_seconds;
  Json body;                  ///< the parsed error body, when there was one
  /// What was called, from the model's settings without secrets ("azure_openai
  /// at HOST:PORT, deployment D, api-version V"; ChatModel::describe_call);
  /// set by the model the error passed through, "" when it named nothing.
  std::string call;
};

/// An error from a model provider or the network below it.
class CHAINPP_API ProviderError : public Error {
public:
  ProviderError(const std::string& message, ProviderErrorInfo info)
      : Error(message), info_(std::move(info)) {}
  const ProviderErrorInfo& info() const { return info_; }
  int status() const { return info_.status; }
  const std::string& code() const { return info_.code; }
  const std::string& request_id() const { return info_.request_id; }
  int attempts() const { return info_.attempts; }
  /// Records what was called (info().call) when nothing is recorded yet; what()
  /// is unchanged (see described()).
  void set_call(std::string call) {
    if (info_.call.empty()) info_.call = std::move(call);
  }
  /// what(), followed by " [calling CALL]" when info().call is known: the form
  /// the CLI prints and batch result lines record.
  std::string described() const {
    return info_.call.empty() ? std::string(what()) : std::string(what()) + " [calling " + info_.call + "]";
  }

private:
  ProviderErrorInfo info_;
};

#define CHAINPP_PROVIDER_ERROR(Name)                                  \
  class CHAINPP_API Name : public ProviderError {                      \
  public:                                                             \
    using ProviderError::ProviderError;                               \
  }

/// 401/403, or no credential configured.
CHAINPP_PROVIDER_ERROR(AuthenticationError);
/// 404: wrong deployment name, endpoint or API version.
CHAINPP_PROVIDER_ERROR(NotFoundError);
/// 429: rate or quota limit; `info().retry_after_seconds` says when to retry.
CHAINPP_PROVIDER_ERROR(RateLimitError);
/// 400/422 and other client errors: the provider's code and message.
CHAINPP_PROVIDER_ERROR(BadRequestError);
/// 5xx.
CHAINPP_PROVIDER_ERROR(ServerError);
/// The connect, read or total deadline passed.
CHAINPP_PROVIDER_ERROR(TimeoutError);
/// The connection failed or broke.
CHAINPP_PROVIDER_ERROR(ConnectionError);
/// A response that does not follow the protocol (malformed JSON, truncated stream).
CHAINPP_PROVIDER_ERROR(BadResponseError);
/// The call was cancelled by the caller.
CHAINPP_PROVIDER_ERROR(CancelledError);

#undef CHAINPP_PROVIDER_ERROR

/// A response larger than a limit of the call allows: the body
/// (max_response_bytes), one stream line or event (max_sse_event_bytes), or
/// the text and tool arguments a stream carried (max_stream_bytes). A
/// BadResponseError (the response cannot be used as it is), never retried:
/// "azure_openai: response body exceeds max_response_bytes (67108864 bytes);
/// raise max_response_bytes to accept it (request id X)".
class CHAINPP_API ResponseTooLargeError : public BadResponseError {
public:
  /// `what`: what exceeded the limit ("response body"); `setting`: the
  /// setting that raises it; `limit`: its value in bytes.
  ResponseTooLargeError(const std::string& what, std::string setting, std::int64_t limit, ProviderErrorInfo info)
      : BadResponseError(message_for(what, setting, limit, info), info), setting_(std::move(setting)), limit_(limit) {}
  /// The setting that raises the limit, e.g. "max_response_bytes".
  const std::string& setting() const { return setting_; }
  /// The limit in bytes.
  std::int64_t limit() const { return limit_; }

private:
  static std::string message_for(const std::string& what, const std::string& setting, std::int64_t limit,
                                 const ProviderErrorInfo& info) {
    std::string m = info.provider + ": " + what + " exceeds " + setting + " (" + std::to_string(limit) +
                    " bytes); raise " + setting + " to accept it";
    if (!info.request_id.empty()) m += " (request id " + info.request_id + ")";
    return m;
  }
  std::string setting_;
  std::int64_t limit_;
};

/// A content-filter category that triggered: its name ("violence",
/// "jailbreak"), its severity ("safe", "low", "medium", "high"; empty for a
/// category that reports `detected` instead) and whether it filtered.
struct FilterCategory {
  std::string name;
  std::string severity;
  bool filtered = false;
  bool detected = false;
  bool operator==(const FilterCategory&) const = default;
};

/// The categories of Azure's content_filter_result(s) (an object of
/// categories, or an array of {"content_filter_results": ...} per prompt)
/// whose `filtered` is true, in the order the server sent them.
CHAINPP_API std::vector<FilterCategory> triggered_filter_categories(const Json& results);

/// "violence (medium), jailbreak (detected)"; empty for none.
CHAINPP_API std::string describe_filter_categories(const std::vector<FilterCategory>& categories);

/// The content filter rejected the prompt (HTTP 400, code content_filter) or
/// cut the completion (finish_reason content_filter). The message names the
/// triggered categories: "... (triggered: violence (medium), hate (high)) ...".
class CHAINPP_API ContentFilterError : public ProviderError {
public:
  ContentFilterError(const std::string& message, ProviderErrorInfo info, Json filter_results,
                     std::string partial_content = {})
      : ProviderError(message, std::move(info)),
        filter_results_(std::move(filter_results)),
        triggered_(triggered_filter_categories(filter_results_)),
        partial_content_(std::move(partial_content)) {}
  /// The categories with `filtered` and `severity` (or `detected`).
  const Json& filter_results() const { return filter_results_; }
  /// The categories that filtered, typed (see triggered_filter_categories).
  const std::vector<FilterCategory>& triggered() const { return triggered_; }
  /// Content generated before the filter cut the completion (empty for a rejected prompt).
  const std::string& partial_content() const { return partial_content_; }

private:
  Json filter_results_;
  std::vector<FilterCategory> triggered_;
  std::string partial_content_;
};

}  // namespace chainpp
