#include "openai_wire.hpp"

#include "json_scan.hpp"

#include <chainpp/errors.hpp>

#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

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

// JSON text must be UTF-8: refuse to send bytes the service would reject as
// an unreadable body, naming the message and the byte instead.
void check_utf8(std::string_view text, const std::string& what) {
  const std::size_t bad = utf8_error_offset(text);
  if (bad == std::string_view::npos) return;
  static const char* hex = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(text[bad]);
  throw InputError(what + " is not valid UTF-8: invalid byte 0x" + hex[byte >> 4] + hex[byte & 15] + " at offset " +
                   std::to_string(bad));
}

void check_utf8(const Messages& messages) {
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (const auto* s = std::get_if<std::string>(&messages[i].content)) {
      check_utf8(*s, where + ".content");
    } else {
      const auto& parts = std::get<std::vector<ContentPart>>(messages[i].content);
      for (std::size_t k = 0; k < parts.size(); ++k)
        check_utf8(parts[k].text, where + ".content[" + std::to_string(k) + "].text");
    }
    check_utf8(messages[i].name, where + ".name");
  }
}

}  // namespace

std::string build_request_body(const Messages& messages, const CallOptions& o, const RequestShape& shape) {
  check_utf8(messages);
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

// The general path's one reading of a body: Json::parse, its error message in
// a BadResponseError for malformed text.
Json parse_json(std::string_view body, const ResponseShape& shape) {
  try {
    return Json::parse(body);
  } catch (const JsonError& e) {
    bad_response(shape, e.what());
  }
}

// Throws "<what> is <type>, expected <expected>" unless `v` is absent, null or of `type`.
void expect_type(const ResponseShape& shape, const Json* v, Json::Type type, const std::string& what,
                 const char* expected) {
  if (v && !v->is_null() && v->type() != type)
    bad_response(shape, what + " is " + to_string(v->type()) + ", expected " + expected);
}
// The text of `v` when it is a string.
std::optional<std::string_view> string_view_of(const Json* v) {
  if (!v || !v->is_string()) return std::nullopt;
  return std::string_view(v->as_string());
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

// Token counts must be non-negative integers (or null/absent, read as 0): a
// negative, fractional or textual count would corrupt totals and costs.
void check_count(const ResponseShape& shape, const Json* count, const std::string& what) {
  if (!count || count->is_null()) return;
  bool ok = count->is_integer() ? count->as_int() >= 0
                                : count->is_number() && std::floor(count->as_double()) == count->as_double() &&
                                      count->as_double() >= 0 && count->as_double() < 9.2e18;
  if (!ok) bad_response(shape, what + " is " + count->dump() + ", expected a non-negative integer");
}

void check_usage(const ResponseShape& shape, const Json& usage) {
  for (const char* k : {"prompt_tokens", "completion_tokens", "total_tokens"})
    check_count(shape, usage.find(k), std::string("usage.") + k);
  for (const auto& [details, k] : {std::pair<const char*, const char*>{"prompt_tokens_details", "cached_tokens"},
                                   {"completion_tokens_details", "reasoning_tokens"}})
    if (const Json* d = usage.find(details); d && d->is_object())
      check_count(shape, d->find(k), std::string("usage.") + details + "." + k);
}

UsageMetadata usage_from(const Json& usage) {
  UsageMetadata u;
  u.input_tokens = usage.value("prompt_tokens", std::int64_t{0});
  u.output_tokens = usage.value("completion_tokens", std::int64_t{0});
  if (usage.contains("total_tokens")) {
    u.total_tokens = usage.value("total_tokens", std::int64_t{0});
  } else {  // the sum, saturating as UsageMetadata's += does
    UsageMetadata sum{u.input_tokens, 0, u.input_tokens, std::nullopt, std::nullopt};
    sum += UsageMetadata{0, u.output_tokens, u.output_tokens, std::nullopt, std::nullopt};
    u.total_tokens = sum.total_tokens;
  }
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

void tool_call_chunks_from(const ResponseShape& shape, const Json& calls, std::vector<ToolCallChunk>& out) {
  if (!calls.is_array()) return;
  int position = 0;
  for (const auto& c : calls.as_array()) {
    ToolCallChunk chunk;
    if (const Json* i = c.find("index"); i && i->is_number()) {
      if (!i->is_integer() || i->as_int() < 0 || i->as_int() > std::numeric_limits<int>::max())
        bad_response(shape, "choices[0].delta.tool_calls[" + std::to_string(position) + "].index is " + i->dump() +
                                ", expected a non-negative integer");
      chunk.index = static_cast<int>(i->as_int());
    } else {
      chunk.index = position;
    }
    ++position;
    if (const Json* id = c.find("id"); id && id->is_string()) chunk.id = id->as_string();
    if (const Json* fn = c.find("function"); fn && fn->is_object()) {
      if (const Json* n = fn->find("name"); n && n->is_string()) chunk.name = n->as_string();
      if (const Json* a = fn->find("arguments"); a && a->is_string()) chunk.args = a->as_string();
    }
    out.push_back(std::move(chunk));
  }
}

bool scan_string(JsonScan& s, std::optional<std::string_view>& out) {
  std::string_view v;
  if (!s.string(v)) return false;
  out = v;
  return true;
}

// The members of an object, each of `names` at most once (a repeated one:
// false: the general parser takes the first); on_member(i, next byte) reads
// names[i]'s value, other members are skipped.
template <std::size_t N, class OnMember>
bool scan_members(JsonScan& s, const std::array<std::string_view, N>& names, OnMember on_member) {
  if (!s.consume('{')) return false;
  if (s.consume('}')) return true;
  std::array<bool, N> seen{};
  do {
    std::string_view k;
    if (!s.key(k)) return false;
    std::size_t i = 0;
    while (i < N && names[i] != k) ++i;
    if (i == N) {
      if (!s.skip()) return false;
      continue;
    }
    if (seen[i]) return false;
    seen[i] = true;
    if (!on_member(i, s.peek())) return false;
  } while (s.consume(','));
  return s.consume('}');
}

// What a completion's AIMessage is made of, read by the scanner or from the
// parsed Json. The views point into the body, the Json or the scanner's
// storage, which outlive assemble_completion().
struct CompletionParts {
  std::optional<std::string_view> model, content, refusal;
  std::optional<Json> fingerprint, prompt_filter, usage, tool_calls, finish, logprobs, filter;
};

AIMessage assemble_completion(CompletionParts& p, const ResponseShape& shape) {
  AIMessage m;
  if (p.content) m.content = std::string(*p.content);
  if (p.tool_calls) {
    std::size_t index = 0;
    for (const auto& c : p.tool_calls->as_array()) {
      const Json* fn = c.find("function");
      if (!fn || !fn->is_object())
        bad_response(shape, "choices[0].message.tool_calls[" + std::to_string(index) + "] has no function");
      ++index;
      // Arguments are JSON text; a server that sends the JSON itself gets it
      // read as its text (an object becomes the call's arguments).
      const Json* args = fn->find("arguments");
      const std::string args_text = !args || args->is_null() ? std::string()
                                    : args->is_string()      ? args->as_string()
                                                             : args->dump();
      parse_tool_call(fn->value("name", ""), args_text, c.value("id", ""), m.tool_calls, m.invalid_tool_calls);
    }
  }
  if (p.usage) check_usage(shape, *p.usage);
  Json meta = Json::object();
  JsonObject& members = meta.as_object();  // distinct names, appended without lookups
  members.reserve(8);
  members.emplace_back("token_usage", p.usage ? token_usage_from(*p.usage) : Json::object());
  members.emplace_back("model_name", versioned_model_name(p.model ? std::string(*p.model) : std::string(),
                                                          shape.model_version));
  members.emplace_back("system_fingerprint", p.fingerprint ? std::move(*p.fingerprint) : Json());
  if (p.prompt_filter) members.emplace_back("prompt_filter_results", std::move(*p.prompt_filter));
  const bool filtered = p.finish && p.finish->is_string() && p.finish->as_string() == "content_filter";
  members.emplace_back("finish_reason", p.finish ? std::move(*p.finish) : Json());
  members.emplace_back("logprobs", p.logprobs ? std::move(*p.logprobs) : Json());
  if (p.filter) members.emplace_back("content_filter_results", filtered ? *p.filter : std::move(*p.filter));
  if (p.refusal) members.emplace_back("refusal", *p.refusal);
  m.response_metadata = std::move(meta);
  if (p.usage) m.usage_metadata = usage_from(*p.usage);
  if (filtered) filtered_completion(shape, p.filter ? *p.filter : Json(), m.text());
  return m;
}

// Reads a completion of the common shape into `p`; false when the body is
// not of that shape or not valid JSON (parse_completion_full then gives the
// message or the error). Like scan_event for stream events.
bool scan_completion(JsonScan& s, CompletionParts& p) {
  bool has_message = false;
  auto message = [&](std::size_t i, char next) {
    switch (i) {
      case 0: return next == '"' ? scan_string(s, p.content) : next == 'n' && s.skip();           // content
      case 1: return next == '[' ? s.value(p.tool_calls.emplace()) : next == 'n' && s.skip();     // tool_calls
      default: return next == '"' ? scan_string(s, p.refusal) : s.skip();                         // refusal
    }
  };
  auto choice = [&](std::size_t i, char next) {
    switch (i) {
      case 0:  // message
        has_message = next == '{';
        return has_message && scan_members<3>(s, {"content", "tool_calls", "refusal"}, message);
      case 1: return s.value(p.finish.emplace());  // finish_reason
      case 2: return s.value(p.logprobs.emplace());  // logprobs
      default: return s.value(p.filter.emplace());  // content_filter_results
    }
  };
  auto choices = [&] {
    if (!s.consume('[') || s.peek() != '{' ||
        !scan_members<4>(s, {"message", "finish_reason", "logprobs", "content_filter_results"}, choice) ||
        !has_message)
      return false;
    while (s.consume(','))
      if (!s.skip()) return false;
    return s.consume(']');
  };
  bool has_choices = false;
  auto body = [&](std::size_t i, char next) {
    switch (i) {
      case 0: return has_choices = next == '[' && choices();                                     // choices
      case 1: return next == '"' ? scan_string(s, p.model) : s.skip();                           // model
      case 2: return s.value(p.fingerprint.emplace());                                            // system_fingerprint
      case 3: return s.value(p.prompt_filter.emplace());                                          // prompt_filter_results
      default: return next == '{' ? s.value(p.usage.emplace()) : s.skip();                       // usage
    }
  };
  return scan_members<5>(s, {"choices", "model", "system_fingerprint", "prompt_filter_results", "usage"}, body) &&
         has_choices && s.at_end();
}

}  // namespace

AIMessage parse_completion(std::string_view body, const ResponseShape& shape) {
  JsonObject scratch;  // the scanner's working storage
  scratch.reserve(16);
  JsonScan scan(body, scratch);
  CompletionParts parts;
  if (!scan_completion(scan, parts)) return parse_completion_full(body, shape);
  return assemble_completion(parts, shape);
}

AIMessage parse_completion_full(std::string_view body, const ResponseShape& shape) {
  // The parts are moved out of `j` (distinct members: the views into it stay valid).
  Json j = parse_json(body, shape);
  if (!j.is_object()) bad_response(shape, "expected a JSON object");
  Json* choices = j.find("choices");
  expect_type(shape, choices, Json::Type::array, "choices", "an array");
  if (!choices || !choices->is_array() || choices->empty()) bad_response(shape, "the response has no choices");
  Json& choice = choices->as_array()[0];
  Json* message = choice.find("message");
  expect_type(shape, message, Json::Type::object, "choices[0].message", "an object");
  if (!message || !message->is_object()) bad_response(shape, "choices[0] has no message");

  CompletionParts parts;
  const Json* content = message->find("content");
  expect_type(shape, content, Json::Type::string, "choices[0].message.content", "a string or null");
  parts.content = string_view_of(content);
  Json* calls = message->find("tool_calls");
  expect_type(shape, calls, Json::Type::array, "choices[0].message.tool_calls", "an array");
  if (calls && calls->is_array()) parts.tool_calls = std::move(*calls);
  parts.refusal = string_view_of(message->find("refusal"));
  if (Json* usage = j.find("usage"); usage && usage->is_object()) parts.usage = std::move(*usage);
  parts.model = string_view_of(j.find("model"));
  if (Json* v = j.find("system_fingerprint")) parts.fingerprint = std::move(*v);
  if (Json* v = j.find("prompt_filter_results")) parts.prompt_filter = std::move(*v);
  if (Json* v = choice.find("finish_reason")) parts.finish = std::move(*v);
  if (Json* v = choice.find("logprobs")) parts.logprobs = std::move(*v);
  if (Json* v = choice.find("content_filter_results")) parts.filter = std::move(*v);
  return assemble_completion(parts, shape);
}

// What a chunk is made of, read from one event. The views point into the
// event's text, the parsed Json or the scanner's storage, which outlive
// assemble().
struct StreamDecoder::Parts {
  std::optional<std::string_view> model, fingerprint, content, refusal, finish;
  std::optional<Json> prompt_filter, usage, tool_calls, filter, logprobs;
};

namespace {

// Reads a stream event of the common shape into `p`. False when the event is
// not of that shape (an `error` member, a member of an unexpected type, a
// number the scanner does not build) or not valid JSON: decode_full then
// gives the chunk or the error.
bool scan_event(JsonScan& s, StreamDecoder::Parts& p, std::string& filter_text, Json& filter,
                std::string_view& content_token) {
  auto delta = [&](std::size_t i, char next) {
    switch (i) {
      case 0: {  // content: its token's place is noted for the template
        if (next != '"') return next == 'n' && s.skip();
        const char* begin = s.position();
        if (!scan_string(s, p.content)) return false;
        content_token = std::string_view(begin, static_cast<std::size_t>(s.position() - begin));
        return true;
      }
      case 1: return next == '[' ? s.value(p.tool_calls.emplace()) : s.skip();              // tool_calls
      default: return next == '"' ? scan_string(s, p.refusal) : s.skip();                  // refusal
    }
  };
  auto choice = [&](std::size_t i, char next) {
    switch (i) {
      case 0:  // delta
        return next == '{' ? scan_members<3>(s, {"content", "tool_calls", "refusal"}, delta)
                           : next == 'n' && s.skip();
      case 1: {  // content_filter_results: usually the text of the event before
        if (s.match(filter_text)) {
          p.filter = filter;
          return true;
        }
        const char* start = s.position();
        if (!s.value(p.filter.emplace())) return false;
        filter_text.assign(start, s.position());
        filter = *p.filter;
        return true;
      }
      case 2: return next == '{' ? s.value(p.logprobs.emplace()) : s.skip();      // logprobs
      default: return next == '"' ? scan_string(s, p.finish) : s.skip();          // finish_reason
    }
  };
  auto choices = [&] {
    if (!s.consume('[')) return false;
    if (s.consume(']')) return true;
    if (s.peek() == '{' ? !scan_members<4>(s, {"delta", "content_filter_results", "logprobs", "finish_reason"}, choice)
                        : !s.skip())
      return false;
    while (s.consume(','))
      if (!s.skip()) return false;
    return s.consume(']');
  };
  auto event = [&](std::size_t i, char next) {
    switch (i) {
      case 0: return false;                                                               // error
      case 1: return next == '"' ? scan_string(s, p.model) : s.skip();                    // model
      case 2: return next == '"' ? scan_string(s, p.fingerprint) : s.skip();              // system_fingerprint
      case 3: return next == '[' ? s.value(p.prompt_filter.emplace()) : s.skip();         // prompt_filter_results
      case 4: return next == '{' ? s.value(p.usage.emplace()) : s.skip();                 // usage
      default: return next == '[' ? choices() : next == 'n' && s.skip();                  // choices
    }
  };
  return scan_members<6>(s, {"error", "model", "system_fingerprint", "prompt_filter_results", "usage", "choices"},
                         event) &&
         s.at_end();
}

}  // namespace

AIMessageChunk StreamDecoder::decode(std::string_view data) {
  scan_scratch_.clear();
  if (template_ && data.size() > template_->prefix.size() + template_->suffix.size() &&
      data.starts_with(template_->prefix) && data.ends_with(template_->suffix)) {
    // The same text as the template's event around a new content token: if
    // that token is one JSON string, the event reads as the template's with
    // this content.
    const std::string_view token = data.substr(
        template_->prefix.size(), data.size() - template_->prefix.size() - template_->suffix.size());
    JsonScan scan(token, scan_scratch_);
    Parts parts;
    std::string_view content;
    if (scan.string(content) && scan.position() == token.data() + token.size()) {
      template_misses_ = 0;
      ++scanned_;
      parts.content = content;
      parts.model = template_->model;
      parts.fingerprint = template_->fingerprint;
      parts.finish = template_->finish;
      parts.filter = template_->filter;
      return assemble(parts);
    }
  }
  JsonScan scan(data, scan_scratch_);
  Parts parts;
  std::string_view content_token;
  if (!scan_event(scan, parts, filter_text_, filter_, content_token)) return decode_full(data);
  ++scanned_;
  if (parts.usage) check_usage(shape_, *parts.usage);
  remember_template(data, parts, content_token);
  return assemble(parts);
}

void StreamDecoder::remember_template(std::string_view data, const Parts& parts, std::string_view content_token) {
  constexpr int kMaxMisses = 8;  // then the chunks differ elsewhere too (a per-chunk field): stop rebuilding
  if (template_ && ++template_misses_ > kMaxMisses) return;
  // Only events whose other parts the template keeps: the common content chunk.
  if (content_token.empty() || parts.prompt_filter || parts.usage || parts.tool_calls || parts.logprobs ||
      parts.refusal)
    return;
  ContentTemplate& t = template_.emplace();
  t.prefix = data.substr(0, static_cast<std::size_t>(content_token.data() - data.data()));
  t.suffix = data.substr(t.prefix.size() + content_token.size());
  if (parts.model) t.model = std::string(*parts.model);
  if (parts.fingerprint) t.fingerprint = std::string(*parts.fingerprint);
  if (parts.finish) t.finish = std::string(*parts.finish);
  t.filter = parts.filter;
}

AIMessageChunk StreamDecoder::decode_full(std::string_view data) {
  // The parts are moved out of `j` (distinct members: the views into it stay valid).
  Json j = parse_json(data, shape_);
  if (!j.is_object()) bad_response(shape_, "stream event is not a JSON object");
  if (const Json* error = j.find("error"); error && !error->is_null()) {
    const Json& err = *error;
    ProviderErrorInfo info = info_for(shape_);
    info.code = err.is_object() ? err.value("code", "") : "";
    info.provider_message = err.is_object() ? err.value("message", "") : err.is_string() ? err.as_string() : "";
    if (info.provider_message.empty()) info.provider_message = err.dump();
    info.body = j;
    std::string msg = shape_.provider + ": error in stream";
    if (!info.code.empty()) msg += " " + info.code;
    msg += ": " + info.provider_message;
    if (!shape_.request_id.empty()) msg += " (request id " + shape_.request_id + ")";
    throw ServerError(msg, info);
  }

  Parts parts;
  parts.model = string_view_of(j.find("model"));
  parts.fingerprint = string_view_of(j.find("system_fingerprint"));
  if (Json* v = j.find("prompt_filter_results"); v && v->is_array()) parts.prompt_filter = std::move(*v);
  if (Json* v = j.find("usage"); v && v->is_object()) {
    parts.usage = std::move(*v);
    check_usage(shape_, *parts.usage);
  }
  Json* choices = j.find("choices");
  expect_type(shape_, choices, Json::Type::array, "choices", "an array");
  if (choices && choices->is_array() && !choices->empty()) {
    Json& choice = choices->as_array()[0];
    Json* delta = choice.find("delta");
    expect_type(shape_, delta, Json::Type::object, "choices[0].delta", "an object");
    if (delta && delta->is_object()) {
      const Json* content = delta->find("content");
      expect_type(shape_, content, Json::Type::string, "choices[0].delta.content", "a string or null");
      parts.content = string_view_of(content);
      if (Json* calls = delta->find("tool_calls"); calls && calls->is_array()) parts.tool_calls = std::move(*calls);
      parts.refusal = string_view_of(delta->find("refusal"));
    }
    if (Json* v = choice.find("content_filter_results")) parts.filter = std::move(*v);
    if (Json* v = choice.find("logprobs"); v && v->is_object()) parts.logprobs = std::move(*v);
    parts.finish = string_view_of(choice.find("finish_reason"));
  }
  return assemble(parts);
}

AIMessageChunk StreamDecoder::assemble(Parts& p) {
  AIMessageChunk chunk;
  // The members below have distinct names: each is appended, without a lookup.
  JsonObject& meta = chunk.response_metadata.as_object();
  meta.reserve(4);
  auto put = [&meta](const char* key, Json value) { meta.emplace_back(key, std::move(value)); };
  if (p.model && !p.model->empty()) {
    if (*p.model != model_) {
      model_ = *p.model;
      versioned_model_ = versioned_model_name(model_, shape_.model_version);
    }
    put("model_name", versioned_model_);
  }
  if (p.fingerprint) put("system_fingerprint", *p.fingerprint);
  if (p.prompt_filter) put("prompt_filter_results", std::move(*p.prompt_filter));
  if (p.usage) {
    chunk.usage_metadata = usage_from(*p.usage);
    put("token_usage", token_usage_from(*p.usage));
  }
  if (p.content) chunk.content.assign(*p.content);
  if (p.tool_calls) tool_call_chunks_from(shape_, *p.tool_calls, chunk.tool_call_chunks);
  if (p.refusal) put("refusal", *p.refusal);
  const bool filtered = p.finish && *p.finish == "content_filter";
  if (p.filter && p.filter->is_object() && !p.filter->as_object().empty())
    put("content_filter_results", filtered ? *p.filter : std::move(*p.filter));
  if (p.logprobs) put("logprobs", std::move(*p.logprobs));
  content_so_far_ += chunk.content;
  if (p.finish) {
    put("finish_reason", *p.finish);
    if (filtered) filtered_completion(shape_, p.filter ? *p.filter : Json(), content_so_far_);
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
