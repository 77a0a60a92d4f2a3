// The emulator's HTTP server: the request handler's routing (control
// endpoints, the Files and Batch APIs, chat completions and their checks),
// its credentials and log line, and run().
#include "server.hpp"

#include "handler.hpp"
#include "validation.hpp"

#include <chainpp/json.hpp>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace emulator {

using chainpp::Json;

// ------------------------------------------------------------------ the handler

void Handler::handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  start_ = std::chrono::steady_clock::now();
  const Poco::URI uri(request.getURI());
  const std::string path = uri.getPath();
  std::string body;
  Poco::StreamCopier::copyToString(request.stream(), body);

  if (path.rfind("/_emulator/", 0) == 0) {
    control(path, request, response);
    return;
  }
  record(request, body);
  fault_text_ = "-";
  // The quota reported in x-ratelimit-remaining-*, settable per request.
  remaining_requests_ = request.get("x-emulator-remaining-requests", "99");
  remaining_tokens_ = request.get("x-emulator-remaining-tokens", "99000");
  try {
    serve(uri, path, body, request, response);
  } catch (const std::exception& e) {
    status_ = 500;
    if (!response.sent()) send_error(response, 500, "InternalServerError", std::string("emulator: ") + e.what());
  }
  log(request);
}

void Handler::serve(const Poco::URI& uri, const std::string& path, const std::string& body,
                    Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  if (serve_identity(uri, path, body, request, response)) return;
  if (Batches::handles(path)) {
    dialect_ = Dialect::azure;
    if (!authorized(request, response)) return;
    const BatchReply reply =
        state_.batches.serve(request.getMethod(), path, request, body, query_parameter(uri, "api-version"));
    if (reply.content)
      send_body(response, reply.status, *reply.content, "application/octet-stream");
    else
      send_json(response, reply.status, reply.json);
    return;
  }
  std::string deployment_name;
  bool need_api_version = false;
  bool responses_api = false;
  static const std::string prefix = "/openai/deployments/";
  static const std::string suffix = "/chat/completions";
  if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    dialect_ = Dialect::azure;
    deployment_name = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    need_api_version = true;
  } else if (path == "/openai/v1/chat/completions") {
    dialect_ = Dialect::azure;
  } else if (path == "/v1/chat/completions") {
    dialect_ = Dialect::openai;
  } else if (path == "/openai/v1/responses" || path == "/v1/responses") {
    dialect_ = path == "/v1/responses" ? Dialect::openai : Dialect::azure;
    responses_api = true;
  } else {
    dialect_ = path.rfind("/openai/", 0) == 0 ? Dialect::azure : Dialect::openai;
    send_error(response, 404, "404", "Resource not found");
    return;
  }
  if (request.getMethod() != "POST") {
    send_error(response, 405, "MethodNotAllowed", "Only POST is supported on this path.");
    return;
  }

  if (!authorized(request, response)) return;

  const std::string api_version = query_parameter(uri, "api-version");
  if (need_api_version && api_version.empty()) {
    send_error(response, 400, "BadRequest",
               "The api-version query parameter (?api-version=) is required for all requests.");
    return;
  }
  if (need_api_version && !known_api_version(api_version)) {
    send_error(response, 404, "404", "Resource not found");
    return;
  }

  Json req;
  try {
    req = Json::parse(body);
  } catch (const std::exception&) {
    send_error(response, 400, "BadRequest",
               "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
               "HTTP library correctly.)");
    return;
  }
  if (!req.is_object()) {
    send_error(response, 400, "BadRequest", "The request body must be a JSON object.");
    return;
  }
  if (deployment_name.empty()) deployment_name = req.value("model", "");

  const Deployment* deployment = nullptr;
  auto it = state_.config.deployments.find(deployment_name);
  if (it != state_.config.deployments.end()) deployment = &it->second;
  if (!deployment && dialect_ == Dialect::openai) {
    for (const auto& [name, d] : state_.config.deployments)
      if (d.model == deployment_name) deployment = &d;
  }
  if (!deployment) {
    if (dialect_ == Dialect::azure) {
      send_error(response, 404, "DeploymentNotFound",
                 "The API deployment for this resource does not exist. If you created the deployment within the "
                 "last 5 minutes, please wait a moment and try again.");
    } else {
      send_openai_error(response, 404, "model_not_found", "invalid_request_error",
                        "The model `" + deployment_name + "` does not exist or you do not have access to it.");
    }
    return;
  }
  deployment_ = deployment;
  if (responses_api) {
    serve_responses(request, response, req, api_version);
    return;
  }

  const Json* messages = req.find("messages");
  if (!messages || !messages->is_array() || messages->empty()) {
    send_error(response, 400, "BadRequest", "'messages' is a required property and must be a non-empty array.");
    return;
  }

  // Reasoning (o-series) deployments reject the sampling and length
  // parameters of older models, as the service does.
  if (deployment->reasoning()) {
    if (req.contains("max_tokens")) {
      send_json(response, 400,
                RequestError{"unsupported_parameter",
                             "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                             "'max_completion_tokens' instead.",
                             "max_tokens"}
                    .body());
      return;
    }
    for (const char* p : {"temperature", "top_p", "presence_penalty", "frequency_penalty"}) {
      const Json* v = req.find(p);
      if (v && !(v->is_number() && v->as_double() == (std::string(p) == "temperature" || std::string(p) == "top_p" ? 1.0 : 0.0))) {
        send_json(response, 400,
                  RequestError{"unsupported_value",
                               std::string("Unsupported value: '") + p + "' does not support " + v->dump() +
                                   " with this model. Only the default value is supported.",
                               p}
                      .body());
        return;
      }
    }
  }

  std::vector<Fault> active;
  if (!inject_faults(request, response, api_version, active)) return;
  // After the faults: the gateway's answers (429, 5xx) come before the model's checks.
  if (const auto error = check_request(req)) {
    send_json(response, 400, error->body());
    return;
  }

  const bool stream = req.value("stream", false);
  Completion completion;
  Json error_filter;
  if (!compose(req, *messages, completion, error_filter)) {
    send_prompt_filtered(response, error_filter);
    return;
  }
  if (stream) {
    {
      std::lock_guard lock(state_.mutex);
      ++state_.streams;
    }
    stream_completion(request, response, req, completion, active);
  } else {
    respond_completion(request, response, req, completion, active);
  }
}

// Credentials: api-key or Authorization: Bearer (OpenAI: Bearer only). False
// (401 sent) when there is none or it is not one of the configured keys.
bool Handler::authorized(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  std::string credential;
  if (dialect_ == Dialect::azure && request.has("api-key")) credential = request.get("api-key");
  if (credential.empty() && request.has("Authorization")) {
    const std::string& auth = request.get("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) credential = auth.substr(7);
  }
  // A token of the identity endpoints: accepted until it expires.
  if (const auto issued = state_.tokens.status(credential); issued != IssuedTokens::Status::unknown) {
    if (issued == IssuedTokens::Status::valid) return true;
    send_error(response, 401, "401",
               "Unauthorized. Access token is missing, invalid, audience is incorrect "
               "(https://cognitiveservices.azure.com), or have expired.");
    return false;
  }
  const auto& keys = state_.config.api_keys;
  const bool known =
      !credential.empty() && (keys.empty() || std::find(keys.begin(), keys.end(), credential) != keys.end());
  if (!known) {
    if (dialect_ == Dialect::azure) {
      send_error(response, 401, "401",
                 "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                 "valid key for an active subscription and use a correct regional API endpoint for your resource.");
    } else {
      send_openai_error(response, 401, "invalid_api_key", "invalid_request_error",
                        "Incorrect API key provided. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.");
    }
    return false;
  }
  return true;
}

std::string Handler::query_parameter(const Poco::URI& uri, const std::string& name) {
  for (const auto& [k, v] : uri.getQueryParameters())
    if (k == name) return v;
  return std::string();
}

void Handler::log(const Poco::Net::HTTPServerRequest& request) {
  if (state_.quiet) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_);
  std::ostringstream line;
  line << "emulator: " << request.getMethod() << " " << request.getURI() << " -> "
       << (status_ ? std::to_string(status_) : std::string("reset")) << " " << ms.count() << " ms"
       << " fault=" << fault_text_ << " request-id=" << request_id_ << "\n";
  std::cerr << line.str() << std::flush;
}

// ------------------------------------------------------------------ the server

namespace {

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
  explicit Factory(State& state) : state_(state) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(state_);
  }

private:
  State& state_;
};

}  // namespace

void run(const Config& config, const ServerOptions& options) {
  // Signals are waited for synchronously; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  State state;
  state.config = config;
  state.quiet = options.quiet;

  const Poco::Net::SocketAddress address(options.host, options.port);
  Poco::Net::ServerSocket socket;
  if (!options.tls_cert.empty()) {
    Poco::Net::initializeSSL();
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_SERVER_USE, options.tls_key, options.tls_cert, "", Poco::Net::Context::VERIFY_NONE);
    socket = Poco::Net::SecureServerSocket(address, 256, context);
  } else {
    socket = Poco::Net::ServerSocket(address, 256);
  }
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(256);
  params->setMaxQueued(1024);
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);
  params->setKeepAliveTimeout(Poco::Timespan(60, 0));
  params->setTimeout(Poco::Timespan(60, 0));
  Poco::ThreadPool pool(4, 256);
  Poco::Net::HTTPServer server(new Factory(state), pool, socket, params);
  state.server = &server;
  // Set before the server's threads start: the batch threads read it unlocked.
  const std::string self_host = options.host == "0.0.0.0" ? "127.0.0.1" : options.host;
  state.batches.set_self_url((options.tls_cert.empty() ? "http://" : "https://") + self_host + ":" +
                             std::to_string(socket.address().port()));
  server.start();
  std::cout << "listening on " << options.host << ":" << socket.address().port() << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  // Stop accepting and stop the batch threads, then end the process, which
  // closes the connections still open. Not HTTPServer::stopAll nor the
  // destructors (~HTTPServer calls stopAll): they end live connections while
  // their threads unregister from the server's serverStopped event, whose
  // delegates Debian's libPocoNet (not built with ThreadSanitizer) shares
  // through reference counts TSan cannot see, so TSan reported this thread's
  // delete of a delegate as racing with a connection thread's use of it.
  server.stop();
  state.batches.stop();
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(0);
}

}  // namespace emulator
