#pragma once
// The checks of a chat-completions request before it is answered, as the
// service makes them: the api-version, the official 2024-10-21 request schema
// (embedded at build time; with the later API versions' additions: the
// developer role, stream_options and the newer top-level parameters), and
// Azure's semantic rules (tool messages answer a preceding assistant's
// tool_calls, tool_choice needs tools, stream_options needs stream).
#include <chainpp/json.hpp>

#include <optional>
#include <string>

namespace emulator {

// A 400 as the service sends it: {"error": {"code", "message", "param", "type"}}
// (an empty code or param is null).
struct RequestError {
  std::string code;
  std::string message;
  std::string param;
  std::string type = "invalid_request_error";
  chainpp::Json body() const;
};

// Whether `version` is one of the service's data-plane API versions (else 404 Resource not found).
bool known_api_version(const std::string& version);

// The first thing wrong with a request body (a JSON object), or nullopt.
std::optional<RequestError> check_request(const chainpp::Json& req);

}  // namespace emulator
