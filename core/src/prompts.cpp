#include <chainpp/errors.hpp>
#include <chainpp/config.hpp>
#include <chainpp/prompts.hpp>

#include <algorithm>
#include <set>

namespace chainpp {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

[[noreturn]] void malformed(const std::string& what, std::size_t pos, const std::string& text,
                            const char* hint = "") {
  throw PromptError("prompt template: " + what + " at position " + std::to_string(pos) + " in \"" + text + "\"" +
                    hint);
}

std::string list_or_none(const std::vector<std::string>& names) {
  return names.empty() ? std::string("(none)") : join(names);
}

// Throws the missing-variable error when any of `expected` is absent from both maps.
void check_variables(const std::vector<std::string>& expected, const ValueMap& variables,
                     const ValueMap* partials = nullptr) {
  std::vector<std::string> missing;
  for (const auto& name : expected)
    if (!variables.count(name) && !(partials && partials->count(name))) missing.push_back(name);
  if (missing.empty()) return;
  std::vector<std::string> received;
  for (const auto& [name, value] : variables) received.push_back(name);
  throw PromptError(std::string(missing.size() == 1 ? "missing variable " : "missing variables ") +
                    join(missing, ", ", "'") + " for prompt template; expected: " + list_or_none(expected) +
                    "; received: " + list_or_none(received));
}

const char* const kRoles = "system, human, user, ai, assistant";

Role parse_role(std::string_view role, bool placeholder_allowed) {
  if (role == "system") return Role::system;
  if (role == "human" || role == "user") return Role::human;
  if (role == "ai" || role == "assistant") return Role::ai;
  throw PromptError("unknown message role '" + std::string(role) + "' in prompt template; expected one of: " +
                    kRoles + (placeholder_allowed ? ", placeholder" : ""));
}

void append_messages(Messages& out, const MessagesPlaceholder& p, const Value* value) {
  if (!value || value->is_null()) {
    if (p.optional) return;
    throw InputError("messages placeholder '" + p.variable_name + "' expects messages, got null");
  }
  switch (value->kind()) {
    case Value::Kind::messages: {
      const auto& ms = value->as_messages();
      out.insert(out.end(), ms.begin(), ms.end());
      return;
    }
    case Value::Kind::message: out.push_back(value->as_message()); return;
    case Value::Kind::chunk: out.push_back(value->as_chunk().to_message()); return;
    default:
      throw InputError("messages placeholder '" + p.variable_name + "' expects messages, got " +
                       to_string(value->kind()));
  }
}

Message make_message(const MessageTemplate& t, std::string text) {
  switch (t.role) {
    case Role::system: return SystemMessage(std::move(text));
    case Role::human: return HumanMessage(std::move(text));
    case Role::ai: return AIMessage(std::move(text));
    case Role::generic: return ChatMessage(t.generic_role, std::move(text));
    case Role::tool: break;
  }
  Message m;
  m.role = t.role;
  m.content = std::move(text);
  return m;
}

}  // namespace

// ---------------------------------------------------------------- PromptTemplate

PromptTemplate::PromptTemplate(std::string template_text) : text_(std::move(template_text)) {
  const std::string& s = text_;
  std::string literal;
  std::set<std::string> names;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '}') {
      if (i + 1 < s.size() && s[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      malformed("unbalanced '}'", i, s);
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    std::size_t close = s.find_first_of("{}", i + 1);
    if (close == std::string::npos || s[close] == '{') malformed("unbalanced '{'", i, s);
    std::string name = s.substr(i + 1, close - i - 1);
    if (name.empty()) malformed("empty placeholder '{}'", i, s);
    if (!std::all_of(name.begin(), name.end(), is_name_char))
      malformed("invalid variable name '" + name + "'", i, s, "; write '{{' and '}}' for literal braces");
    if (!literal.empty()) pieces_.push_back({false, std::move(literal)});
    literal.clear();
    names.insert(name);
    pieces_.push_back({true, std::move(name)});
    i = close;
  }
  if (!literal.empty()) pieces_.push_back({false, std::move(literal)});
  variables_.assign(names.begin(), names.end());
}

void PromptTemplate::format_to(std::string& out, const ValueMap& variables) const {
  for (const auto& piece : pieces_) {
    if (!piece.variable) {
      out += piece.text;
      continue;
    }
    auto it = variables.find(piece.text);
    // Callers check variables first; this keeps a direct caller's error the same.
    if (it == variables.end()) check_variables(variables_, variables);
    out += it->second.to_text();
  }
}

std::string PromptTemplate::format(const ValueMap& variables) const {
  check_variables(variables_, variables);
  std::string out;
  format_to(out, variables);
  return out;
}

// ---------------------------------------------------------------- messages

MessageTemplate::MessageTemplate(Role r, std::string template_text)
    : role(r), prompt(std::move(template_text)) {}

MessageTemplate::MessageTemplate(std::string_view r, std::string template_text)
    : role(parse_role(r, false)), prompt(std::move(template_text)) {}

MessageTemplate MessageTemplate::from_message(const Message& message) {
  if (message.role == Role::tool) throw PromptError("a tool message cannot be a prompt template");
  if (auto* parts = std::get_if<std::vector<ContentPart>>(&message.content)) {
    for (const auto& part : *parts)
      if (part.kind != ContentPart::Kind::text)
        throw PromptError("a message with image content cannot be a prompt template; add it as a fixed message");
  }
  MessageTemplate t(message.role, message.text());
  t.generic_role = message.generic_role;
  return t;
}

MessageLike::MessageLike(std::string_view role, std::string template_text)
    : v_(MessagesPlaceholder{}) {
  if (role != "placeholder") {
    v_ = MessageTemplate(parse_role(role, true), std::move(template_text));
    return;
  }
  PromptTemplate t(template_text);
  if (t.input_variables().size() != 1 || template_text != "{" + t.input_variables()[0] + "}")
    throw PromptError("a 'placeholder' message must be exactly \"{variable}\", got \"" + template_text + "\"");
  v_ = MessagesPlaceholder{t.input_variables()[0], true};
}

// ---------------------------------------------------------------- ChatPromptTemplate

ChatPromptTemplate::ChatPromptTemplate(std::vector<MessageLike> messages, ValueMap partial_variables)
    : messages_(std::move(messages)), partials_(std::move(partial_variables)) {
  std::set<std::string> required, optional;
  for (const auto& m : messages_) {
    if (auto* t = std::get_if<MessageTemplate>(&m.get())) {
      required.insert(t->prompt.input_variables().begin(), t->prompt.input_variables().end());
    } else if (auto* p = std::get_if<MessagesPlaceholder>(&m.get())) {
      (p->optional ? optional : required).insert(p->variable_name);
    }
  }
  for (const auto& name : required)
    if (!partials_.count(name)) input_variables_.push_back(name);
  for (const auto& name : optional)
    if (!required.count(name) && !partials_.count(name)) optional_variables_.push_back(name);
}

std::shared_ptr<ChatPromptTemplate> ChatPromptTemplate::from_messages(std::vector<MessageLike> messages) {
  return std::make_shared<ChatPromptTemplate>(std::move(messages));
}

std::shared_ptr<ChatPromptTemplate> ChatPromptTemplate::from_template(std::string template_text) {
  return from_messages({MessageTemplate(Role::human, std::move(template_text))});
}

std::shared_ptr<ChatPromptTemplate> ChatPromptTemplate::partial(ValueMap variables) const {
  ValueMap merged = partials_;
  for (auto& [name, value] : variables) merged.insert_or_assign(name, std::move(value));
  return std::make_shared<ChatPromptTemplate>(messages_, std::move(merged));
}

Messages ChatPromptTemplate::format_messages(const ValueMap& variables) const {
  check_variables(input_variables_, variables);
  const ValueMap* vars = &variables;
  ValueMap merged;
  if (!partials_.empty()) {
    merged = partials_;
    for (const auto& [name, value] : variables) merged.insert_or_assign(name, value);
    vars = &merged;
  }
  Messages out;
  out.reserve(messages_.size());
  for (const auto& m : messages_) {
    if (auto* t = std::get_if<MessageTemplate>(&m.get())) {
      std::string text;
      t->prompt.format_to(text, *vars);
      out.push_back(make_message(*t, std::move(text)));
    } else if (auto* p = std::get_if<MessagesPlaceholder>(&m.get())) {
      auto it = vars->find(p->variable_name);
      append_messages(out, *p, it == vars->end() ? nullptr : &it->second);
    } else {
      out.push_back(std::get<Message>(m.get()));
    }
  }
  return out;
}

Value ChatPromptTemplate::do_invoke(const Value& input, const RunConfig&) const {
  if (input.is_map()) return Value(format_messages(input.as_map()));
  if (input_variables_.size() == 1) return Value(format_messages(ValueMap{{input_variables_[0], input}}));
  throw InputError(std::string("ChatPromptTemplate expects a map of variables (") + list_or_none(input_variables_) +
                   "), got " + to_string(input.kind()));
}

}  // namespace chainpp
