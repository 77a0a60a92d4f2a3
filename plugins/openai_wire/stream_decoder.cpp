// StreamDecoder: stream events read from the template of the event before,
// by the scanner, or by the general path (Json::parse) for any other event.
// Events of the common shape (what Azure and OpenAI send for text and
// tool-call deltas) are read by the scanner, which builds only what the
// chunk keeps.
#include "openai_wire.hpp"

#include "json_scan.hpp"
#include "response_common.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>

#include <limits>
#include <optional>
#include <utility>

namespace chainpp::openai_wire {

// What a chunk is made of, read from one event. The views point into the
// event's text, the parsed Json or the scanner's storage, which outlive
// assemble().
struct EventParts {
  std::optional<std::string_view> model, fingerprint, content, refusal, finish, name;
  std::optional<Json> prompt_filter, usage, tool_calls, filter, logprobs;
};

// The decoder's state and its paths.
class StreamDecoder::Impl {
public:
  using Parts = EventParts;
  Impl(ResponseShape shape, std::int64_t max_stream_bytes)
      : shape_(std::move(shape)), max_stream_bytes_(max_stream_bytes) {}

  AIMessageChunk decode(std::string_view data);
  AIMessageChunk decode_full(std::string_view data);
  std::size_t scanned_ = 0;

private:
  AIMessageChunk assemble(Parts& parts);
  void count_streamed(const AIMessageChunk& chunk, bool whole_event);
  void remember_template(std::string_view data, const Parts& parts, std::string_view content_token);

  ResponseShape shape_;
  std::int64_t max_stream_bytes_;
  std::int64_t streamed_ = 0;    // what the chunks so far carried, counted against max_stream_bytes_
  std::size_t event_bytes_ = 0;  // the size of the event being decoded
  JsonObject scan_scratch_;      // the scanner's working storage, kept between events
  std::string filter_text_;      // the last content_filter_results the scanner built, as text
  Json filter_;                  // and as built (events often repeat it)
  // The last event the scanner read that carried a content string, cut
  // around that string, and what the rest of it gave. Consecutive chunks of
  // a stream usually differ in their content only: an event whose text
  // around its content string is the same is read from this template.
  struct ContentTemplate {
    std::string prefix, suffix;
    std::optional<std::string> model, fingerprint, finish;
    std::optional<Json> filter;
  };
  std::optional<ContentTemplate> template_;
  int template_misses_ = 0;  // events in a row that the template did not fit
  std::string content_so_far_;
  std::string model_;  // the last chunk's model and its reported name
  std::string versioned_model_;
};

namespace {

// Appends the tool-call deltas of `calls` to `out` (a call without an index
// takes its position in the array).
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

// Reads a stream event of the common shape into `p`. False when the event is
// not of that shape (an `error` member, a member of an unexpected type, a
// number the scanner does not build) or not valid JSON: decode_full then
// gives the chunk or the error.
bool scan_event(JsonScan& s, EventParts& p, std::string& filter_text, Json& filter,
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
      case 2: return next == '"' ? scan_string(s, p.refusal) : s.skip();                   // refusal
      default: return next == '"' ? scan_string(s, p.name) : s.skip();                     // name
    }
  };
  auto choice = [&](std::size_t i, char next) {
    switch (i) {
      case 0:  // delta
        return next == '{' ? scan_members<4>(s, {"content", "tool_calls", "refusal", "name"}, delta)
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

AIMessageChunk StreamDecoder::Impl::decode(std::string_view data) {
  event_bytes_ = data.size();
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

void StreamDecoder::Impl::remember_template(std::string_view data, const Parts& parts, std::string_view content_token) {
  constexpr int kMaxMisses = 8;  // then the chunks differ elsewhere too (a per-chunk field): stop rebuilding
  if (template_ && ++template_misses_ > kMaxMisses) return;
  // Only events whose other parts the template keeps: the common content chunk.
  if (content_token.empty() || parts.prompt_filter || parts.usage || parts.tool_calls || parts.logprobs ||
      parts.refusal || parts.name)
    return;
  ContentTemplate& t = template_.emplace();
  t.prefix = data.substr(0, static_cast<std::size_t>(content_token.data() - data.data()));
  t.suffix = data.substr(t.prefix.size() + content_token.size());
  if (parts.model) t.model = std::string(*parts.model);
  if (parts.fingerprint) t.fingerprint = std::string(*parts.fingerprint);
  if (parts.finish) t.finish = std::string(*parts.finish);
  t.filter = parts.filter;
}

AIMessageChunk StreamDecoder::Impl::decode_full(std::string_view data) {
  event_bytes_ = data.size();
  // The parts are moved out of `j` (distinct members: the views into it stay valid).
  Json j = parse_json(data, shape_);
  if (!j.is_object()) bad_response(shape_, "stream event is not a JSON object");
  if (const Json* error = j.find("error"); error && !error->is_null())
    std::rethrow_exception(make_stream_error(shape_.provider, j, shape_.request_id));

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
      parts.name = string_view_of(delta->find("name"));
    }
    if (Json* v = choice.find("content_filter_results")) parts.filter = std::move(*v);
    if (Json* v = choice.find("logprobs"); v && v->is_object()) parts.logprobs = std::move(*v);
    parts.finish = string_view_of(choice.find("finish_reason"));
  }
  return assemble(parts);
}

void StreamDecoder::Impl::count_streamed(const AIMessageChunk& chunk, bool whole_event) {
  // What merging the chunks keeps: text, tool calls, and (counted as the
  // event's size) the logprobs and filter results merged array by array.
  std::size_t bytes = whole_event ? event_bytes_ : chunk.content.size();
  if (!whole_event) {
    if (const Json* refusal = chunk.response_metadata.find("refusal"); refusal && refusal->is_string())
      bytes += refusal->as_string().size();
    for (const auto& c : chunk.tool_call_chunks)
      bytes += (c.name ? c.name->size() : 0) + (c.id ? c.id->size() : 0) + (c.args ? c.args->size() : 0);
  }
  streamed_ += static_cast<std::int64_t>(bytes);
  if (streamed_ <= max_stream_bytes_) return;
  ProviderErrorInfo info;
  info.provider = shape_.provider;
  info.status = 200;
  info.request_id = shape_.request_id;
  throw ResponseTooLargeError("streamed content (text and tool arguments)", "max_stream_bytes", max_stream_bytes_,
                              std::move(info));
}

AIMessageChunk StreamDecoder::Impl::assemble(Parts& p) {
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
  if (p.name) chunk.name.assign(*p.name);
  if (p.tool_calls) tool_call_chunks_from(shape_, *p.tool_calls, chunk.tool_call_chunks);
  if (p.refusal) put("refusal", *p.refusal);
  const bool filtered = p.finish && *p.finish == "content_filter";
  if (p.filter && p.filter->is_object() && !p.filter->as_object().empty())
    put("content_filter_results", filtered ? *p.filter : std::move(*p.filter));
  if (p.logprobs) put("logprobs", std::move(*p.logprobs));
  count_streamed(chunk, p.logprobs || p.prompt_filter);
  content_so_far_ += chunk.content;
  if (p.finish) {
    put("finish_reason", *p.finish);
    if (filtered) filtered_completion(shape_, p.filter ? *p.filter : Json(), content_so_far_);
  }
  return chunk;
}

StreamDecoder::StreamDecoder(ResponseShape shape, std::int64_t max_stream_bytes)
    : impl_(std::make_unique<Impl>(std::move(shape), max_stream_bytes)) {}
StreamDecoder::~StreamDecoder() = default;
StreamDecoder::StreamDecoder(StreamDecoder&&) noexcept = default;
StreamDecoder& StreamDecoder::operator=(StreamDecoder&&) noexcept = default;
AIMessageChunk StreamDecoder::decode(std::string_view data) { return impl_->decode(data); }
AIMessageChunk StreamDecoder::decode_full(std::string_view data) { return impl_->decode_full(data); }
std::size_t StreamDecoder::scanned_events() const { return impl_->scanned_; }

}  // namespace chainpp::openai_wire
