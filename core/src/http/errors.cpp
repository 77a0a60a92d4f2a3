// How a failed call is reported: a final non-2xx response as the
// ProviderError its status and body mean (make_http_error), a network
// failure as TimeoutError, ConnectionError or CancelledError.
#include "http/transport.hpp"

#include <Poco/Net/NetException.h>

#include <sstream>

namespace chainpp {

namespace http {

std::string provider_name(const std::string& provider) { return provider.empty() ? "http" : provider; }

std::string format_seconds(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

namespace {

std::string attempts_text(int attempts) {
  return std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
}

// "(request id X, N attempts)" without the request id when there is none.
std::string context_text(const std::string& request_id, int attempts) {
  std::string out = " (";
  if (!request_id.empty()) out += "request id " + request_id + ", ";
  out += attempts_text(attempts) + ")";
  return out;
}


// The start of a body as printable ASCII on one line (other bytes as '?').
std::string excerpt(std::string_view body) {
  constexpr std::size_t limit = 200;
  std::string out;
  for (const char c : body.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out += u == '\n' || u == '\r' || u == '\t' ? ' ' : (u < 0x20 || u >= 0x7f ? '?' : c);
  }
  if (body.size() > limit) out += "...";
  return out;
}

}  // namespace

void throw_network(const std::string& provider, const Target& t, const NetworkFailure& f, int attempts, int status,
                   const std::string& request_id) {
  ProviderErrorInfo info;
  info.provider = provider_name(provider);
  info.status = status;
  info.attempts = attempts;
  info.request_id = request_id;
  const std::string message = info.provider + ": " + f.what + " (" + t.authority() + ")" +
                              context_text(request_id, attempts);
  if (f.kind == Failure::timeout) throw TimeoutError(message, std::move(info));
  if (f.kind == Failure::cancelled) throw CancelledError(message, std::move(info));
  throw ConnectionError(message, std::move(info));
}

const char* phase_text(Phase phase) {
  switch (phase) {
    case Phase::connecting: return "connecting";
    case Phase::sending: return "sending the request";
    case Phase::headers: return "waiting for the response headers";
    case Phase::body: break;
  }
  return "reading the response body";
}

NetworkFailure deadline_failure(const TransportOptions& options, const char* phase) {
  return {Failure::timeout, "total_timeout of " + format_seconds(static_cast<double>(options.total_timeout.count()) /
                                                                 1000.0) +
                                " s reached while " + phase};
}

NetworkFailure idle_failure(std::chrono::milliseconds idle) {
  return {Failure::timeout, "no stream event for " + format_seconds(static_cast<double>(idle.count()) / 1000.0) +
                                " s (stream_idle_timeout)"};
}

NetworkFailure classify(const Poco::Exception& e, Phase phase) {
  if (dynamic_cast<const Poco::TimeoutException*>(&e))
    return {Failure::timeout, std::string("timed out ") + phase_text(phase)};
  const bool got_status = phase == Phase::body;
  std::string what = e.displayText();
  if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e)) return {Failure::connection, "connection refused"};
  if (dynamic_cast<const Poco::Net::NoMessageException*>(&e))
    return {Failure::connection, "connection closed before a response"};
  if (const auto* body = dynamic_cast<const BodyError*>(&e))
    return {Failure::connection,
            (body->malformed() ? "malformed response body: " : "connection broke mid-response: ") + body->message()};
  return {Failure::connection, (got_status ? "connection broke mid-response: " : "connection failed: ") + what};
}

}  // namespace http

using http::provider_name;

namespace {

// What an error body says, an HTTP error response's or a stream's `error`
// event: {"error": "text"}, or {"error": {"code", "message", "innererror":
// {"content_filter_result(s)"}}}, or those members at the top.
struct ErrorBody {
  std::string code;
  std::string message;
  Json filter_results;
};

ErrorBody read_error_body(const Json& body) {
  ErrorBody out;
  if (!body.is_object()) return out;
  const Json* err = body.find("error");
  if (err && err->is_string()) out.message = err->as_string();  // {"error": "text"}
  const Json& e = (err && err->is_object()) ? *err : body;
  if (const Json* code = e.find("code")) {
    if (code->is_string()) out.code = code->as_string();
    else if (code->is_integer()) out.code = std::to_string(code->as_int());
  }
  if (const Json* m = e.find("message"); m && m->is_string()) out.message = m->as_string();
  for (const char* inner_name : {"innererror", "inner_error"}) {
    const Json* inner = e.find(inner_name);
    if (!inner || !inner->is_object()) continue;
    for (const char* results : {"content_filter_result", "content_filter_results"}) {
      if (const Json* r = inner->find(results)) {
        out.filter_results = *r;
        break;
      }
    }
    if (!out.filter_results.is_null()) break;
  }
  return out;
}

// " (triggered: violence (medium))" for the categories that filtered; empty for none.
std::string triggered_text(const Json& filter_results) {
  const std::string cats = describe_filter_categories(triggered_filter_categories(filter_results));
  return cats.empty() ? cats : " (triggered: " + cats + ")";
}

}  // namespace

std::vector<FilterCategory> triggered_filter_categories(const Json& results) {
  std::vector<FilterCategory> out;
  if (results.is_array()) {  // per prompt: [{"prompt_index": 0, "content_filter_results": {...}}]
    for (const Json& prompt : results.as_array()) {
      if (!prompt.is_object()) continue;
      if (const Json* r = prompt.find("content_filter_results"))
        for (FilterCategory& c : triggered_filter_categories(*r)) out.push_back(std::move(c));
    }
    return out;
  }
  if (!results.is_object()) return out;
  for (const auto& [name, r] : results.as_object()) {
    const Json* filtered = r.is_object() ? r.find("filtered") : nullptr;
    if (!filtered || !filtered->is_bool() || !filtered->as_bool()) continue;
    FilterCategory c{name, {}, true, false};
    if (const Json* sev = r.find("severity"); sev && sev->is_string()) c.severity = sev->as_string();
    if (const Json* det = r.find("detected"); det && det->is_bool()) c.detected = det->as_bool();
    out.push_back(std::move(c));
  }
  return out;
}

std::string describe_filter_categories(const std::vector<FilterCategory>& categories) {
  std::string out;
  for (const FilterCategory& c : categories) {
    if (!out.empty()) out += ", ";
    out += c.name;
    if (!c.severity.empty()) out += " (" + c.severity + ")";
    else if (c.detected) out += " (detected)";
  }
  return out;
}

std::exception_ptr make_http_error(const std::string& provider, int status, const HttpHeaders& headers,
                                   const std::string& body, int attempts) {
  ProviderErrorInfo info;
  info.provider = provider_name(provider);
  info.status = status;
  info.request_id = http::request_id_of(headers);
  info.attempts = attempts;
  info.retry_after_seconds = RetryPolicy().server_delay(headers);
  if (info.retry_after_seconds && *info.retry_after_seconds < 0) info.retry_after_seconds.reset();  // means "now"

  if (!body.empty()) {
    try {
      info.body = Json::parse(body);
    } catch (const JsonError&) {
      info.body = Json(body);
    }
  }
  ErrorBody said = read_error_body(info.body);
  info.code = std::move(said.code);
  info.provider_message = std::move(said.message);
  Json filter_results = std::move(said.filter_results);
  if (info.provider_message.empty())
    info.provider_message = Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));

  std::string message = info.provider + ": HTTP " + std::to_string(status);
  if (!info.code.empty() && info.code != std::to_string(status)) message += " " + info.code;
  message += ": " + info.provider_message;
  if (status == 400 && info.code == "content_filter") message += triggered_text(filter_results);
  message += http::context_text(info.request_id, attempts);
  if (info.body.is_string()) message += " Response body: " + http::excerpt(body);  // not JSON: a proxy's page, say
  if (status == 429 && info.retry_after_seconds)
    message += " Retry after " + http::format_seconds(*info.retry_after_seconds) + " s.";
  if (status == 404) message += " Check the deployment name, the endpoint and the api-version.";
  if (status == 401 || status == 403) message += " Check the API key or token and the endpoint.";

  if (status == 400 && info.code == "content_filter")
    return std::make_exception_ptr(ContentFilterError(message, std::move(info), std::move(filter_results)));
  if (status == 401 || status == 403) return std::make_exception_ptr(AuthenticationError(message, std::move(info)));
  if (status == 404) return std::make_exception_ptr(NotFoundError(message, std::move(info)));
  if (status == 429) return std::make_exception_ptr(RateLimitError(message, std::move(info)));
  if (status == 408) return std::make_exception_ptr(TimeoutError(message, std::move(info)));
  if (status >= 500) return std::make_exception_ptr(ServerError(message, std::move(info)));
  return std::make_exception_ptr(BadRequestError(message, std::move(info)));
}

std::exception_ptr make_stream_error(const std::string& provider, const Json& event, const std::string& request_id) {
  ProviderErrorInfo info;
  info.provider = provider_name(provider);
  info.status = 200;
  info.request_id = request_id;
  ErrorBody said = read_error_body(event);
  info.code = std::move(said.code);
  info.provider_message = std::move(said.message);
  if (info.provider_message.empty()) {
    const Json* err = event.find("error");
    info.provider_message = err ? err->dump() : event.dump();
  }
  info.body = event;
  std::string message = info.provider + ": error in stream";
  if (!info.code.empty()) message += " " + info.code;
  message += ": " + info.provider_message;
  if (info.code == "content_filter") message += triggered_text(said.filter_results);
  if (!request_id.empty()) message += " (request id " + request_id + ")";
  if (info.code == "content_filter")
    return std::make_exception_ptr(ContentFilterError(message, std::move(info), std::move(said.filter_results)));
  return std::make_exception_ptr(ServerError(message, std::move(info)));
}

}  // namespace chainpp
