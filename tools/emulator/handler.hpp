#pragma once
// The emulator's request handler and the state its requests share, private
// to tools/emulator. Its members are defined by concept:
//   server.cpp         routing, credentials, the request checks, the log line
//   control.cpp        the /_emulator/... endpoints and the counts behind them
//   faults.cpp         fault injection: x-emulator-fault and a deployment's fault
//   answers.cpp        the scripted answer, the JSON bodies and the errors
//   stream_writer.cpp  the SSE stream of a streamed answer
//   responses.cpp      the Responses API: its request checks, answer and body
//   responses_stream.cpp  the typed SSE events of a streamed Responses answer
//   schema_values.cpp  values generated from a JSON schema, and their check
//   tool_calls.cpp     the tool calls of an answer: tool_choice, declared tools, valid arguments
//   validation.cpp     the checks of a request: api-version, the request schema, semantic rules
//   identity.cpp       the Entra ID token, App Service and IMDS endpoints
#include "batches.hpp"
#include "emulator_config.hpp"
#include "identity.hpp"

#include <chainpp/json.hpp>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace emulator {

// One fault of the comma-separated list in `x-emulator-fault` or a deployment's `fault`.
struct Fault {
  std::string kind;  // "status", "reset", "reset-mid-stream", "slow-first-byte", "slow-stream", "malformed-json", "no-done"
  int status = 0;
  long arg = 0;
  long first_n = -1;  // "-then-ok:N": only the first N requests
};

// The faults of a streamed answer, read from a request's active faults.
struct StreamFaults {
  long slow_ms = 0;        // slow-stream: the wait between events
  bool reset = false;      // reset-mid-stream
  bool error = false;      // error-mid-stream
  bool malformed = false;  // malformed-json
  bool no_done = false;    // no-done
};
StreamFaults stream_faults(const std::vector<Fault>& faults);

// What the handlers share: the configuration, the batches, and the counters
// and request log the control endpoints report.
struct State {
  Config config;
  Batches batches{config};
  bool quiet = false;
  Poco::Net::HTTPServer* server = nullptr;
  std::mutex mutex;
  long requests = 0;
  long streams = 0;
  long next_id = 0;
  long batch_line_ids = 0;  // ids of the requests a batch sends itself (not counted or recorded)
  long cycle_index = 0;
  int tcp_baseline = 0;
  std::set<std::string> peers;
  std::map<std::string, long> fault_counts;
  std::deque<chainpp::Json> recorded;
  IssuedTokens tokens;  // of the identity endpoints
};

// The faults of a spec such as "429-then-ok:2, slow-stream:50"; throws on an unknown one.
std::vector<Fault> parse_faults(const std::string& spec);

// The protocol a request speaks: Azure OpenAI's paths or OpenAI's.
enum class Dialect { azure, openai };

// The answer chosen for a request, before it is written as a body or a stream.
struct Completion {
  std::optional<std::string> content;
  std::vector<ScriptedToolCall> tool_calls;
  std::string finish_reason = "stop";
  std::string filtered_category;  // completion filter
  long prompt_tokens = 0;
  long completion_tokens = 0;
  std::optional<long> cached_tokens;
  std::optional<long> reasoning_tokens;
};

// A value generated for `schema` (the schema of `what`), checked against it
// with the validator; throws std::runtime_error (a 500) when it does not validate.
chainpp::Json checked_instance(const chainpp::Json& schema, const std::string& what);
// The reasoning tokens a reasoning deployment spends at `effort` when its answer does not script them.
long default_reasoning_tokens(const std::string& effort);
// The pieces (one token each) a text is answered and streamed in: words with their leading spaces.
std::vector<std::string> split_pieces(const std::string& text);
// Whose content_filter_results: a prompt's carry jailbreak, a completion's protected_material_code/_text.
enum class FilterOf { prompt, completion };
// Azure's content_filter_results, every category safe but `filtered_category`; with
// `detections` (current models' default filter) also jailbreak or protected material, none detected.
chainpp::Json filter_results(const std::string& filtered_category = {}, FilterOf of = FilterOf::completion,
                             bool detections = false);
// Azure's prompt_filter_results for an unfiltered prompt (with jailbreak when `detections`).
chainpp::Json prompt_filter_results(bool detections);

// Serves one request (Poco makes a handler per request).
class Handler : public Poco::Net::HTTPRequestHandler {
public:
  explicit Handler(State& state) : state_(state) {}

  // Reads the body, then serves a control endpoint or counts, serves and logs the request.
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

private:
  // ---- routing, credentials, the log line (server.cpp)
  // The Files and Batch APIs, or a chat completion after its checks.
  void serve(const Poco::URI& uri, const std::string& path, const std::string& body,
             Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
  // Whether the request's credential is known (else 401 sent).
  bool authorized(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);
  // The value of a query parameter, or "".
  static std::string query_parameter(const Poco::URI& uri, const std::string& name);
  // The request's line on stderr (unless quiet).
  void log(const Poco::Net::HTTPServerRequest& request);

  // ---- the identity endpoints (identity.cpp)
  // Serves the Entra ID token, App Service and IMDS endpoints; false for another path.
  bool serve_identity(const Poco::URI& uri, const std::string& path, const std::string& body,
                      Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

  // ---- the control endpoints (control.cpp)
  // Gives the request its ids; counts and records it unless a batch sent it.
  void record(const Poco::Net::HTTPServerRequest& request, const std::string& body);
  // Serves /_emulator/stats, /_emulator/files, /_emulator/requests, /_emulator/reset.
  void control(const std::string& path, Poco::Net::HTTPServerRequest& request,
               Poco::Net::HTTPServerResponse& response);

  // ---- fault injection (faults.cpp)
  // Fills `active` with this request's faults and applies those that
  // come before the answer; false when one of them answered (or reset) it.
  bool inject_faults(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                     const std::string& api_version, std::vector<Fault>& active);
  // The error response of a status fault (429 with its retry headers).
  void send_status_fault(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response, int status,
                         const std::string& api_version);
  // Closes the connection abruptly (RST).
  static void reset_connection(Poco::Net::HTTPServerRequest& request);

  // ---- answers, bodies and errors (answers.cpp)
  // Chooses the scripted answer and fills `out`; false when the prompt is filtered.
  bool compose(const chainpp::Json& req, const chainpp::Json& messages, Completion& out, chainpp::Json& prompt_filter);
  // The 400 of a prompt the content filter caught.
  void send_prompt_filtered(Poco::Net::HTTPServerResponse& response, const chainpp::Json& prompt_filter);
  // The "usage" member of a completion.
  chainpp::Json usage_json(const Completion& c) const;
  // The "logprobs" of `pieces` (null unless requested); `offset` is the first piece's index.
  chainpp::Json logprobs_json(const chainpp::Json& req, const std::vector<std::string>& pieces,
                              std::size_t offset) const;
  // The "model" of a completion.
  std::string model_name() const;
  // The "system_fingerprint" of a completion.
  chainpp::Json fingerprint() const;
  // The "id" of a completion.
  std::string completion_id() const;
  // The "tool_calls" of a message.
  chainpp::Json tool_calls_json(const Completion& c) const;
  // A whole chat.completion body, with its faults.
  void respond_completion(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                          const chainpp::Json& req, const Completion& c, const std::vector<Fault>& faults);
  // A whole JSON answer (200), cut in half by malformed-json, reset half-way by reset-mid-stream.
  void send_answer_body(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                        std::string text, const std::vector<Fault>& faults);
  // The request id and rate-limit headers of every answer.
  void set_common_headers(Poco::Net::HTTPServerResponse& response);
  // A JSON response.
  void send_json(Poco::Net::HTTPServerResponse& response, int status, const chainpp::Json& body);
  // A response with a body of `content_type`.
  void send_body(Poco::Net::HTTPServerResponse& response, int status, const std::string& text,
                 const std::string& content_type);
  // An error in the dialect's shape.
  void send_error(Poco::Net::HTTPServerResponse& response, int status, const std::string& code,
                  const std::string& message);
  // An error in OpenAI's shape.
  void send_openai_error(Poco::Net::HTTPServerResponse& response, int status, const std::string& code,
                         const std::string& type, const std::string& message);

  // ---- the SSE stream (stream_writer.cpp)
  // Sends the 200 headers of an SSE stream; returns the body to write the events to.
  std::ostream& send_event_stream(Poco::Net::HTTPServerResponse& response);
  // A chat.completion.chunk SSE stream, with its faults.
  void stream_completion(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                         const chainpp::Json& req, const Completion& c, const std::vector<Fault>& faults);

  // ---- the Responses API (responses.cpp, responses_stream.cpp)
  // Serves POST /openai/v1/responses or /v1/responses on `deployment_`: checks, faults, answer.
  void serve_responses(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                       const chainpp::Json& req, const std::string& api_version);
  // The SSE events of the finished Response object `final`, with the stream faults.
  void stream_response(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                       const chainpp::Json& final, const std::vector<Fault>& faults);

  State& state_;
  // The request being served.
  Dialect dialect_ = Dialect::azure;
  const Deployment* deployment_ = nullptr;
  long id_ = 0;
  int status_ = 0;
  std::string request_id_;
  std::string fault_text_;
  std::string remaining_requests_;
  std::string remaining_tokens_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace emulator
