// The answers of the emulator: the scripted answer a request gets, the
// chat.completion body it is written as (and the pieces of it a stream
// shares), the common headers and the error bodies of both dialects.
#include "handler.hpp"
#include "schema_values.hpp"
#include "tool_calls.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <regex>

namespace emulator {

using chainpp::Json;
using chainpp::JsonArray;

namespace {

// The words of a text: what the token counts are made of.
long count_words(const std::string& text) {
  long n = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

// The text of a message's content: a string, or its text parts joined by newlines.
std::string text_of(const Json& content) {
  if (content.is_string()) return content.as_string();
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content.as_array()) {
      if (part.is_object() && part.value("type", "") == "text") {
        if (!out.empty()) out += "\n";
        out += part.value("text", "");
      }
    }
  }
  return out;
}

}  // namespace

Json checked_instance(const Json& schema, const std::string& what) {
  Json value = schema_instance(schema);
  const std::string violation = schema_violation(schema, value);
  if (!violation.empty())
    throw std::runtime_error("the value generated for the " + what + " schema does not validate: " + violation);
  return value;
}

std::vector<std::string> split_pieces(const std::string& text) {
  std::vector<std::string> pieces;
  std::string current;
  for (char c : text) {
    if (c == ' ' && !current.empty() && current.back() != ' ') {
      pieces.push_back(std::move(current));
      current.clear();
    }
    current.push_back(c);
  }
  if (!current.empty()) pieces.push_back(std::move(current));
  return pieces;
}

Json filter_results(const std::string& filtered_category, FilterOf of, bool detections) {
  const Json undetected{{"filtered", false}, {"detected", false}};
  Json r = Json::object();
  for (const char* cat : {"hate", "jailbreak", "protected_material_code", "protected_material_text", "self_harm",
                          "sexual", "violence"}) {
    const std::string name = cat;
    if (name == "jailbreak") {
      if (detections && of == FilterOf::prompt) r.set(cat, undetected);
    } else if (name.rfind("protected_material", 0) == 0) {
      if (detections && of == FilterOf::completion) r.set(cat, undetected);
    } else {
      const bool hit = filtered_category == cat;
      r.set(cat, Json{{"filtered", hit}, {"severity", hit ? "medium" : "safe"}});
    }
  }
  return r;
}

Json prompt_filter_results(bool detections) {
  return Json::array(
      {Json{{"prompt_index", 0}, {"content_filter_results", filter_results({}, FilterOf::prompt, detections)}}});
}


long default_reasoning_tokens(const std::string& effort) {
  if (effort == "none" || effort == "minimal") return 0;
  if (effort == "low") return 16;
  if (effort == "high" || effort == "xhigh" || effort == "max") return 256;
  return 64;
}

// Chooses the scripted answer and fills `out`; false when the prompt is filtered.
bool Handler::compose(const Json& req, const Json& messages, Completion& out, Json& prompt_filter) {
  std::string last_user;
  std::string system;
  std::string last_role;
  long prompt_words = 0;
  for (const auto& m : messages.as_array()) {
    if (!m.is_object()) continue;
    const std::string role = m.value("role", "");
    const std::string text = m.contains("content") ? text_of(m.at("content")) : std::string();
    prompt_words += count_words(text) + 4;
    if (role == "user") last_user = text;
    if ((role == "system" || role == "developer") && system.empty()) system = text;
    last_role = role;
  }
  const bool after_tool = last_role == "tool";

  const Answer* chosen = nullptr;
  std::smatch groups;
  for (const auto& a : state_.config.answers) {
    if (after_tool && !a.tool_calls.empty()) continue;
    // An answer made only of calls the request does not let be made is passed over.
    if (!a.tool_calls.empty() && !a.content && !a.json && !may_call(req, a.tool_calls)) continue;
    if (a.deployment && *a.deployment != deployment_->name) continue;
    if (a.system_contains && system.find(*a.system_contains) == std::string::npos) continue;
    if (a.match && *a.match != last_user) continue;
    if (a.regex && !std::regex_search(last_user, groups, *a.regex)) continue;
    chosen = &a;
    break;
  }
  if (!chosen && !state_.config.cycle.empty()) {
    std::lock_guard lock(state_.mutex);
    chosen = &state_.config.cycle[static_cast<std::size_t>(state_.cycle_index++) % state_.config.cycle.size()];
    groups = std::smatch();
  }
  auto expand = [&](const std::string& text) {
    return groups.empty() ? text : groups.format(text);
  };

  if (chosen && chosen->filter_prompt) {
    prompt_filter = filter_results(*chosen->filter_prompt, FilterOf::prompt, !deployment_->legacy());
    return false;
  }

  std::string format_type;
  const Json* schema = nullptr;
  if (const Json* rf = req.find("response_format"); rf && rf->is_object()) {
    format_type = rf->value("type", "");
    if (const Json* js = rf->find("json_schema"); js && js->is_object()) schema = js->find("schema");
  }
  std::vector<ScriptedToolCall> scripted_calls;
  if (chosen)
    for (auto call : chosen->tool_calls) {
      call.arguments = expand(call.arguments);
      scripted_calls.push_back(std::move(call));
    }
  char call_suffix[32];
  std::snprintf(call_suffix, sizeof call_suffix, "EMU%020ld", id_);
  out.tool_calls = choose_tool_calls(req, scripted_calls, call_suffix);

  if (!out.tool_calls.empty()) {
    out.finish_reason = "tool_calls";
  } else if (format_type == "json_object" || format_type == "json_schema") {
    if (chosen && chosen->json) out.content = expand(*chosen->json);
    else if (schema) out.content = checked_instance(*schema, "response_format").dump();
    else out.content = Json{{"answer", chosen && chosen->content ? expand(*chosen->content) : last_user}}.dump();
  } else if (chosen && chosen->content) {
    out.content = expand(*chosen->content);
  } else if (chosen && chosen->json) {
    out.content = expand(*chosen->json);
  } else {
    out.content = "This is the emulator's answer to: " + last_user;
  }
  if (chosen && chosen->finish_reason) out.finish_reason = *chosen->finish_reason;
  if (chosen && chosen->filter_completion) {
    out.finish_reason = "content_filter";
    out.filtered_category = *chosen->filter_completion;
  }

  // A stop sequence ends the content before its first occurrence (finish_reason stop).
  bool cut = false;
  if (out.content && out.tool_calls.empty()) {
    std::vector<std::string> stops;
    if (const Json* stop = req.find("stop"); stop && stop->is_string()) stops.push_back(stop->as_string());
    else if (stop && stop->is_array())
      for (const auto& s : stop->as_array())
        if (s.is_string()) stops.push_back(s.as_string());
    std::size_t at = std::string::npos;
    for (const auto& s : stops)
      if (!s.empty()) at = std::min(at, out.content->find(s));
    if (at != std::string::npos) {
      out.content = out.content->substr(0, at);
      out.finish_reason = "stop";
      cut = true;
    }
  }
  // max_tokens / max_completion_tokens cut the content (one token per piece).
  long limit = -1;
  if (const Json* mt = req.find("max_tokens"); mt && mt->is_integer()) limit = mt->as_int();
  if (const Json* mt = req.find("max_completion_tokens"); mt && mt->is_integer()) limit = mt->as_int();
  if (out.content && limit >= 0) {
    auto pieces = split_pieces(*out.content);
    if (static_cast<long>(pieces.size()) > limit) {
      std::string kept;
      for (long i = 0; i < limit; ++i) kept += pieces[static_cast<std::size_t>(i)];
      out.content = kept;
      out.finish_reason = "length";
      cut = true;
    }
  }

  long completion_words = 0;
  if (out.content) completion_words = count_words(*out.content);
  for (const auto& c : out.tool_calls) completion_words += static_cast<long>(c.arguments.size() / 4) + 5;
  out.prompt_tokens = chosen && chosen->usage.prompt_tokens ? *chosen->usage.prompt_tokens : prompt_words + 3;
  // A cut answer counts the tokens sent (one per piece), not the scripted full completion's.
  out.completion_tokens = chosen && chosen->usage.completion_tokens && !cut
                              ? *chosen->usage.completion_tokens
                              : (cut ? static_cast<long>(split_pieces(*out.content).size()) : completion_words);
  if (chosen) {
    out.cached_tokens = chosen->usage.cached_tokens;
    out.reasoning_tokens = chosen->usage.reasoning_tokens;
  }
  // A reasoning model thinks before it answers: its completion tokens include the reasoning ones.
  if (deployment_->reasoning() && !out.reasoning_tokens) {
    const Json* effort = req.find("reasoning_effort");
    out.reasoning_tokens = default_reasoning_tokens(effort && effort->is_string() ? effort->as_string() : "medium");
    if (!(chosen && chosen->usage.completion_tokens)) out.completion_tokens += *out.reasoning_tokens;
  }
  return true;
}

void Handler::send_prompt_filtered(Poco::Net::HTTPServerResponse& response, const Json& prompt_filter) {
  // The prompt triggered the content filter.
  Json err{{"message",
            "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
            "Please modify your prompt and retry. To learn more about our content filtering policies please "
            "read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"},
           {"type", nullptr},
           {"param", "prompt"},
           {"code", "content_filter"},
           {"status", 400},
           {"innererror", Json{{"code", "ResponsibleAIPolicyViolation"}, {"content_filter_result", prompt_filter}}}};
  send_json(response, 400, Json{{"error", err}});
}

Json Handler::usage_json(const Completion& c) const {
  Json u{{"completion_tokens", c.completion_tokens},
         {"prompt_tokens", c.prompt_tokens},
         {"total_tokens", c.prompt_tokens + c.completion_tokens}};
  // Azure sends the details for current models, not for gpt-35-turbo and gpt-4.
  const bool legacy = deployment_->legacy() || dialect_ == Dialect::openai;
  if (c.reasoning_tokens || !legacy)
    u.set("completion_tokens_details", Json{{"reasoning_tokens", c.reasoning_tokens.value_or(0)}});
  if (c.cached_tokens || !legacy) u.set("prompt_tokens_details", Json{{"cached_tokens", c.cached_tokens.value_or(0)}});
  return u;
}

Json Handler::logprobs_json(const Json& req, const std::vector<std::string>& pieces, std::size_t offset) const {
  if (!req.value("logprobs", false)) return Json();
  const long top = req.value("top_logprobs", std::int64_t{0});
  JsonArray content;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const double lp = -0.0625 * static_cast<double>(offset + i + 1);
    auto bytes = [](const std::string& s) {
      Json b = Json::array();
      for (unsigned char ch : s) b.push_back(Json(static_cast<int>(ch)));
      return b;
    };
    Json tops = Json::array();
    for (long k = 0; k < top; ++k) {
      const std::string token = k == 0 ? pieces[i] : pieces[i] + "_" + std::to_string(k);
      tops.push_back(Json{{"token", token}, {"logprob", lp - static_cast<double>(k)}, {"bytes", bytes(token)}});
    }
    content.push_back(Json{{"token", pieces[i]}, {"logprob", lp}, {"bytes", bytes(pieces[i])}, {"top_logprobs", tops}});
  }
  return Json{{"content", Json(content)}, {"refusal", nullptr}};
}

std::string Handler::model_name() const {
  if (deployment_->model_name) return *deployment_->model_name;
  if (deployment_->version.find('-') != std::string::npos) return deployment_->model + "-" + deployment_->version;
  return deployment_->model;
}

Json Handler::fingerprint() const {
  if (deployment_->system_fingerprint) return Json(*deployment_->system_fingerprint);
  return dialect_ == Dialect::openai ? Json("fp_emulator") : Json();
}

std::string Handler::completion_id() const {
  char buf[48];
  std::snprintf(buf, sizeof buf, "chatcmpl-EMU%020ld", id_);
  return buf;
}

Json Handler::tool_calls_json(const Completion& c) const {
  Json calls = Json::array();
  for (const auto& t : c.tool_calls)
    calls.push_back(Json{{"function", Json{{"arguments", t.arguments}, {"name", t.name}}},
                         {"id", t.id},
                         {"type", "function"}});
  return calls;
}

void Handler::respond_completion(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                                 const Json& req, const Completion& c, const std::vector<Fault>& faults) {
  const long n = std::max<std::int64_t>(1, req.value("n", std::int64_t{1}));
  JsonArray choices;
  const auto pieces = c.content ? split_pieces(*c.content) : std::vector<std::string>{};
  for (long i = 0; i < n; ++i) {
    Json message = Json::object();
    message.set("content", c.content ? Json(*c.content) : Json());
    message.set("refusal", nullptr);
    message.set("role", "assistant");
    if (!c.tool_calls.empty()) message.set("tool_calls", tool_calls_json(c));
    Json choice = Json::object();
    if (dialect_ == Dialect::azure) choice.set("content_filter_results", filter_results(c.filtered_category, FilterOf::completion, !deployment_->legacy()));
    choice.set("finish_reason", c.finish_reason);
    choice.set("index", i);
    choice.set("logprobs", logprobs_json(req, pieces, 0));
    choice.set("message", message);
    choices.push_back(std::move(choice));
  }
  Json out = Json::object();
  out.set("choices", Json(choices));
  out.set("created", static_cast<long>(std::time(nullptr)));
  out.set("id", completion_id());
  out.set("model", model_name());
  out.set("object", "chat.completion");
  if (dialect_ == Dialect::azure) out.set("prompt_filter_results", prompt_filter_results(!deployment_->legacy()));
  out.set("system_fingerprint", fingerprint());
  out.set("usage", usage_json(c));

  send_answer_body(request, response, out.dump(), faults);
}

void Handler::send_answer_body(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                               std::string text, const std::vector<Fault>& faults) {
  const StreamFaults f = stream_faults(faults);
  if (f.malformed) text = text.substr(0, text.size() / 2);
  status_ = 200;
  set_common_headers(response);
  response.setContentType("application/json");
  response.setContentLength64(static_cast<Poco::Int64>(text.size()));
  std::ostream& os = response.send();
  if (f.reset) {
    os.write(text.data(), static_cast<std::streamsize>(text.size() / 2));
    os.flush();
    reset_connection(request);
    return;
  }
  os << text;
}

void Handler::set_common_headers(Poco::Net::HTTPServerResponse& response) {
  if (dialect_ == Dialect::azure) {
    response.set("apim-request-id", request_id_);
    response.set("x-request-id", request_id_);
    response.set("x-ms-region", state_.config.region);
    response.set("x-ratelimit-limit-requests", "100");
    response.set("x-ratelimit-limit-tokens", "100000");
    if (!response.has("x-ratelimit-remaining-requests"))
      response.set("x-ratelimit-remaining-requests", remaining_requests_);
    response.set("x-ratelimit-remaining-tokens", remaining_tokens_);
  } else {
    response.set("x-request-id", "req_" + request_id_);
    response.set("openai-processing-ms", "1");
  }
}

void Handler::send_json(Poco::Net::HTTPServerResponse& response, int status, const Json& body) {
  send_body(response, status, body.dump(), "application/json");
}

void Handler::send_body(Poco::Net::HTTPServerResponse& response, int status, const std::string& text,
                        const std::string& content_type) {
  status_ = status;
  set_common_headers(response);
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType(content_type);
  response.setContentLength64(static_cast<Poco::Int64>(text.size()));
  response.send() << text;
}

// Azure's error shape (OpenAI's when serving the OpenAI layout).
void Handler::send_error(Poco::Net::HTTPServerResponse& response, int status, const std::string& code,
                         const std::string& message) {
  if (dialect_ == Dialect::openai) {
    send_openai_error(response, status, code, status >= 500 ? "server_error" : "invalid_request_error", message);
    return;
  }
  send_json(response, status, Json{{"error", Json{{"code", code}, {"message", message}}}});
}

void Handler::send_openai_error(Poco::Net::HTTPServerResponse& response, int status, const std::string& code,
                                const std::string& type, const std::string& message) {
  send_json(response, status,
            Json{{"error", Json{{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}});
}

}  // namespace emulator
