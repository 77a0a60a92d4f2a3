// The Azure OpenAI Batch API: the requests of a batch written as a JSONL file
// in Azure's request format, uploaded to /openai/files (purpose "batch"), run
// by /openai/batches (endpoint /chat/completions, completion window 24h), and
// their results read back from the batch's output and error files.
#include "azure_openai.hpp"

#include <chainpp/callbacks.hpp>
#include <chainpp/endpoint.hpp>
#include <chainpp/errors.hpp>

#include <cctype>
#include <utility>

namespace chainpp::azure_openai {

namespace {

constexpr const char* provider_name = "azure_openai";
/// The oldest API version with /openai/batches (2024-07-01-preview); 2024-10-21 is the first GA one.
constexpr const char* first_batch_api_version = "2024-07-01";

[[noreturn]] void bad_response(const std::string& what, const std::string& request_id) {
  ProviderErrorInfo info;
  info.provider = provider_name;
  info.status = 200;
  info.request_id = request_id;
  std::string message = std::string(provider_name) + ": malformed Batch API response: " + what;
  if (!request_id.empty()) message += " (request id " + request_id + ")";
  throw BadResponseError(message, info);
}

Json parse_object(const HttpResponse& response) {
  try {
    Json j = Json::parse(response.body);
    if (j.is_object()) return j;
  } catch (const JsonError& e) {
    bad_response(e.what(), response.request_id());
  }
  bad_response("expected a JSON object", response.request_id());
}

std::string string_member(const Json& j, const char* key) {
  const Json* v = j.find(key);
  return v && v->is_string() ? v->as_string() : std::string();
}

std::size_t count_member(const Json& counts, const char* key) {
  const Json* v = counts.is_object() ? counts.find(key) : nullptr;
  return v && v->is_integer() && v->as_int() > 0 ? static_cast<std::size_t>(v->as_int()) : 0;
}

/// "line 3: message; ..." from a batch's `errors` ({"data":[{"code","message","line"}]}).
std::string errors_text(const Json& batch) {
  const Json* errors = batch.find("errors");
  const Json* data = errors && errors->is_object() ? errors->find("data") : nullptr;
  std::string out;
  if (!data || !data->is_array()) return out;
  for (const auto& e : data->as_array()) {
    if (!e.is_object()) continue;
    if (!out.empty()) out += "; ";
    if (const Json* line = e.find("line"); line && line->is_integer()) out += "line " + std::to_string(line->as_int()) + ": ";
    const std::string code = string_member(e, "code");
    if (!code.empty()) out += code + ": ";
    out += string_member(e, "message");
  }
  return out;
}

RemoteBatchStatus status_of(const Json& batch, const HttpResponse& response) {
  RemoteBatchStatus s;
  s.id = string_member(batch, "id");
  if (s.id.empty()) bad_response("a batch without an id", response.request_id());
  for (char c : string_member(batch, "status")) s.status += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  s.finished = s.status == "completed" || s.status == "failed" || s.status == "expired" || s.status == "cancelled";
  const Json* counts = batch.find("request_counts");
  if (counts) {
    s.total = count_member(*counts, "total");
    s.completed = count_member(*counts, "completed");
    s.failed = count_member(*counts, "failed");
  }
  s.errors = errors_text(batch);
  return s;
}

/// The error of a request the batch ran without success: the error a direct call
/// with that response would raise, or for a request that never ran, its `error`.
std::exception_ptr request_error(const Json* response, const Json* error) {
  if (response && response->is_object()) {
    const Json* status = response->find("status_code");
    HttpHeaders headers;
    const std::string request_id = string_member(*response, "request_id");
    if (!request_id.empty()) headers.emplace_back("x-request-id", request_id);
    const Json* body = response->find("body");
    return make_http_error(provider_name, status && status->is_integer() ? static_cast<int>(status->as_int()) : 500,
                           headers, body ? body->dump() : std::string(), 1);
  }
  ProviderErrorInfo info;
  info.provider = provider_name;
  if (error && error->is_object()) {
    info.code = string_member(*error, "code");
    info.provider_message = string_member(*error, "message");
    info.body = *error;
  }
  const std::string message = std::string(provider_name) + ": batch request not run: " +
                              (info.code.empty() ? std::string() : info.code + ": ") +
                              (info.provider_message.empty() ? std::string("no response") : info.provider_message);
  if (info.code == "batch_cancelled") return std::make_exception_ptr(CancelledError(message, info));
  if (info.code == "batch_expired") return std::make_exception_ptr(TimeoutError(message, info));
  return std::make_exception_ptr(BadRequestError(message, info));
}

class AzureBatchService final : public RemoteBatchService {
public:
  AzureBatchService(AzureSettings azure, openai_wire::CommonSettings common, CallOptions options)
      : azure_(std::move(azure)), common_(std::move(common)), options_(std::move(options)) {}

  RemoteBatchStatus submit(const std::vector<RemoteBatchRequest>& requests) const override {
    // Chat-completions lines only, for now: a batch of /v1/responses lines is not written yet.
    const bool only_responses = common_.profile && common_.profile->responses_api_only.value_or(false);
    if (openai_wire::choose_responses_api(common_.use_responses_api, openai_wire::responses_only_features(options_),
                                          "azure_openai", only_responses))
      throw InputError("azure_openai: a batch of Responses API calls is not supported yet; run the batch with "
                       "use_responses_api: false and without Responses-only settings");
    std::string jsonl;
    const openai_wire::RequestShape shape{azure_.deployment, false, false};
    for (const auto& r : requests) {
      jsonl += "{\"custom_id\":" + Json(r.custom_id).dump() + ",\"method\":\"POST\",\"url\":\"/chat/completions\",\"body\":";
      jsonl += openai_wire::build_request_body(r.messages, options_, shape);
      jsonl += "}\n";
    }
    const std::string boundary = "chainpp-" + new_uuid();
    std::string form = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n";
    form += "--" + boundary +
            "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chainpp-batch.jsonl\"\r\n"
            "Content-Type: application/jsonl\r\n\r\n";
    form += jsonl;
    form += "\r\n--" + boundary + "--\r\n";
    const HttpResponse uploaded = send("POST", "/files", std::move(form), "multipart/form-data; boundary=" + boundary);
    const std::string file_id = string_member(parse_object(uploaded), "id");
    if (file_id.empty()) bad_response("an uploaded file without an id", uploaded.request_id());

    const Json create{{"input_file_id", file_id}, {"endpoint", "/chat/completions"}, {"completion_window", "24h"}};
    const HttpResponse created = send("POST", "/batches", create.dump(), "application/json");
    return status_of(parse_object(created), created);
  }

  RemoteBatchStatus status(const std::string& id) const override {
    const HttpResponse r = send("GET", "/batches/" + path_segment(id, "azure_openai: batch id"), {}, {});
    return status_of(parse_object(r), r);
  }

  RemoteBatchStatus cancel(const std::string& id) const override {
    const HttpResponse r = send("POST", "/batches/" + path_segment(id, "azure_openai: batch id") + "/cancel", {}, {});
    return status_of(parse_object(r), r);
  }

  std::vector<RemoteBatchResult> results(const std::string& id) const override {
    const HttpResponse r = send("GET", "/batches/" + path_segment(id, "azure_openai: batch id"), {}, {});
    const Json batch = parse_object(r);
    std::vector<RemoteBatchResult> out;
    for (const char* file : {"output_file_id", "error_file_id"}) {
      const std::string file_id = string_member(batch, file);
      if (!file_id.empty()) read_results(file_id, out);
    }
    return out;
  }

private:
  /// Appends the results of an output or error file.
  void read_results(const std::string& file_id, std::vector<RemoteBatchResult>& out) const {
    const HttpResponse content = send("GET", "/files/" + path_segment(file_id, "azure_openai: file id") + "/content", {}, {});
    const std::string& text = content.body;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      const std::string_view line = std::string_view(text).substr(pos, nl - pos);
      pos = nl + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      Json j;
      try {
        j = Json::parse(line);
      } catch (const JsonError& e) {
        bad_response(std::string("a result line of file ") + file_id + ": " + e.what(), content.request_id());
      }
      if (!j.is_object()) bad_response("a result line of file " + file_id + " is not an object", content.request_id());
      RemoteBatchResult result;
      result.custom_id = string_member(j, "custom_id");
      const Json* response = j.find("response");
      const Json* status = response && response->is_object() ? response->find("status_code") : nullptr;
      const Json* body = response && response->is_object() ? response->find("body") : nullptr;
      if (status && status->is_integer() && status->as_int() >= 200 && status->as_int() < 300 && body) {
        try {
          result.message = answer(*body, string_member(*response, "request_id"));
        } catch (...) {
          result.error = std::current_exception();
        }
      } else {
        result.error = request_error(response, j.find("error"));
      }
      out.push_back(std::move(result));
    }
  }

  /// The AI message of a successful request's response body, as a direct call reads it.
  AIMessage answer(const Json& body, const std::string& request_id) const {
    AIMessage m = openai_wire::parse_completion(
        body.dump(), openai_wire::ResponseShape{provider_name, common_.model_version, request_id});
    if (m.response_metadata["model_name"].as_string().empty())
      m.response_metadata.set("model_name",
                              openai_wire::versioned_model_name(common_.model_name, common_.model_version));
    return m;
  }

  /// {endpoint}/openai{path}?api-version=..., or {endpoint}/openai/v1{path} with use_v1_api.
  std::string url(const std::string& path) const {
    if (azure_.use_v1_api) return azure_.endpoint + "/openai/v1" + path;
    if (azure_.api_version.compare(0, 10, first_batch_api_version) < 0)
      throw ConfigError("azure_openai: the Batch API needs api_version 2024-10-21 or later; model '" +
                        azure_.deployment + "' has " + azure_.api_version);
    return azure_.endpoint + "/openai" + path + "?api-version=" + url_encode(azure_.api_version);
  }

  HttpResponse send(const char* method, const std::string& path, std::string body,
                    const std::string& content_type) const {
    HttpRequest request;
    request.method = method;
    request.provider = provider_name;
    request.url = url(path);
    if (!content_type.empty()) request.headers.emplace_back("Content-Type", content_type);
    request.headers.emplace_back("Accept", "application/json");
    request.headers.emplace_back("User-Agent", "chainpp/0.1.0");
    for (const auto& h : common_.default_headers) request.headers.push_back(h);
    add_credentials(azure_, request.headers);
    request.body = std::move(body);
    return HttpClient::shared().send(request, common_.transport);
  }

  AzureSettings azure_;
  openai_wire::CommonSettings common_;
  CallOptions options_;
};

}  // namespace

std::shared_ptr<const RemoteBatchService> make_batch_service(AzureSettings azure, openai_wire::CommonSettings common,
                                                             CallOptions options) {
  return std::make_shared<AzureBatchService>(std::move(azure), std::move(common), std::move(options));
}

}  // namespace chainpp::azure_openai
