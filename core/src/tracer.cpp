#include <chainpp/errors.hpp>
#include <chainpp/tracer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace chainpp {

namespace {

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

bool ends_with(const std::string& s, const char* suffix) {
  std::string_view suf(suffix);
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

bool secret_key(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  if (key == "token" || ends_with(key, "_token") || ends_with(key, "-token")) return true;
  for (const char* w : {"api_key", "api-key", "apikey", "authorization", "password", "secret"})
    if (key.find(w) != std::string::npos) return true;
  return false;
}

}  // namespace

Json redact_secrets(const Json& value) {
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.as_object()) out.set(k, secret_key(k) && !v.is_null() ? Json("***") : redact_secrets(v));
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& v : value.as_array()) out.push_back(redact_secrets(v));
    return out;
  }
  if (value.is_string() && value.as_string().rfind("Bearer ", 0) == 0) return Json("Bearer ***");
  return value;
}

TraceHandler::TraceHandler(const std::string& path) : out_(path, std::ios::app) {
  if (!out_) throw ConfigError("trace file '" + path + "' cannot be opened for writing");
}

TraceHandler::~TraceHandler() = default;

void TraceHandler::open(const RunInfo& run, Json inputs) {
  std::lock_guard lock(mutex_);
  open_[run.id] = Open{run, now_iso8601(), redact_secrets(inputs)};
}

void TraceHandler::close(const RunInfo& run, Json outputs, Json error, Json usage) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(run.id);
  Json line{{"id", run.id},
            {"parent_id", run.parent_id.empty() ? Json() : Json(run.parent_id)},
            {"name", run.name},
            {"run_type", run.type},
            {"start_time", it == open_.end() ? Json() : Json(it->second.start_time)},
            {"end_time", now_iso8601()},
            {"inputs", it == open_.end() ? Json() : it->second.inputs},
            {"outputs", redact_secrets(outputs)},
            {"error", std::move(error)},
            {"token_usage", std::move(usage)}};
  if (it != open_.end()) open_.erase(it);
  out_ << line.dump() << '\n';
  out_.flush();
}

void TraceHandler::on_chain_start(const RunInfo& run, const Value& inputs) { open(run, inputs.to_json()); }
void TraceHandler::on_chain_end(const RunInfo& run, const Value& outputs) {
  close(run, outputs.to_json(), Json(), Json());
}
void TraceHandler::on_chain_error(const RunInfo& run, const std::exception& error) {
  close(run, Json(), Json(error.what()), Json());
}
void TraceHandler::on_chat_model_start(const RunInfo& run, const Messages& messages, const Json& params) {
  Json msgs = Json::array();
  for (const auto& m : messages) msgs.push_back(m.to_json());
  open(run, Json{{"messages", std::move(msgs)}, {"invocation_params", params}});
}
void TraceHandler::on_llm_end(const RunInfo& run, const AIMessage& result) {
  close(run, result.to_json(), Json(), result.usage_metadata ? result.usage_metadata->to_json() : Json());
}
void TraceHandler::on_llm_error(const RunInfo& run, const std::exception& error) {
  close(run, Json(), Json(error.what()), Json());
}

}  // namespace chainpp
