#pragma once
// The Azure OpenAI Files and Batch APIs of the emulator, kept in memory:
//   POST /openai/files (multipart: purpose, file), GET /openai/files[/{id}[/content]]
//   POST /openai/batches, GET /openai/batches[/{id}], POST /openai/batches/{id}/cancel
// and the same under /openai/v1/ (without api-version; their lines go to /openai/v1/chat/completions).
// A batch runs locally on its own thread: validating -> in_progress ->
// finalizing -> completed (or failed when its input does not validate;
// cancelling -> cancelled when cancelled). Each request line is sent, in
// order, to this emulator's own chat-completions endpoint, so it gets exactly
// the answers, usage and faults of a direct call: the x-emulator-fault header
// (and x-emulator-retry-after[-ms]) of the batch creation applies to every
// line, and a line whose body contains "[emulator-fault: SPEC]" gets SPEC
// instead (e.g. "[emulator-fault: 500]" fails it, "[emulator-fault:
// slow-first-byte:2000]" keeps the batch in progress 2 s longer).
// Successful responses go to the output file, failed ones to the error file:
// {"custom_id":..,"response":{"status_code":..,"request_id":..,"body":{..}},"error":null}.
// Lines a cancelled batch never ran have no result.
#include "emulator_config.hpp"

#include <chainpp/http.hpp>
#include <chainpp/json.hpp>

#include <Poco/Net/NameValueCollection.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace emulator {

/// The response to a Files or Batch API request: JSON, or a file's content.
struct BatchReply {
  int status = 200;
  chainpp::Json json;
  std::optional<std::string> content;  ///< set for GET /openai/files/{id}/content
};

class Batches {
public:
  explicit Batches(const Config& config) : config_(config) {}
  ~Batches();
  Batches(const Batches&) = delete;
  Batches& operator=(const Batches&) = delete;

  /// Where batch lines are sent: this server's base URL ("http://127.0.0.1:PORT").
  void set_self_url(std::string url) { self_url_ = std::move(url); }

  /// Whether `path` belongs to these APIs.
  static bool handles(const std::string& path);
  /// Serves one authorized request with its api-version.
  BatchReply serve(const std::string& method, const std::string& path, const Poco::Net::NameValueCollection& headers,
                   const std::string& body, const std::string& api_version);

  /// Every file with its content (for GET /_emulator/files):
  /// [{"id","filename","purpose","bytes","content"}].
  chainpp::Json inspect_files() const;

  /// Stops the batch threads (their batches stay where they are) and joins them.
  void stop();

private:
  struct File {
    std::string id, filename, purpose, content;
    long created_at = 0;
  };
  struct Batch {
    std::string id, input_file_id, endpoint, api_version, status = "validating";
    std::string output_file_id, error_file_id;
    long created_at = 0, in_progress_at = 0, finalizing_at = 0, completed_at = 0, failed_at = 0;
    long cancelling_at = 0, cancelled_at = 0;
    long total = 0, completed = 0, failed = 0;
    long number = 0;                 // 1 for the first batch: part of its lines' request ids
    chainpp::Json errors;            // null, or {"object":"list","data":[...]}
    Poco::Net::NameValueCollection forward;  // credential and emulator headers sent with each line
  };

  BatchReply upload(const Poco::Net::NameValueCollection& headers, const std::string& body);
  BatchReply create(const Poco::Net::NameValueCollection& headers, const std::string& body,
                    const std::string& api_version);
  void run(const std::string& batch_id);
  /// Validation errors of an input file (empty: valid); fills `lines` with the parsed lines.
  chainpp::Json validate(const std::string& content, const std::string& endpoint, std::vector<chainpp::Json>& lines);
  /// One line sent to the chat-completions endpoint: its output line and whether it succeeded.
  std::pair<chainpp::Json, bool> run_line(const Batch& batch, const chainpp::Json& line, long index);
  std::string add_file(std::string filename, std::string purpose, std::string content);  // locked
  chainpp::Json file_json(const File& f) const;
  chainpp::Json batch_json(const Batch& b) const;

  const Config& config_;
  std::string self_url_;
  chainpp::HttpClient client_;  // for the lines
  mutable std::mutex mutex_;  // everything below
  std::map<std::string, File> files_;
  std::map<std::string, Batch> batches_;
  std::vector<std::string> file_order_, batch_order_;
  long next_file_ = 0, next_batch_ = 0;
  std::vector<std::thread> workers_;
  std::atomic<bool> stopping_{false};
};

}  // namespace emulator
