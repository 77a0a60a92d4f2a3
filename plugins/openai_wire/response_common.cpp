// What the completion and stream readers share (see response_common.hpp),
// and versioned_model_name.
#include "response_common.hpp"

#include <cmath>
#include <utility>

namespace chainpp::openai_wire {

// Token counts must be non-negative integers (or null/absent, read as 0): a
// negative, fractional or textual count would corrupt totals and costs.
void check_count(const ResponseShape& shape, const Json* count, const std::string& what) {
  if (!count || count->is_null()) return;
  bool ok = count->is_integer() ? count->as_int() >= 0
                                : count->is_number() && std::floor(count->as_double()) == count->as_double() &&
                                      count->as_double() >= 0 && count->as_double() < 9.2e18;
  if (!ok) bad_response(shape, what + " is " + count->dump() + ", expected a non-negative integer");
}

std::string versioned_model_name(const std::string& model, const std::string& version) {
  if (version.empty() || model.empty()) return model;
  const std::string suffix = "-" + version;
  if (model.size() >= suffix.size() && model.compare(model.size() - suffix.size(), suffix.size(), suffix) == 0)
    return model;
  return model + suffix;
}

ProviderErrorInfo info_for(const ResponseShape& shape) {
  ProviderErrorInfo info;
  info.provider = shape.provider;
  info.status = shape.status;
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

void expect_type(const ResponseShape& shape, const Json* v, Json::Type type, const std::string& what,
                 const char* expected) {
  if (v && !v->is_null() && v->type() != type)
    bad_response(shape, what + " is " + to_string(v->type()) + ", expected " + expected);
}

std::optional<std::string_view> string_view_of(const Json* v) {
  if (!v || !v->is_string()) return std::nullopt;
  return std::string_view(v->as_string());
}

[[noreturn]] void filtered_completion(const ResponseShape& shape, const Json& results, std::string partial) {
  const std::string cats = describe_filter_categories(triggered_filter_categories(results));
  std::string msg = shape.provider +
                    ": the completion was stopped by the content filter (finish_reason content_filter)";
  if (!cats.empty()) msg += " (triggered: " + cats + ")";
  if (!shape.request_id.empty()) msg += " (request id " + shape.request_id + ")";
  ProviderErrorInfo info = info_for(shape);
  info.code = "content_filter";
  throw ContentFilterError(msg, info, results, std::move(partial));
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

Json token_usage_from(const Json& usage) {
  Json t{{"completion_tokens", usage.value("completion_tokens", std::int64_t{0})},
         {"prompt_tokens", usage.value("prompt_tokens", std::int64_t{0})},
         {"total_tokens", usage.value("total_tokens", std::int64_t{0})}};
  for (const char* k : {"completion_tokens_details", "prompt_tokens_details"})
    if (const Json* d = usage.find(k); d && !d->is_null()) t.set(k, *d);
  return t;
}

}  // namespace chainpp::openai_wire
