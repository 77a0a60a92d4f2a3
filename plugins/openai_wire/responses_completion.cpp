// parse_response: a Response read into an AIMessage, through core's Json,
// piece by piece with the functions the stream decoder shares.
#include "responses_read.hpp"

#include <chainpp/errors.hpp>

#include <utility>

namespace chainpp::openai_wire {

namespace responses {

std::string string_member(const ResponseShape& shape, const Json& object, const char* key, const std::string& where) {
  const Json* v = object.find(key);
  expect_type(shape, v, Json::Type::string, where + "." + key, "a string");
  return v && v->is_string() ? v->as_string() : std::string();
}

namespace {

// The content parts of a message item ([] when it has none).
const JsonArray& parts_of(const ResponseShape& shape, const Json& item, const std::string& where) {
  static const JsonArray kNone;
  const Json* content = item.find("content");
  expect_type(shape, content, Json::Type::array, where + ".content", "an array");
  return content && content->is_array() ? content->as_array() : kNone;
}

std::string part_where(const std::string& where, std::size_t i) { return where + ".content[" + std::to_string(i) + "]"; }

}  // namespace

void append_item_text(const ResponseShape& shape, const Json& item, const std::string& where, std::string& text) {
  if (item.value("type", "") != "message") return;
  const JsonArray& parts = parts_of(shape, item, where);
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (parts[i].is_object() && parts[i].value("type", "") == "output_text")
      text += string_member(shape, parts[i], "text", part_where(where, i));
}

Json item_metadata(const ResponseShape& shape, const Json& item, const std::string& where) {
  Json meta = Json::object();
  const std::string type = string_member(shape, item, "type", where);
  if (type == "message") {
    Json annotations = Json::array();
    std::string refusal;
    bool refused = false;
    const JsonArray& parts = parts_of(shape, item, where);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].is_object()) continue;
      const std::string part_type = parts[i].value("type", "");
      if (part_type == "refusal") {
        refusal += string_member(shape, parts[i], "refusal", part_where(where, i));
        refused = true;
      } else if (part_type == "output_text") {
        const Json* a = parts[i].find("annotations");
        expect_type(shape, a, Json::Type::array, part_where(where, i) + ".annotations", "an array");
        if (a && a->is_array())
          for (const Json& annotation : a->as_array()) annotations.push_back(annotation);
      }
    }
    if (!annotations.empty()) meta.set("annotations", std::move(annotations));
    if (refused) meta.set("refusal", refusal);
  } else if (type == "reasoning") {
    Json texts = Json::array();
    const Json* summary = item.find("summary");
    expect_type(shape, summary, Json::Type::array, where + ".summary", "an array");
    if (summary && summary->is_array()) {
      std::size_t i = 0;
      for (const Json& part : summary->as_array()) {
        if (part.is_object()) texts.push_back(string_member(shape, part, "text", where + ".summary[" + std::to_string(i) + "]"));
        ++i;
      }
    }
    if (!texts.empty()) meta.set("reasoning_summary", std::move(texts));
  } else if (type != "function_call") {
    meta.set("tool_outputs", Json::array({item}));
  }
  return meta;
}

Json final_metadata(const ResponseShape& shape, const Json& response) {
  Json meta = Json::object();
  meta.set("id", string_member(shape, response, "id", "response"));
  const std::string model = string_member(shape, response, "model", "response");
  meta.set("model_name", versioned_model_name(model.empty() ? shape.model_name : model, shape.model_version));
  const std::string status = string_member(shape, response, "status", "response");
  meta.set("status", status);
  // finish_reason as chat completions would say it.
  std::string finish = "stop";
  const Json* incomplete = response.find("incomplete_details");
  expect_type(shape, incomplete, Json::Type::object, "response.incomplete_details", "an object");
  if (incomplete && incomplete->is_object()) {
    const std::string reason = string_member(shape, *incomplete, "reason", "response.incomplete_details");
    finish = reason == "max_output_tokens" || reason == "max_tokens" ? "length" : reason;  // (the latter in an official example)
  } else if (const Json* output = response.find("output"); output && output->is_array()) {
    for (const Json& item : output->as_array())
      if (item.is_object() && item.value("type", "") == "function_call") finish = "tool_calls";
  }
  meta.set("finish_reason", finish);
  if (incomplete && incomplete->is_object()) meta.set("incomplete_details", *incomplete);
  if (const Json* usage = response.find("usage"); usage && usage->is_object()) meta.set("token_usage", *usage);
  return meta;
}

std::optional<UsageMetadata> usage_of(const ResponseShape& shape, const Json& response) {
  const Json* usage = response.find("usage");
  expect_type(shape, usage, Json::Type::object, "response.usage", "an object");
  if (!usage || !usage->is_object()) return std::nullopt;
  for (const char* k : {"input_tokens", "output_tokens", "total_tokens"})
    check_count(shape, usage->find(k), std::string("usage.") + k);
  const Json* input = usage->find("input_tokens_details");
  const Json* output = usage->find("output_tokens_details");
  if (input && input->is_object()) check_count(shape, input->find("cached_tokens"), "usage.input_tokens_details.cached_tokens");
  if (output && output->is_object())
    check_count(shape, output->find("reasoning_tokens"), "usage.output_tokens_details.reasoning_tokens");
  UsageMetadata u;
  u.input_tokens = usage->value("input_tokens", std::int64_t{0});
  u.output_tokens = usage->value("output_tokens", std::int64_t{0});
  if (usage->contains("total_tokens")) {
    u.total_tokens = usage->value("total_tokens", std::int64_t{0});
  } else {  // the sum, saturating as UsageMetadata's += does
    UsageMetadata sum{u.input_tokens, 0, u.input_tokens, std::nullopt, std::nullopt};
    sum += UsageMetadata{0, u.output_tokens, u.output_tokens, std::nullopt, std::nullopt};
    u.total_tokens = sum.total_tokens;
  }
  if (input && input->is_object() && input->contains("cached_tokens"))
    u.cache_read = input->value("cached_tokens", std::int64_t{0});
  if (output && output->is_object() && output->contains("reasoning_tokens"))
    u.reasoning = output->value("reasoning_tokens", std::int64_t{0});
  return u;
}

void check_outcome(const ResponseShape& shape, const Json& response, const std::string& partial) {
  const std::string status = response.value("status", "");
  if (status == "failed") {
    ProviderErrorInfo info = info_for(shape);
    const Json* error = response.find("error");
    if (error && error->is_object()) {
      info.code = error->value("code", "");
      info.provider_message = error->value("message", "");
    }
    info.body = response;
    std::string message = shape.provider + ": the response failed";
    if (!info.code.empty()) message += " " + info.code;
    message += ": " + (info.provider_message.empty() ? std::string("(no message)") : info.provider_message);
    if (const std::string id = response.value("id", ""); !id.empty()) message += " (response id " + id + ")";
    if (!shape.request_id.empty()) message += " (request id " + shape.request_id + ")";
    if (info.code == "rate_limit_exceeded") throw RateLimitError(message, std::move(info));
    if (info.code.starts_with("invalid_")) throw BadRequestError(message, std::move(info));
    throw ServerError(message, std::move(info));
  }
  const Json* incomplete = response.find("incomplete_details");
  if (status == "incomplete" && incomplete && incomplete->is_object() &&
      incomplete->value("reason", "") == "content_filter") {
    const Json* filters = response.find("content_filters");
    filtered_completion(shape, filters ? *filters : Json(), partial);
  }
}

}  // namespace responses

AIMessage parse_response(std::string_view body, const ResponseShape& shape) {
  using namespace responses;
  if (body.empty()) bad_response(shape, "the body is empty (HTTP " + std::to_string(shape.status) + ")");
  const Json j = parse_json(body, shape);
  if (!j.is_object()) bad_response(shape, "expected a JSON object");
  const Json* output = j.find("output");
  expect_type(shape, output, Json::Type::array, "output", "an array");
  AIMessage m;
  std::string text;
  Json meta = Json::object();
  if (output && output->is_array()) {
    std::size_t i = 0;
    for (const Json& item : output->as_array()) {
      const std::string where = "output[" + std::to_string(i++) + "]";
      if (!item.is_object()) bad_response(shape, where + " is " + to_string(item.type()) + ", expected an object");
      append_item_text(shape, item, where, text);
      if (item.value("type", "") == "function_call")
        parse_tool_call(string_member(shape, item, "name", where), string_member(shape, item, "arguments", where),
                        string_member(shape, item, "call_id", where), m.tool_calls, m.invalid_tool_calls);
      merge_metadata(meta, item_metadata(shape, item, where));
    }
  }
  check_outcome(shape, j, text);
  merge_metadata(meta, final_metadata(shape, j));
  m.content = std::move(text);
  m.response_metadata = std::move(meta);
  m.usage_metadata = usage_of(shape, j);
  return m;
}

}  // namespace chainpp::openai_wire
