#include "openai_wire.hpp"

#include <chainpp/errors.hpp>

#include <cctype>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace chainpp::openai_wire {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(Writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void str(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
void raw(Writer& w, const Json& j) {
  std::string text = j.dump();
  w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
}

const char* wire_role(const Message& m) {
  switch (m.role) {
    case Role::system: return "system";
    case Role::human: return "user";
    case Role::ai: return "assistant";
    case Role::tool: return "tool";
    case Role::generic: return m.generic_role.c_str();
  }
  return "user";
}

void write_content(Writer& w, const Content& content) {
  if (const auto* s = std::get_if<std::string>(&content)) {
    str(w, *s);
    return;
  }
  w.StartArray();
  for (const auto& p : std::get<std::vector<ContentPart>>(content)) {
    w.StartObject();
    if (p.kind == ContentPart::Kind::text) {
      key(w, "type");
      str(w, "text");
      key(w, "text");
      str(w, p.text);
    } else {
      key(w, "type");
      str(w, "image_url");
      key(w, "image_url");
      w.StartObject();
      key(w, "url");
      str(w, p.url);
      if (!p.detail.empty()) {
        key(w, "detail");
        str(w, p.detail);
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
}

void write_message(Writer& w, const Message& m) {
  w.StartObject();
  key(w, "role");
  str(w, wire_role(m));
  key(w, "content");
  const bool ai_with_calls = m.role == Role::ai && !m.tool_calls.empty();
  if (ai_with_calls && m.text().empty() && std::holds_alternative<std::string>(m.content))
    w.Null();
  else
    write_content(w, m.content);
  if (!m.name.empty()) {
    key(w, "name");
    str(w, m.name);
  }
  if (m.role == Role::tool) {
    key(w, "tool_call_id");
    str(w, m.tool_call_id);
  }
  if (ai_with_calls) {
    key(w, "tool_calls");
    w.StartArray();
    for (const auto& c : m.tool_calls) {
      w.StartObject();
      key(w, "id");
      str(w, c.id);
      key(w, "type");
      str(w, "function");
      key(w, "function");
      w.StartObject();
      key(w, "name");
      str(w, c.name);
      key(w, "arguments");
      str(w, c.args.dump());
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

// "auto", "none", "required" stay strings; any other string names a tool.
Json tool_choice_json(const Json& choice) {
  if (choice.is_string()) {
    const std::string& s = choice.as_string();
    if (s == "auto" || s == "none" || s == "required") return choice;
    return Json{{"type", "function"}, {"function", Json{{"name", s}}}};
  }
  return choice;
}

}  // namespace

std::string build_request_body(const Messages& messages, const CallOptions& o, const RequestShape& shape) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  if (!shape.model.empty()) {
    key(w, "model");
    str(w, shape.model);
  }
  key(w, "messages");
  w.StartArray();
  for (const auto& m : messages) write_message(w, m);
  w.EndArray();
  auto num = [&](const char* k, const std::optional<double>& v) {
    if (v) {
      key(w, k);
      w.Double(*v);
    }
  };
  auto integer = [&](const char* k, const std::optional<std::int64_t>& v) {
    if (v) {
      key(w, k);
      w.Int64(*v);
    }
  };
  auto text = [&](const char* k, const std::optional<std::string>& v) {
    if (v) {
      key(w, k);
      str(w, *v);
    }
  };
  auto boolean = [&](const char* k, const std::optional<bool>& v) {
    if (v) {
      key(w, k);
      w.Bool(*v);
    }
  };
  num("temperature", o.temperature);
  num("top_p", o.top_p);
  integer("n", o.n);
  if (o.stop) {
    key(w, "stop");
    w.StartArray();
    for (const auto& s : *o.stop) str(w, s);
    w.EndArray();
  }
  integer("max_tokens", o.max_tokens);
  integer("max_completion_tokens", o.max_completion_tokens);
  text("reasoning_effort", o.reasoning_effort);
  num("presence_penalty", o.presence_penalty);
  num("frequency_penalty", o.frequency_penalty);
  if (o.logit_bias) {
    key(w, "logit_bias");
    raw(w, *o.logit_bias);
  }
  text("user", o.user);
  integer("seed", o.seed);
  boolean("logprobs", o.logprobs);
  integer("top_logprobs", o.top_logprobs);
  if (o.response_format) {
    key(w, "response_format");
    raw(w, *o.response_format);
  }
  if (!o.tools.empty()) {
    key(w, "tools");
    w.StartArray();
    for (const auto& t : o.tools) raw(w, t.to_json());
    w.EndArray();
  }
  if (o.tool_choice) {
    key(w, "tool_choice");
    raw(w, tool_choice_json(*o.tool_choice));
  }
  if (!o.tools.empty()) boolean("parallel_tool_calls", o.parallel_tool_calls);
  if (shape.stream) {
    key(w, "stream");
    w.Bool(true);
    if (shape.include_usage) {
      key(w, "stream_options");
      w.StartObject();
      key(w, "include_usage");
      w.Bool(true);
      w.EndObject();
    }
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string versioned_model_name(const std::string& model, const std::string& version) {
  if (version.empty() || model.empty()) return model;
  const std::string suffix = "-" + version;
  if (model.size() >= suffix.size() && model.compare(model.size() - suffix.size(), suffix.size(), suffix) == 0)
    return model;
  return model + suffix;
}

namespace {

ProviderErrorInfo info_for(const ResponseShape& shape) {
  ProviderErrorInfo info;
  info.provider = shape.provider;
  info.status = 200;
  info.request_id = shape.request_id;
  return info;
}

[[noreturn]] void bad_response(const ResponseShape& shape, const std::string& what) {
  std::string msg = shape.provider + ": malformed response: " + what;
  if (!shape.request_id.empty()) msg += " (request id " + shape.request_id + ")";
  throw BadResponseError(msg, info_for(shape));
}

Json parse_json(std::string_view body, const ResponseShape& shape) {
  try {
    return Json::parse(body);
  } catch (const JsonError& e) {
    bad_response(shape, e.what());
  }
}

// "violence (severity medium), jailbreak (detected)" for the filtered categories.
std::string filtered_categories(const Json& results) {
  std::string out;
  if (!results.is_object()) return out;
  for (const auto& [name, r] : results.as_object()) {
    if (!r.is_object() || !r.value("filtered", false)) continue;
    if (!out.empty()) out += ", ";
    out += name;
    if (const Json* sev = r.find("severity"); sev && sev->is_string())
      out += " (severity " + sev->as_string() + ")";
    else if (r.value("detected", false))
      out += " (detected)";
  }
  return out;
}

[[noreturn]] void filtered_completion(const ResponseShape& shape, const Json& results, std::string partial) {
  std::string cats = filtered_categories(results);
  std::string msg = shape.provider +
                    ": the completion was stopped by the content filter (finish_reason content_filter)";
  if (!cats.empty()) msg += "; filtered: " + cats;
  if (!shape.request_id.empty()) msg += " (request id " + shape.request_id + ")";
  ProviderErrorInfo info = info_for(shape);
  info.code = "content_filter";
  throw ContentFilterError(msg, info, results, std::move(partial));
}

UsageMetadata usage_from(const Json& usage) {
  UsageMetadata u;
  u.input_tokens = usage.value("prompt_tokens", std::int64_t{0});
  u.output_tokens = usage.value("completion_tokens", std::int64_t{0});
  u.total_tokens = usage.value("total_tokens", u.input_tokens + u.output_tokens);
  if (const Json* d = usage.find("prompt_tokens_details"); d && d->is_object() && d->contains("cached_tokens"))
    u.cache_read = d->value("cached_tokens", std::int64_t{0});
  if (const Json* d = usage.find("completion_tokens_details"); d && d->is_object() && d->contains("reasoning_tokens"))
    u.reasoning = d->value("reasoning_tokens", std::int64_t{0});
  return u;
}

// LangChain's token_usage: the three counts, then the detail objects when present.
Json token_usage_from(const Json& usage) {
  Json t{{"completion_tokens", usage.value("completion_tokens", std::int64_t{0})},
         {"prompt_tokens", usage.value("prompt_tokens", std::int64_t{0})},
         {"total_tokens", usage.value("total_tokens", std::int64_t{0})}};
  for (const char* k : {"completion_tokens_details", "prompt_tokens_details"})
    if (const Json* d = usage.find(k); d && !d->is_null()) t.set(k, *d);
  return t;
}

void tool_call_chunks_from(const Json& calls, std::vector<ToolCallChunk>& out) {
  if (!calls.is_array()) return;
  int position = 0;
  for (const auto& c : calls.as_array()) {
    ToolCallChunk chunk;
    if (const Json* i = c.find("index"); i && i->is_number()) chunk.index = static_cast<int>(i->as_int());
    else chunk.index = position;
    ++position;
    if (const Json* id = c.find("id"); id && id->is_string()) chunk.id = id->as_string();
    if (const Json* fn = c.find("function"); fn && fn->is_object()) {
      if (const Json* n = fn->find("name"); n && n->is_string()) chunk.name = n->as_string();
      if (const Json* a = fn->find("arguments"); a && a->is_string()) chunk.args = a->as_string();
    }
    out.push_back(std::move(chunk));
  }
}

std::string model_of(const Json& body, const ResponseShape& shape) {
  return versioned_model_name(body.value("model", ""), shape.model_version);
}

}  // namespace

AIMessage parse_completion(std::string_view body, const ResponseShape& shape) {
  Json j = parse_json(body, shape);
  if (!j.is_object()) bad_response(shape, "expected a JSON object");
  const Json* choices = j.find("choices");
  if (!choices || !choices->is_array() || choices->empty())
    bad_response(shape, "the response has no choices");
  const Json& choice = choices->at(std::size_t{0});
  const Json* message = choice.find("message");
  if (!message || !message->is_object()) bad_response(shape, "choices[0] has no message");

  AIMessage m;
  if (const Json* c = message->find("content"); c && c->is_string()) m.content = c->as_string();
  if (const Json* calls = message->find("tool_calls"); calls && calls->is_array()) {
    for (const auto& c : calls->as_array()) {
      const Json* fn = c.find("function");
      if (!fn || !fn->is_object()) continue;
      parse_tool_call(fn->value("name", ""), fn->value("arguments", ""), c.value("id", ""), m.tool_calls,
                      m.invalid_tool_calls);
    }
  }

  const Json* usage = j.find("usage");
  const bool has_usage = usage && usage->is_object();
  Json meta = Json::object();
  meta.set("token_usage", has_usage ? token_usage_from(*usage) : Json::object());
  meta.set("model_name", model_of(j, shape));
  meta.set("system_fingerprint", j.contains("system_fingerprint") ? j.at("system_fingerprint") : Json());
  if (const Json* p = j.find("prompt_filter_results")) meta.set("prompt_filter_results", *p);
  const Json* finish = choice.find("finish_reason");
  meta.set("finish_reason", finish ? *finish : Json());
  meta.set("logprobs", choice.contains("logprobs") ? choice.at("logprobs") : Json());
  if (const Json* f = choice.find("content_filter_results")) meta.set("content_filter_results", *f);
  if (const Json* r = message->find("refusal"); r && r->is_string()) meta.set("refusal", *r);
  m.response_metadata = std::move(meta);
  if (has_usage) m.usage_metadata = usage_from(*usage);

  if (finish && finish->is_string() && finish->as_string() == "content_filter")
    filtered_completion(shape, choice.contains("content_filter_results") ? choice.at("content_filter_results") : Json(),
                        m.text());
  return m;
}

AIMessageChunk StreamDecoder::decode(std::string_view data) {
  Json j = parse_json(data, shape_);
  if (!j.is_object()) bad_response(shape_, "stream event is not a JSON object");
  if (const Json* err = j.find("error"); err && !err->is_null()) {
    ProviderErrorInfo info = info_for(shape_);
    info.code = err->is_object() ? err->value("code", "") : "";
    info.provider_message = err->is_object() ? err->value("message", "") : err->dump();
    info.body = j;
    std::string msg = shape_.provider + ": error in stream";
    if (!info.code.empty()) msg += " " + info.code;
    msg += ": " + info.provider_message;
    if (!shape_.request_id.empty()) msg += " (request id " + shape_.request_id + ")";
    throw ServerError(msg, info);
  }

  AIMessageChunk chunk;
  Json& meta = chunk.response_metadata;
  if (const Json* model = j.find("model"); model && model->is_string() && !model->as_string().empty())
    meta.set("model_name", model_of(j, shape_));
  if (const Json* fp = j.find("system_fingerprint"); fp && fp->is_string()) meta.set("system_fingerprint", *fp);
  if (const Json* p = j.find("prompt_filter_results"); p && p->is_array()) meta.set("prompt_filter_results", *p);
  if (const Json* usage = j.find("usage"); usage && usage->is_object()) {
    chunk.usage_metadata = usage_from(*usage);
    meta.set("token_usage", token_usage_from(*usage));
  }
  const Json* choices = j.find("choices");
  if (!choices || !choices->is_array() || choices->empty()) return chunk;
  const Json& choice = choices->at(std::size_t{0});
  if (const Json* delta = choice.find("delta"); delta && delta->is_object()) {
    if (const Json* c = delta->find("content"); c && c->is_string()) chunk.content = c->as_string();
    if (const Json* calls = delta->find("tool_calls")) tool_call_chunks_from(*calls, chunk.tool_call_chunks);
    if (const Json* r = delta->find("refusal"); r && r->is_string()) meta.set("refusal", *r);
  }
  if (const Json* f = choice.find("content_filter_results"); f && f->is_object() && !f->empty())
    meta.set("content_filter_results", *f);
  if (const Json* lp = choice.find("logprobs"); lp && lp->is_object()) meta.set("logprobs", *lp);
  content_so_far_ += chunk.content;
  if (const Json* finish = choice.find("finish_reason"); finish && finish->is_string()) {
    meta.set("finish_reason", *finish);
    if (finish->as_string() == "content_filter")
      filtered_completion(shape_, choice.contains("content_filter_results") ? choice.at("content_filter_results") : Json(),
                          content_so_far_);
  }
  return chunk;
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace chainpp::openai_wire
