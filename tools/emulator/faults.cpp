// Fault injection: the faults of x-emulator-fault (or a deployment's `fault`)
// that come before an answer (slow-first-byte, reset, status codes with their
// error bodies) and the abrupt connection reset the others use too.
#include "handler.hpp"

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/StreamSocket.h>

#include <cctype>
#include <chrono>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace emulator {

std::vector<Fault> parse_faults(const std::string& spec) {
  std::vector<Fault> faults;
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty() || item == "none") continue;
    Fault f;
    std::string head = item;
    std::string arg;
    if (const auto colon = item.find(':'); colon != std::string::npos) {
      head = item.substr(0, colon);
      arg = item.substr(colon + 1);
    }
    if (const auto then_ok = head.find("-then-ok"); then_ok != std::string::npos) {
      head.resize(then_ok);
      f.first_n = arg.empty() ? 1 : std::stol(arg);
      arg.clear();
    }
    if (!head.empty() && std::isdigit(static_cast<unsigned char>(head[0]))) {
      f.kind = "status";
      f.status = std::stoi(head);
    } else {
      f.kind = head;
      if (!arg.empty()) f.arg = std::stol(arg);
    }
    static const std::set<std::string> known = {"status", "reset", "reset-mid-stream", "slow-first-byte",
                                                "slow-stream", "malformed-json", "no-done", "error-mid-stream"};
    if (!known.count(f.kind)) throw std::invalid_argument("unknown fault '" + item + "'");
    faults.push_back(f);
  }
  return faults;
}

bool Handler::inject_faults(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                            const std::string& api_version, std::vector<Fault>& active) {
  // Faults: the request header wins over the deployment's configuration.
  std::string fault_spec = request.get("x-emulator-fault", deployment_->fault);
  std::vector<Fault> faults;
  try {
    faults = parse_faults(fault_spec);
  } catch (const std::exception& e) {
    send_error(response, 400, "BadRequest", std::string("emulator: ") + e.what());
    return false;
  }
  const std::string fault_key =
      deployment_->name + "|" + fault_spec + "|" + request.get("x-emulator-fault-id", "");
  long fault_seq = 0;
  if (!faults.empty()) {
    std::lock_guard lock(state_.mutex);
    fault_seq = ++state_.fault_counts[fault_key];
  }
  for (const auto& f : faults)
    if (f.first_n < 0 || fault_seq <= f.first_n) active.push_back(f);
  if (!active.empty()) fault_text_ = fault_spec;
  auto has = [&](const char* kind) -> const Fault* {
    for (const auto& f : active)
      if (f.kind == kind) return &f;
    return nullptr;
  };

  if (const Fault* f = has("slow-first-byte")) std::this_thread::sleep_for(std::chrono::milliseconds(f->arg));
  if (has("reset")) {
    reset_connection(request);
    status_ = 0;
    return false;
  }
  if (const Fault* f = has("status")) {
    send_status_fault(request, response, f->status, api_version);
    return false;
  }
  return true;
}

void Handler::send_status_fault(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                                int status, const std::string& api_version) {
  if (status == 429) {
    const std::string ra = request.get("x-emulator-retry-after", deployment_->retry_after.value_or("1"));
    const std::string ra_ms = request.get("x-emulator-retry-after-ms", deployment_->retry_after_ms.value_or("10"));
    if (ra != "none") response.set("retry-after", ra);
    if (ra_ms != "none") response.set("retry-after-ms", ra_ms);
    response.set("x-ratelimit-remaining-requests", "0");
    if (dialect_ == Dialect::openai) {
      send_openai_error(response, 429, "rate_limit_exceeded", "requests",
                        "Rate limit reached for requests. Please try again in 1s.");
    } else {
      send_error(response, 429, "429",
                 "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version " +
                     (api_version.empty() ? std::string("v1") : api_version) +
                     " have exceeded token rate limit of your current AIServices S0 pricing tier. Please retry "
                     "after " + ra + " second. Please contact Azure support service if you would like to further "
                     "increase the default rate limit.");
    }
    return;
  }
  if (status == 500) {
    send_error(response, 500, "InternalServerError", "The server had an error while processing your request. Sorry about that!");
  } else if (status == 503) {
    send_error(response, 503, "ServiceUnavailable", "The service is temporarily unable to process your request. Please try again later.");
  } else {
    send_error(response, status, std::to_string(status),
               Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status)));
  }
}

StreamFaults stream_faults(const std::vector<Fault>& faults) {
  StreamFaults out;
  for (const auto& f : faults) {
    if (f.kind == "slow-stream") out.slow_ms = f.arg;
    if (f.kind == "reset-mid-stream") out.reset = true;
    if (f.kind == "error-mid-stream") out.error = true;
    if (f.kind == "malformed-json") out.malformed = true;
    if (f.kind == "no-done") out.no_done = true;
  }
  return out;
}

// Closes the connection abruptly (RST), without (the rest of) a response.
//
// The socket is first taken from Poco's session (detachSocket, as Poco's own
// WebSocket does): the session then holds an unconnected socket, so Poco never
// writes to or closes this one again; what it still writes (a chunked body's
// last chunk) fails on the unconnected one inside Poco, and the connection
// ends. Nothing here dereferences the socket's implementation object in this
// (instrumented) code, only calls into libPocoNet do: that object is shared
// with the TCPServer thread through Poco's reference count, which Debian's
// libPocoNet updates out of ThreadSanitizer's sight, so a read here (the
// virtual call of the inline Socket::close) and the server thread's delete
// of its last reference looked unordered to it. Hence the non-virtual
// SocketImpl::close: the close is Poco's, on this thread, with SO_LINGER 0.
void Handler::reset_connection(Poco::Net::HTTPServerRequest& request) {
  auto& impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl&>(request);
  Poco::Net::StreamSocket socket = impl.detachSocket();
  socket.setLinger(true, 0);  // SocketImpl::setLinger is not virtual
  socket.impl()->Poco::Net::SocketImpl::close();
}

}  // namespace emulator
