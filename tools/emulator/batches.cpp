#include "batches.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>

#include <Poco/Net/MediaType.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/MultipartReader.h>
#include <Poco/StreamCopier.h>

#include <cstdio>
#include <ctime>
#include <set>
#include <sstream>

namespace emulator {

using chainpp::Json;

namespace {

long now() { return static_cast<long>(std::time(nullptr)); }

Json error_json(const std::string& code, const std::string& message) {
  return Json{{"error", Json{{"code", code}, {"message", message}}}};
}

BatchReply error_reply(int status, const std::string& code, const std::string& message) {
  return BatchReply{status, error_json(code, message), std::nullopt};
}

Json timestamp(long t) { return t ? Json(t) : Json(); }
Json id_or_null(const std::string& id) { return id.empty() ? Json() : Json(id); }

/// The spec of a "[emulator-fault: SPEC]" marker in `text`, or nullopt.
std::optional<std::string> fault_marker(const std::string& text) {
  static const std::string marker = "[emulator-fault:";
  const auto at = text.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const auto end = text.find(']', at);
  if (end == std::string::npos) return std::nullopt;
  std::string spec = text.substr(at + marker.size(), end - at - marker.size());
  while (!spec.empty() && spec.front() == ' ') spec.erase(0, 1);
  while (!spec.empty() && spec.back() == ' ') spec.pop_back();
  return spec;
}

// Whether `path` is one of the v1 paths (/openai/v1/...), which take no api-version.
bool is_v1(const std::string& path) { return path.rfind("/openai/v1/", 0) == 0; }

// The segments of a path after /openai/ (or /openai/v1/): {"batches", "<id>", "cancel"}.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path.substr(std::string(is_v1(path) ? "/openai/v1/" : "/openai/").size()));
  for (std::string s; std::getline(in, s, '/');)
    if (!s.empty()) out.push_back(s);
  return out;
}

}  // namespace

Batches::~Batches() { stop(); }

void Batches::stop() {
  stopping_ = true;
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.join();
}

bool Batches::handles(const std::string& path) {
  for (const char* prefix : {"/openai/files", "/openai/batches", "/openai/v1/files", "/openai/v1/batches"}) {
    const std::string p = prefix;
    if (path == p || path.rfind(p + "/", 0) == 0) return true;
  }
  return false;
}

BatchReply Batches::serve(const std::string& method, const std::string& path,
                          const Poco::Net::NameValueCollection& headers, const std::string& body,
                          const std::string& api_version) {
  if (api_version.empty() && !is_v1(path))
    return error_reply(400, "BadRequest", "The api-version query parameter (?api-version=) is required for all requests.");
  const std::vector<std::string> seg = segments(path);
  const std::size_t n = seg.size();
  if (seg[0] == "files") {
    if (n == 1 && method == "POST") return upload(headers, body);
    std::lock_guard lock(mutex_);
    if (n == 1 && method == "GET") {
      Json data = Json::array();
      for (const auto& id : file_order_) data.push_back(file_json(files_.at(id)));
      return BatchReply{200, Json{{"data", data}, {"object", "list"}}, std::nullopt};
    }
    if ((n == 2 || (n == 3 && seg[2] == "content")) && method == "GET") {
      auto it = files_.find(seg[1]);
      if (it == files_.end()) return error_reply(404, "404", "File not found: " + seg[1]);
      if (n == 2) return BatchReply{200, file_json(it->second), std::nullopt};
      return BatchReply{200, Json(), it->second.content};
    }
  } else {
    if (n == 1 && method == "POST") return create(headers, body, is_v1(path) ? std::string() : api_version);
    std::lock_guard lock(mutex_);
    if (n == 1 && method == "GET") {
      Json data = Json::array();
      for (const auto& id : batch_order_) data.push_back(batch_json(batches_.at(id)));
      return BatchReply{200, Json{{"data", data}, {"object", "list"}}, std::nullopt};
    }
    if ((n == 2 && method == "GET") || (n == 3 && seg[2] == "cancel" && method == "POST")) {
      auto it = batches_.find(seg[1]);
      if (it == batches_.end()) return error_reply(404, "404", "Batch not found: " + seg[1]);
      Batch& b = it->second;
      if (n == 3) {
        if (b.status == "completed" || b.status == "failed" || b.status == "expired" || b.status == "cancelled")
          return error_reply(409, "409", "Cannot cancel a batch with status " + b.status + ".");
        if (b.status != "cancelling") {
          b.status = "cancelling";
          b.cancelling_at = now();
        }
      }
      return BatchReply{200, batch_json(b), std::nullopt};
    }
  }
  return error_reply(404, "404", "Resource not found");
}

BatchReply Batches::upload(const Poco::Net::NameValueCollection& headers, const std::string& body) {
  std::string boundary;
  try {
    const Poco::Net::MediaType type(headers.get("Content-Type", ""));
    if (type.matches("multipart", "form-data")) boundary = type.getParameter("boundary");
  } catch (const Poco::Exception&) {
  }
  if (boundary.empty()) return error_reply(400, "invalidPayload", "The request must be multipart/form-data with a boundary.");
  std::string purpose, filename, content;
  bool has_file = false;
  try {
    std::istringstream in(body);
    Poco::Net::MultipartReader reader(in, boundary);
    while (reader.hasNextPart()) {
      Poco::Net::MessageHeader part;
      reader.nextPart(part);
      std::string text;
      Poco::StreamCopier::copyToString(reader.stream(), text);
      std::string disposition;
      Poco::Net::NameValueCollection params;
      Poco::Net::MessageHeader::splitParameters(part.get("Content-Disposition", ""), disposition, params);
      const std::string name = params.get("name", "");
      if (name == "purpose") purpose = text;
      if (name == "file") {
        has_file = true;
        filename = params.get("filename", "file.jsonl");
        content = std::move(text);
      }
    }
  } catch (const Poco::Exception& e) {
    return error_reply(400, "invalidPayload", "Malformed multipart body: " + e.displayText());
  }
  if (purpose.empty()) return error_reply(400, "invalidPayload", "The 'purpose' field is required.");
  if (!has_file) return error_reply(400, "invalidPayload", "The 'file' field is required.");
  if (purpose != "batch" && purpose != "fine-tune" && purpose != "assistants")
    return error_reply(400, "invalidPayload", "The purpose '" + purpose + "' is not supported.");
  std::lock_guard lock(mutex_);
  const std::string id = add_file(std::move(filename), std::move(purpose), std::move(content));
  return BatchReply{201, file_json(files_.at(id)), std::nullopt};
}

BatchReply Batches::create(const Poco::Net::NameValueCollection& headers, const std::string& body,
                           const std::string& api_version) {
  Json req;
  try {
    req = Json::parse(body);
  } catch (const chainpp::JsonError&) {
  }
  if (!req.is_object()) return error_reply(400, "BadRequest", "The request body must be a JSON object.");
  const std::string input = req.value("input_file_id", "");
  const std::string endpoint = req.value("endpoint", "");
  if (input.empty()) return error_reply(400, "invalidPayload", "'input_file_id' is required.");
  if (endpoint != "/chat/completions" && endpoint != "/v1/chat/completions")
    return error_reply(400, "invalidPayload", "The endpoint '" + endpoint + "' is not supported: use /chat/completions.");
  if (req.value("completion_window", "") != "24h")
    return error_reply(400, "invalidPayload", "The completion_window must be 24h.");

  std::lock_guard lock(mutex_);
  auto file = files_.find(input);
  if (file == files_.end()) return error_reply(404, "404", "File not found: " + input);
  if (file->second.purpose != "batch")
    return error_reply(400, "invalidPayload", "The input file must be uploaded with purpose batch.");
  Batch b;
  b.number = ++next_batch_;
  char id[64];
  std::snprintf(id, sizeof id, "batch_%08lx-0000-4000-8000-000000000000", b.number);
  b.id = id;
  b.input_file_id = input;
  b.endpoint = endpoint;
  b.api_version = api_version;
  b.created_at = now();
  for (const char* h : {"api-key", "Authorization", "x-emulator-fault", "x-emulator-retry-after",
                        "x-emulator-retry-after-ms"})
    if (headers.has(h)) b.forward.set(h, headers.get(h));
  const std::string batch_id = b.id;
  batch_order_.push_back(batch_id);
  Json out = batch_json(b);
  batches_.emplace(batch_id, std::move(b));
  workers_.emplace_back([this, batch_id] { run(batch_id); });
  return BatchReply{200, std::move(out), std::nullopt};
}

Json Batches::validate(const std::string& content, const std::string& endpoint, std::vector<Json>& lines) {
  Json errors = Json::array();
  auto fail = [&errors](const char* code, const std::string& message, long line) {
    errors.push_back(Json{{"code", code}, {"message", message}, {"param", nullptr}, {"line", line}});
  };
  std::set<std::string> ids;
  std::istringstream in(content);
  long number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json line;
    try {
      line = Json::parse(text);
    } catch (const chainpp::JsonError&) {
    }
    if (!line.is_object()) {
      fail("invalid_json_line", "This line is not parseable as valid JSON.", number);
      continue;
    }
    const std::string custom_id = line.value("custom_id", "");
    const Json* body = line.find("body");
    const std::string model = body && body->is_object() ? body->value("model", "") : std::string();
    if (custom_id.empty())
      fail("missing_required_parameter", "The 'custom_id' field is required.", number);
    else if (!ids.insert(custom_id).second)
      fail("duplicate_custom_id", "The custom_id '" + custom_id + "' is used by an earlier line.", number);
    else if (line.value("method", "") != "POST")
      fail("invalid_method", "The method must be POST.", number);
    else if (line.value("url", "") != endpoint)
      fail("invalid_url", "The url must be the batch's endpoint " + endpoint + ".", number);
    else if (!body || !body->is_object())
      fail("missing_required_parameter", "The 'body' field must be an object.", number);
    else if (!config_.deployments.count(model))
      fail("model_not_found", "The model '" + model + "' is not a deployment of this resource.", number);
    else
      lines.push_back(std::move(line));
  }
  if (lines.empty() && errors.empty()) fail("empty_file", "The input file has no requests.", 0);
  return errors;
}

std::pair<Json, bool> Batches::run_line(const Batch& batch, const Json& line, long index) {
  char request_id[64];
  std::snprintf(request_id, sizeof request_id, "%08lx-0000-4000-8000-%012lx", batch.number, index);
  const Json& body = line.at("body");
  chainpp::HttpRequest request;
  request.provider = "emulator";
  // A batch created on the v1 paths (no api-version) sends its lines to the v1 path.
  request.url = batch.api_version.empty() ? self_url_ + "/openai/v1/chat/completions"
                                          : self_url_ + "/openai/deployments/" + body.value("model", "") +
                                                "/chat/completions?api-version=" + batch.api_version;
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("x-emulator-batch-line", "1");
  request.headers.emplace_back("x-emulator-request-id", request_id);
  for (const auto& [name, value] : batch.forward) request.headers.emplace_back(name, value);
  request.body = body.dump();
  if (auto spec = fault_marker(request.body)) {
    chainpp::HttpHeaders kept;
    for (auto& h : request.headers)
      if (h.first != "x-emulator-fault") kept.push_back(std::move(h));
    request.headers = std::move(kept);
    request.headers.emplace_back("x-emulator-fault", *spec);
  }
  chainpp::TransportOptions options;
  options.max_retries = 0;
  options.verify_tls = false;
  options.use_environment_proxy = false;
  int status = 200;
  Json response_body;
  try {
    response_body = Json::parse(client_.send(request, options).body);
  } catch (const chainpp::ProviderError& e) {
    status = e.status() > 0 ? e.status() : 500;
    response_body = e.info().body.is_object() ? e.info().body : error_json("InternalServerError", e.what());
  } catch (const std::exception& e) {
    status = 500;
    response_body = error_json("InternalServerError", e.what());
  }
  Json out{{"custom_id", line.value("custom_id", "")},
           {"response", Json{{"status_code", status}, {"request_id", request_id}, {"body", std::move(response_body)}}},
           {"error", nullptr}};
  return {std::move(out), status >= 200 && status < 300};
}

void Batches::run(const std::string& batch_id) {
  std::string content, endpoint;
  {
    std::lock_guard lock(mutex_);
    const Batch& b = batches_.at(batch_id);
    content = files_.at(b.input_file_id).content;
    endpoint = b.endpoint;
  }
  std::vector<Json> lines;
  const Json errors = validate(content, endpoint, lines);
  Batch snapshot;  // what run_line reads; copied under the lock
  {
    std::lock_guard lock(mutex_);
    Batch& b = batches_.at(batch_id);
    if (!errors.empty()) {
      b.status = "failed";
      b.failed_at = now();
      b.errors = Json{{"object", "list"}, {"data", errors}};
      return;
    }
    if (b.status == "validating") {
      b.status = "in_progress";
      b.in_progress_at = now();
    }
    b.total = static_cast<long>(lines.size());
    snapshot = b;
  }
  std::string output, error_output;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    {
      std::lock_guard lock(mutex_);
      if (batches_.at(batch_id).status == "cancelling") break;
    }
    if (stopping_) return;
    auto [out, ok] = run_line(snapshot, lines[i], static_cast<long>(i + 1));
    (ok ? output : error_output) += out.dump() + "\n";
    std::lock_guard lock(mutex_);
    Batch& b = batches_.at(batch_id);
    ++(ok ? b.completed : b.failed);
  }
  std::lock_guard lock(mutex_);
  Batch& b = batches_.at(batch_id);
  const bool cancelled = b.status == "cancelling";
  if (!cancelled) b.finalizing_at = now();
  if (!output.empty()) b.output_file_id = add_file(batch_id + "_output.jsonl", "batch_output", std::move(output));
  if (!error_output.empty())
    b.error_file_id = add_file(batch_id + "_error.jsonl", "batch_output", std::move(error_output));
  b.status = cancelled ? "cancelled" : "completed";
  (cancelled ? b.cancelled_at : b.completed_at) = now();
}

std::string Batches::add_file(std::string filename, std::string purpose, std::string content) {
  char id[64];
  std::snprintf(id, sizeof id, "file-%032lx", ++next_file_);
  File f{id, std::move(filename), std::move(purpose), std::move(content), now()};
  file_order_.push_back(f.id);
  files_.emplace(f.id, std::move(f));
  return id;
}

Json Batches::file_json(const File& f) const {
  return Json{{"id", f.id},
              {"object", "file"},
              {"purpose", f.purpose},
              {"filename", f.filename},
              {"bytes", static_cast<long>(f.content.size())},
              {"created_at", f.created_at},
              {"status", "processed"}};
}

Json Batches::batch_json(const Batch& b) const {
  return Json{{"id", b.id},
              {"object", "batch"},
              {"endpoint", b.endpoint},
              {"errors", b.errors},
              {"input_file_id", b.input_file_id},
              {"completion_window", "24h"},
              {"status", b.status},
              {"output_file_id", id_or_null(b.output_file_id)},
              {"error_file_id", id_or_null(b.error_file_id)},
              {"created_at", b.created_at},
              {"in_progress_at", timestamp(b.in_progress_at)},
              {"expires_at", b.created_at + 24 * 3600},
              {"finalizing_at", timestamp(b.finalizing_at)},
              {"completed_at", timestamp(b.completed_at)},
              {"failed_at", timestamp(b.failed_at)},
              {"expired_at", nullptr},
              {"cancelling_at", timestamp(b.cancelling_at)},
              {"cancelled_at", timestamp(b.cancelled_at)},
              {"request_counts", Json{{"total", b.total}, {"completed", b.completed}, {"failed", b.failed}}},
              {"metadata", nullptr}};
}

Json Batches::inspect_files() const {
  std::lock_guard lock(mutex_);
  Json out = Json::array();
  for (const auto& id : file_order_) {
    const File& f = files_.at(id);
    out.push_back(Json{{"id", f.id},
                       {"filename", f.filename},
                       {"purpose", f.purpose},
                       {"bytes", static_cast<long>(f.content.size())},
                       {"content", f.content}});
  }
  return out;
}

}  // namespace emulator
