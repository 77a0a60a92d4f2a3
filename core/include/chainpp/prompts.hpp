#pragma once
// Prompt templates: an f-string template for one text, and a chat prompt that
// turns a map of variables into messages (a Runnable: `prompt | model`).
#include <chainpp/export.hpp>
#include <chainpp/messages.hpp>
#include <chainpp/runnable.hpp>
#include <chainpp/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace chainpp {

/// An f-string template: `{name}` is replaced by the variable `name`, `{{` and
/// `}}` stand for literal braces. The template is checked at construction: an
/// unbalanced brace, an empty `{}` or a name with other characters than
/// letters, digits, `_`, `-` and `.` throws PromptError saying where, e.g.
///   prompt template: unbalanced '{' at position 6 in "Hello {name"
///
///   PromptTemplate t("Hello {name}!");
///   t.format({{"name", "Ada"}});  // "Hello Ada!"
class CHAINPP_API PromptTemplate {
public:
  explicit PromptTemplate(std::string template_text);

  /// The template as written.
  const std::string& template_text() const { return text_; }
  /// The variables it uses, sorted, each once.
  const std::vector<std::string>& input_variables() const { return variables_; }
  /// Substitutes every variable (a Value's text, see Value::to_text). A missing
  /// variable throws PromptError naming it and the expected ones.
  std::string format(const ValueMap& variables) const;

  bool operator==(const PromptTemplate& other) const { return text_ == other.text_; }

private:
  friend class ChatPromptTemplate;
  void format_to(std::string& out, const ValueMap& variables) const;

  struct Piece {
    bool variable = false;
    std::string text;  ///< literal text (escapes resolved) or a variable name
  };
  std::string text_;
  std::vector<Piece> pieces_;
  std::vector<std::string> variables_;
};

/// Inserts the messages held by a variable (Value messages, one message or a
/// chunk). An optional placeholder whose variable is absent inserts nothing.
struct CHAINPP_API MessagesPlaceholder {
  std::string variable_name;
  bool optional = false;
  bool operator==(const MessagesPlaceholder&) const = default;
};

/// One message of a chat prompt whose content is a template.
struct CHAINPP_API MessageTemplate {
  Role role = Role::human;
  PromptTemplate prompt;
  std::string generic_role;  ///< for Role::generic: the role name sent

  MessageTemplate(Role role, std::string template_text);
  /// From a role name: "system", "human"/"user", "ai"/"assistant" (others throw
  /// PromptError listing the accepted roles).
  MessageTemplate(std::string_view role, std::string template_text);
  /// A message built in code used as a template: its role, its text as the
  /// template (PromptError for a tool message or content with image parts).
  static MessageTemplate from_message(const Message& message);
  bool operator==(const MessageTemplate&) const = default;
};

/// One entry of ChatPromptTemplate::from_messages: a (role, template) pair as on
/// the seed page, a MessageTemplate, a MessagesPlaceholder, or a fixed Message
/// (used as is, never formatted).
class CHAINPP_API MessageLike {
public:
  /// A role name as MessageTemplate accepts, or "placeholder" with a template
  /// "{name}" for an optional MessagesPlaceholder (as LangChain's).
  MessageLike(std::string_view role, std::string template_text);
  MessageLike(const char* role, const char* template_text)
      : MessageLike(std::string_view(role), std::string(template_text)) {}
  MessageLike(const std::pair<std::string, std::string>& pair) : MessageLike(pair.first, pair.second) {}
  MessageLike(MessageTemplate t) : v_(std::move(t)) {}
  MessageLike(MessagesPlaceholder p) : v_(std::move(p)) {}
  MessageLike(Message m) : v_(std::move(m)) {}

  using Variant = std::variant<MessageTemplate, MessagesPlaceholder, Message>;
  const Variant& get() const { return v_; }

private:
  Variant v_;
};

/// A chat prompt: message templates, placeholders and fixed messages that turn
/// a map of variables into Messages. As a Runnable (run type "prompt") it takes
/// a map Value (or, when it has a single variable, any value for that variable)
/// and gives Value(Messages).
///
///   auto prompt = ChatPromptTemplate::from_messages({
///       {"system", "You are a helpful assistant that translates {input_language} to {output_language}."},
///       {"human", "{input}"}});
///   auto chain = prompt | model | StrOutputParser();
class CHAINPP_API ChatPromptTemplate : public Runnable {
public:
  explicit ChatPromptTemplate(std::vector<MessageLike> messages, ValueMap partial_variables = {});

  static std::shared_ptr<ChatPromptTemplate> from_messages(std::vector<MessageLike> messages);
  /// A prompt of one human message.
  static std::shared_ptr<ChatPromptTemplate> from_template(std::string template_text);

  /// A new prompt with these variables already filled (they are removed from
  /// input_variables(); values passed at format time take precedence).
  std::shared_ptr<ChatPromptTemplate> partial(ValueMap variables) const;

  /// Variables a caller must pass: those of every template and required
  /// placeholder, minus partial variables; sorted.
  const std::vector<std::string>& input_variables() const { return input_variables_; }
  /// Variables of optional placeholders, sorted.
  const std::vector<std::string>& optional_variables() const { return optional_variables_; }
  const ValueMap& partial_variables() const { return partials_; }
  const std::vector<MessageLike>& messages() const { return messages_; }

  /// Formats every entry. A missing variable throws PromptError, e.g.
  ///   missing variable 'input' for prompt template; expected: input, input_language,
  ///   output_language; received: input_language, output_language
  Messages format_messages(const ValueMap& variables) const;

  std::string name() const override { return "ChatPromptTemplate"; }
  std::string run_type() const override { return "prompt"; }

protected:
  Value do_invoke(const Value& input, const RunConfig& config) const override;

private:
  std::vector<MessageLike> messages_;
  ValueMap partials_;
  std::vector<std::string> input_variables_;
  std::vector<std::string> optional_variables_;
};

}  // namespace chainpp
