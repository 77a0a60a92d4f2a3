#pragma once
// A run-tree tracer: one JSON line per finished run (id, parent_id, name,
// run_type, start_time, end_time, inputs, outputs, error, token_usage),
// written to a file. Values that look like credentials are redacted.
#include <chainpp/callbacks.hpp>
#include <chainpp/export.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <string>

namespace chainpp {

class CHAINPP_API TraceHandler : public CallbackHandler {
public:
  /// Appends to `path`; throws ConfigError naming the path when it cannot be opened.
  explicit TraceHandler(const std::string& path);
  ~TraceHandler() override;

  void on_chain_start(const RunInfo& run, const Value& inputs) override;
  void on_chain_end(const RunInfo& run, const Value& outputs) override;
  void on_chain_error(const RunInfo& run, const std::exception& error) override;
  void on_chat_model_start(const RunInfo& run, const Messages& messages, const Json& params) override;
  void on_llm_end(const RunInfo& run, const AIMessage& result) override;
  void on_llm_error(const RunInfo& run, const std::exception& error) override;

private:
  struct Open {
    RunInfo info;
    std::string start_time;
    Json inputs;
  };
  void open(const RunInfo& run, Json inputs);
  void close(const RunInfo& run, Json outputs, Json error, Json usage);

  std::mutex mutex_;
  std::ofstream out_;
  std::map<std::string, Open> open_;
};

/// A copy of `value` with credential-like members ("api_key", "api-key",
/// "authorization", "token", "password", "secret", ...) replaced by "***".
CHAINPP_API Json redact_secrets(const Json& value);

}  // namespace chainpp
