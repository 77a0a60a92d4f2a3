// parse_completion: a chat-completions response read by the scanner, or by
// the general path (Json::parse) for any other body.
#include "openai_wire.hpp"

#include "json_scan.hpp"
#include "response_common.hpp"

#include <optional>
#include <utility>

namespace chainpp::openai_wire {

namespace {

// What a completion's AIMessage is made of, read by the scanner or from the
// parsed Json. The views point into the body, the Json or the scanner's
// storage, which outlive assemble_completion().
struct CompletionParts {
  std::optional<std::string_view> model, content, refusal, name;
  std::optional<Json> fingerprint, prompt_filter, usage, tool_calls, finish, logprobs, filter;
};

AIMessage assemble_completion(CompletionParts& p, const ResponseShape& shape) {
  AIMessage m;
  if (p.content) m.content = std::string(*p.content);
  if (p.name) m.name = std::string(*p.name);
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
  members.emplace_back("model_name", versioned_model_name(p.model && !p.model->empty() ? std::string(*p.model)
                                                                                     : shape.model_name,
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
// message or the error). Like scan_event (stream_decoder.cpp) for stream events.
bool scan_completion(JsonScan& s, CompletionParts& p) {
  bool has_message = false;
  auto message = [&](std::size_t i, char next) {
    switch (i) {
      case 0: return next == '"' ? scan_string(s, p.content) : next == 'n' && s.skip();           // content
      case 1: return next == '[' ? s.value(p.tool_calls.emplace()) : next == 'n' && s.skip();     // tool_calls
      case 2: return next == '"' ? scan_string(s, p.refusal) : s.skip();                          // refusal
      default: return next == '"' ? scan_string(s, p.name) : s.skip();                            // name
    }
  };
  auto choice = [&](std::size_t i, char next) {
    switch (i) {
      case 0:  // message
        has_message = next == '{';
        return has_message && scan_members<4>(s, {"content", "tool_calls", "refusal", "name"}, message);
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
  if (body.empty()) bad_response(shape, "the body is empty (HTTP " + std::to_string(shape.status) + ")");
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
  parts.name = string_view_of(message->find("name"));
  if (Json* usage = j.find("usage"); usage && usage->is_object()) parts.usage = std::move(*usage);
  parts.model = string_view_of(j.find("model"));
  if (Json* v = j.find("system_fingerprint")) parts.fingerprint = std::move(*v);
  if (Json* v = j.find("prompt_filter_results")) parts.prompt_filter = std::move(*v);
  if (Json* v = choice.find("finish_reason")) parts.finish = std::move(*v);
  if (Json* v = choice.find("logprobs")) parts.logprobs = std::move(*v);
  if (Json* v = choice.find("content_filter_results")) parts.filter = std::move(*v);
  return assemble_completion(parts, shape);
}

}  // namespace chainpp::openai_wire
