// The control endpoints of the emulator, for tests and demos:
//   GET /_emulator/stats      request, connection and stream counts
//   GET /_emulator/requests   the last 1000 requests (method, uri, headers, body)
//   GET /_emulator/files      the Files API's files with their content
//   POST /_emulator/reset     zeroes the counts, restarts the answer cycle and
//                             the fault sequences, forgets the requests
// and the counting and recording of each request behind them.
#include "handler.hpp"

#include <cstdio>

namespace emulator {

using chainpp::Json;

namespace {

std::string request_uuid(long n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012lx", n);
  return buf;
}

}  // namespace

void Handler::record(const Poco::Net::HTTPServerRequest& request, const std::string& body) {
  if (request.has("x-emulator-batch-line")) {
    std::lock_guard lock(state_.mutex);
    id_ = ++state_.batch_line_ids;
    request_id_ = request.get("x-emulator-request-id", request_uuid(id_));
  } else {
    std::lock_guard lock(state_.mutex);
    ++state_.requests;
    state_.peers.insert(request.clientAddress().toString());
    id_ = ++state_.next_id;
    Json rec = Json::object();
    rec.set("method", request.getMethod());
    rec.set("uri", request.getURI());
    Json headers = Json::object();
    for (const auto& [k, v] : request) headers.set(k, v);
    rec.set("headers", headers);
    try {
      rec.set("body", Json::parse(body));
    } catch (const std::exception&) {
      rec.set("body", body);
    }
    state_.recorded.push_back(std::move(rec));
    if (state_.recorded.size() > 1000) state_.recorded.pop_front();
    request_id_ = request_uuid(id_);
  }
}

void Handler::control(const std::string& path, Poco::Net::HTTPServerRequest& request,
                      Poco::Net::HTTPServerResponse& response) {
  std::lock_guard lock(state_.mutex);
  Json out;
  if (path == "/_emulator/stats") {
    out = Json{{"requests", state_.requests},
               {"connections", static_cast<long>(state_.peers.size())},
               {"streams", state_.streams},
               {"tcp_connections", state_.server ? state_.server->totalConnections() - state_.tcp_baseline : 0},
               {"current_connections", state_.server ? state_.server->currentConnections() : 0}};
  } else if (path == "/_emulator/files") {
    out = state_.batches.inspect_files();
  } else if (path == "/_emulator/requests") {
    out = Json::array();
    for (const auto& r : state_.recorded) out.push_back(r);
  } else if (path == "/_emulator/reset" && request.getMethod() == "POST") {
    state_.requests = 0;
    state_.streams = 0;
    state_.cycle_index = 0;
    state_.next_id = 0;
    state_.peers.clear();
    state_.fault_counts.clear();
    state_.recorded.clear();
    state_.tcp_baseline = state_.server ? state_.server->totalConnections() : 0;
    out = Json{{"reset", true}};
  } else {
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
    out = Json{{"error", "unknown emulator endpoint"}};
  }
  const std::string text = out.dump();
  response.setContentType("application/json");
  response.setContentLength64(static_cast<Poco::Int64>(text.size()));
  response.send() << text;
}

}  // namespace emulator
