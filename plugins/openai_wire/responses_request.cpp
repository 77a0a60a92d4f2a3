// The request side of the Responses API: which API a call uses, and the
// request body (built on core's Json: one general path).
#include "responses.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/tools.hpp>

#include <algorithm>
#include <array>

namespace chainpp::openai_wire {

namespace {

bool option_set(const GenerationOption& option, const CallOptions& options) {
  return std::visit([&](auto member) { return (options.*member).has_value(); }, option.member);
}

// "'a', 'b' and 'c'".
std::string quoted_list(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " and " : ", ";
    text += names[i].starts_with("the ") ? names[i] : "'" + names[i] + "'";
  }
  return text;
}

// The text of a content with its image parts as Responses input parts.
Json input_content(const Content& content) {
  if (const auto* s = std::get_if<std::string>(&content)) return *s;
  Json parts = Json::array();
  for (const ContentPart& p : std::get<std::vector<ContentPart>>(content)) {
    if (p.kind == ContentPart::Kind::text)
      parts.push_back(Json{{"type", "input_text"}, {"text", p.text}});
    else  // the newest specification requires detail: "auto" when unset
      parts.push_back(Json{{"type", "input_image"}, {"image_url", p.url}, {"detail", p.detail.empty() ? "auto" : p.detail}});
  }
  return parts;
}

Json message_item(const char* role, Json content) {
  return Json{{"type", "message"}, {"role", role}, {"content", std::move(content)}};
}

// The input items of `messages`, in order: a message item per system,
// human, generic and (text-bearing) AI message, a function_call item per
// tool call of an AI message, a function_call_output item per ToolMessage.
Json input_items(Messages::const_iterator begin, Messages::const_iterator end) {
  Json items = Json::array();
  for (auto it = begin; it != end; ++it) {
    const Message& m = *it;
    switch (m.role) {
      case Role::system: items.push_back(message_item("system", input_content(m.content))); break;
      case Role::human: items.push_back(message_item("user", input_content(m.content))); break;
      case Role::generic: items.push_back(message_item(m.generic_role.c_str(), input_content(m.content))); break;
      case Role::tool:
        items.push_back(Json{{"type", "function_call_output"}, {"call_id", m.tool_call_id}, {"output", m.text()}});
        break;
      case Role::ai: {
        if (const std::string text = m.text(); !text.empty()) items.push_back(message_item("assistant", text));
        for (const ToolCall& c : m.tool_calls)
          items.push_back(Json{{"type", "function_call"}, {"call_id", c.id}, {"name", c.name}, {"arguments", c.args.dump()}});
        break;
      }
    }
  }
  return items;
}

// The messages after the last AI message that carries a Responses id, and
// that id (LangChain's use_previous_response_id); all of them and "" when
// none does.
std::pair<Messages::const_iterator, std::string> after_last_response(const Messages& messages) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->role != Role::ai) continue;
    const Json* id = it->response_metadata.find("id");
    if (id && id->is_string() && id->as_string().starts_with("resp_")) return {it.base(), id->as_string()};
  }
  return {messages.begin(), ""};
}

// A function tool in the Responses form: name, parameters and strict at the
// top level (chat completions nests them under "function").
Json function_tool(const ToolDefinition& t) {
  Json tool{{"type", "function"}, {"name", t.name}};
  if (!t.description.empty()) tool.set("description", t.description);
  tool.set("parameters", t.parameters);
  if (t.strict) tool.set("strict", *t.strict);
  return tool;
}

// A normalised tool_choice in the Responses form: a function is named at the
// top level ({"type":"function","name":..}).
Json responses_tool_choice(Json choice) {
  if (!choice.is_object()) return choice;
  const Json* fn = choice.find("function");
  if (choice.value("type", "") == "function" && fn && fn->is_object() && fn->find("name"))
    return Json{{"type", "function"}, {"name", fn->at("name")}};
  return choice;
}

// text.format from a chat-completions response_format: a json_schema's
// fields sit directly in the format.
Json text_format(const Json& response_format) {
  const Json* schema = response_format.find("json_schema");
  if (response_format.value("type", "") != "json_schema" || !schema || !schema->is_object()) return response_format;
  Json format{{"type", "json_schema"}};
  for (const auto& [k, v] : schema->as_object()) format.set(k, v);
  return format;
}

}  // namespace

std::vector<std::string> responses_only_features(const CallOptions& options) {
  std::vector<std::string> features;
  for (const GenerationOption& option : kGenerationOptions)
    if (option.responses_only && option_set(option, options)) features.emplace_back(option.name);
  for (const ToolDefinition& t : options.tools)
    if (t.is_builtin()) features.push_back("the built-in tool " + t.builtin.value("type", ""));
  return features;
}

bool choose_responses_api(UseResponsesApi setting, const std::vector<std::string>& features,
                          const std::string& provider, bool responses_api_only_model) {
  if (setting == UseResponsesApi::yes) return true;
  if (setting == UseResponsesApi::automatic && responses_api_only_model) return true;
  if (features.empty()) return false;
  if (setting == UseResponsesApi::automatic) return true;
  throw InputError(provider + ": " + quoted_list(features) + (features.size() == 1 ? " needs" : " need") +
                   " the Responses API; set use_responses_api: true (or auto) on the model");
}

std::optional<std::pair<std::string, std::string>> reasoning_problem(const Json& reasoning) {
  if (!reasoning.is_object())
    return std::pair{std::string(), std::string("'reasoning' must be a map of effort and summary")};
  struct Member {
    std::string_view name;
    std::vector<std::string_view> choices;
  };
  // The specification's enums (not every model takes every value).
  static const std::array<Member, 2> kMembers{
      {{"effort", {"none", "minimal", "low", "medium", "high", "xhigh", "max"}},
       {"summary", {"auto", "concise", "detailed"}}}};
  for (const auto& [key, value] : reasoning.as_object()) {
    const auto row = std::find_if(kMembers.begin(), kMembers.end(), [&](const Member& m) { return m.name == key; });
    if (row == kMembers.end()) return std::pair{key, "'reasoning' takes effort and summary, not '" + key + "'"};
    if (value.is_string() && std::find(row->choices.begin(), row->choices.end(), value.as_string()) != row->choices.end())
      continue;
    std::string text = "'reasoning." + key + "' must be ";
    for (std::size_t i = 0; i < row->choices.size(); ++i) {
      if (i > 0) text += i + 1 == row->choices.size() ? " or " : ", ";
      text += row->choices[i];
    }
    return std::pair{key, text};
  }
  return std::nullopt;
}

std::string build_responses_body(const Messages& messages, const CallOptions& o, const std::string& model,
                                 bool stream) {
  check_messages_utf8(messages);
  for (const auto& [name, unsupported] : std::initializer_list<std::pair<const char*, bool>>{
           {"stop", o.stop.has_value()},
           {"n", o.n.has_value()},
           {"presence_penalty", o.presence_penalty.has_value()},
           {"frequency_penalty", o.frequency_penalty.has_value()},
           {"logit_bias", o.logit_bias.has_value()},
           {"seed", o.seed.has_value()}})
    if (unsupported)
      throw InputError(std::string("'") + name +
                       "' has no equivalent in the Responses API: leave it unset for this model (or set "
                       "use_responses_api: false)");
  if (o.reasoning)
    if (auto problem = reasoning_problem(*o.reasoning)) throw InputError(problem->second);

  Json body = Json::object();
  if (!model.empty()) body.set("model", model);
  std::string previous = o.previous_response_id.value_or("");
  auto first = messages.begin();
  if (previous.empty() && o.use_previous_response_id.value_or(false))
    std::tie(first, previous) = after_last_response(messages);
  body.set("input", input_items(first, messages.end()));
  if (o.temperature) body.set("temperature", *o.temperature);
  if (o.top_p) body.set("top_p", *o.top_p);
  // As LangChain: the chat-completions token caps stand for max_output_tokens.
  if (auto cap = o.max_output_tokens ? o.max_output_tokens
                 : o.max_completion_tokens ? o.max_completion_tokens
                                           : o.max_tokens)
    body.set("max_output_tokens", *cap);
  if (o.reasoning || o.reasoning_effort) {
    Json reasoning = o.reasoning.value_or(Json::object());
    if (o.reasoning_effort && !reasoning.contains("effort")) reasoning.set("effort", *o.reasoning_effort);
    body.set("reasoning", std::move(reasoning));
  }
  if (o.top_logprobs) body.set("top_logprobs", *o.top_logprobs);
  if (o.user) body.set("user", *o.user);
  if (o.store) body.set("store", *o.store);
  // logprobs: true is Responses' include of the output text's logprobs.
  std::vector<std::string> include = o.include.value_or(std::vector<std::string>{});
  constexpr const char* kLogprobs = "message.output_text.logprobs";
  if (o.logprobs.value_or(false) && std::find(include.begin(), include.end(), kLogprobs) == include.end())
    include.emplace_back(kLogprobs);
  if (!include.empty()) {
    Json values = Json::array();
    for (const auto& value : include) values.push_back(value);
    body.set("include", std::move(values));
  }
  if (!previous.empty()) body.set("previous_response_id", previous);
  if (o.background) body.set("background", *o.background);
  if (o.truncation) body.set("truncation", *o.truncation);
  if (o.response_format) body.set("text", Json{{"format", text_format(*o.response_format)}});
  if (!o.tools.empty()) {
    Json tools = Json::array();
    for (const ToolDefinition& t : o.tools) tools.push_back(t.is_builtin() ? t.builtin : function_tool(t));
    body.set("tools", std::move(tools));
  }
  // Normalised already by ChatModel; again here for a direct caller (idempotent).
  if (const auto choice = o.tool_choice ? normalize_tool_choice(*o.tool_choice, o.tools) : std::nullopt)
    body.set("tool_choice", responses_tool_choice(*choice));
  if (!o.tools.empty() && o.parallel_tool_calls) body.set("parallel_tool_calls", *o.parallel_tool_calls);
  if (stream) body.set("stream", true);
  return body.dump();
}

}  // namespace chainpp::openai_wire
