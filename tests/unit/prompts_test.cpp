#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/prompts.hpp>

#include "scripted_model.hpp"

using namespace chainpp;

namespace {

std::shared_ptr<ChatPromptTemplate> translation_prompt() {
  return ChatPromptTemplate::from_messages(
      {{"system", "You are a helpful assistant that translates {input_language} to {output_language}."},
       {"human", "{input}"}});
}

const ValueMap kSeedInput{{"input_language", "English"}, {"output_language", "German"}, {"input", "I love programming."}};

}  // namespace

TEST_CASE("PromptTemplate substitutes variables and resolves {{ and }} escapes") {
  PromptTemplate t("Hello {name}! {{literal}} {{{name}}} {greeting}");
  REQUIRE(t.format({{"name", "Ada"}, {"greeting", "hi"}}) == "Hello Ada! {literal} {Ada} hi");
  REQUIRE(t.template_text() == "Hello {name}! {{literal}} {{{name}}} {greeting}");
}

TEST_CASE("PromptTemplate input variables are sorted and unique") {
  PromptTemplate t("{b} {a} {b} {snake_case} {with-dash} {dotted.name}");
  REQUIRE(t.input_variables() == std::vector<std::string>{"a", "b", "dotted.name", "snake_case", "with-dash"});
  REQUIRE(PromptTemplate("no variables, {{just braces}}").input_variables().empty());
  REQUIRE(PromptTemplate("").format({}) == "");
}

TEST_CASE("PromptTemplate formats non-text values by their text") {
  PromptTemplate t("{n} {obj} {msg}");
  ValueMap vars{{"n", Value::json(42)}, {"obj", Value::json(Json{{"a", 1}})}, {"msg", Value(AIMessage("hi"))}};
  REQUIRE(t.format(vars) == R"(42 {"a":1} hi)");
}

TEST_CASE("PromptTemplate rejects a malformed template at construction, saying where") {
  REQUIRE_THROWS_AS(PromptTemplate("Hello {name"), PromptError);
  REQUIRE_THROWS_WITH(PromptTemplate("Hello {name"), R"(prompt template: unbalanced '{' at position 6 in "Hello {name")");
  REQUIRE_THROWS_WITH(PromptTemplate("Hello name}"), R"(prompt template: unbalanced '}' at position 10 in "Hello name}")");
  REQUIRE_THROWS_WITH(PromptTemplate("a {b {c}"), R"(prompt template: unbalanced '{' at position 2 in "a {b {c}")");
  REQUIRE_THROWS_WITH(PromptTemplate("Hi {} there"),
                      R"(prompt template: empty placeholder '{}' at position 3 in "Hi {} there")");
  REQUIRE_THROWS_WITH(PromptTemplate(R"(Reply as {"key": 1})"),
                      R"(prompt template: invalid variable name '"key": 1' at position 9 in "Reply as {"key": 1}"; )"
                      R"(write '{{' and '}}' for literal braces)");
  REQUIRE_THROWS_WITH(PromptTemplate("x }}}"), R"(prompt template: unbalanced '}' at position 4 in "x }}}")");
}

TEST_CASE("PromptTemplate: a missing variable names it and lists the expected ones") {
  PromptTemplate t("{a} and {b}");
  REQUIRE_THROWS_AS(t.format({{"a", "x"}}), PromptError);
  REQUIRE_THROWS_WITH(t.format({{"a", "x"}}), "missing variable 'b' for prompt template; expected: a, b; received: a");
  REQUIRE_THROWS_WITH(t.format({}),
                      "missing variables 'a', 'b' for prompt template; expected: a, b; received: (none)");
}

TEST_CASE("ChatPromptTemplate: the seed translation prompt gives exactly the seed's messages") {
  auto prompt = translation_prompt();
  REQUIRE(prompt->input_variables() == std::vector<std::string>{"input", "input_language", "output_language"});
  REQUIRE(prompt->optional_variables().empty());
  Messages expected{SystemMessage("You are a helpful assistant that translates English to German."),
                    HumanMessage("I love programming.")};
  REQUIRE(prompt->format_messages(kSeedInput) == expected);

  // As a runnable: a map in, Value(Messages) out.
  Value out = prompt->invoke(Value(kSeedInput));
  REQUIRE(out.is_messages());
  REQUIRE(out.as_messages() == expected);
  REQUIRE(prompt->name() == "ChatPromptTemplate");
  REQUIRE(prompt->run_type() == "prompt");
}

TEST_CASE("ChatPromptTemplate: a missing variable names it and lists every expected variable") {
  auto prompt = translation_prompt();
  ValueMap vars{{"input_language", "English"}, {"output_language", "German"}};
  REQUIRE_THROWS_AS(prompt->format_messages(vars), PromptError);
  REQUIRE_THROWS_WITH(prompt->invoke(Value(vars)),
                      "missing variable 'input' for prompt template; expected: input, input_language, "
                      "output_language; received: input_language, output_language");
}

TEST_CASE("ChatPromptTemplate::from_messages accepts roles and their synonyms") {
  auto prompt = ChatPromptTemplate::from_messages(
      {{"system", "s {x}"}, {"user", "u {x}"}, {"assistant", "a {x}"}, {"human", "h"}, {"ai", "ai"}});
  Messages expected{SystemMessage("s 1"), HumanMessage("u 1"), AIMessage("a 1"), HumanMessage("h"), AIMessage("ai")};
  REQUIRE(prompt->format_messages({{"x", "1"}}) == expected);

  // One entry only (no confusion with a vector of two strings).
  auto one = ChatPromptTemplate::from_messages({{"human", "{input}"}});
  REQUIRE(one->format_messages({{"input", "hi"}}) == Messages{HumanMessage("hi")});

  // std::string pairs work as well.
  std::pair<std::string, std::string> pair{"system", "be {mood}"};
  REQUIRE(ChatPromptTemplate::from_messages({pair})->format_messages({{"mood", "brief"}}) ==
          Messages{SystemMessage("be brief")});
}

TEST_CASE("ChatPromptTemplate: an unknown role lists the accepted ones") {
  REQUIRE_THROWS_AS(ChatPromptTemplate::from_messages({{"robot", "x"}}), PromptError);
  REQUIRE_THROWS_WITH(ChatPromptTemplate::from_messages({{"robot", "x"}}),
                      "unknown message role 'robot' in prompt template; expected one of: system, human, user, ai, "
                      "assistant, placeholder");
  REQUIRE_THROWS_WITH(MessageTemplate("tool", "x"),
                      "unknown message role 'tool' in prompt template; expected one of: system, human, user, ai, "
                      "assistant");
}

TEST_CASE("ChatPromptTemplate: a malformed template fails when the prompt is built") {
  REQUIRE_THROWS_WITH(ChatPromptTemplate::from_messages({{"system", "ok"}, {"human", "{input"}}),
                      R"(prompt template: unbalanced '{' at position 0 in "{input")");
}

TEST_CASE("MessagesPlaceholder inserts the messages of a variable") {
  auto prompt = ChatPromptTemplate::from_messages(
      {{"system", "You are {name}."}, MessagesPlaceholder{"history"}, {"human", "{question}"}});
  REQUIRE(prompt->input_variables() == std::vector<std::string>{"history", "name", "question"});

  Messages history{HumanMessage("Hi"), AIMessage("Hello! How can I help?")};
  ValueMap vars{{"name", "Bot"}, {"history", Value(history)}, {"question", "What is 2+2?"}};
  Messages expected{SystemMessage("You are Bot."), HumanMessage("Hi"), AIMessage("Hello! How can I help?"),
                    HumanMessage("What is 2+2?")};
  REQUIRE(prompt->format_messages(vars) == expected);

  // One message, or a streamed chunk, is inserted as one message.
  vars["history"] = Value(Message(AIMessage("earlier")));
  REQUIRE(prompt->format_messages(vars)[1] == Message(AIMessage("earlier")));
  AIMessageChunk chunk;
  chunk.content = "chunked";
  vars["history"] = Value(chunk);
  REQUIRE(prompt->format_messages(vars)[1].text() == "chunked");

  // A required placeholder is a required variable; a wrong kind is an input error.
  REQUIRE_THROWS_WITH(prompt->format_messages({{"name", "Bot"}, {"question", "q"}}),
                      "missing variable 'history' for prompt template; expected: history, name, question; "
                      "received: name, question");
  vars["history"] = Value("not messages");
  REQUIRE_THROWS_AS(prompt->format_messages(vars), InputError);
  REQUIRE_THROWS_WITH(prompt->format_messages(vars), "messages placeholder 'history' expects messages, got text");
}

TEST_CASE("An optional MessagesPlaceholder may be absent") {
  auto prompt = ChatPromptTemplate::from_messages({MessagesPlaceholder{"history", true}, {"human", "{q}"}});
  REQUIRE(prompt->input_variables() == std::vector<std::string>{"q"});
  REQUIRE(prompt->optional_variables() == std::vector<std::string>{"history"});
  REQUIRE(prompt->format_messages({{"q", "hi"}}) == Messages{HumanMessage("hi")});
  REQUIRE(prompt->format_messages({{"q", "hi"}, {"history", Value(Messages{AIMessage("a")})}}) ==
          Messages{AIMessage("a"), HumanMessage("hi")});

  // LangChain's ("placeholder", "{history}") form is an optional placeholder.
  auto same = ChatPromptTemplate::from_messages({{"placeholder", "{history}"}, {"human", "{q}"}});
  REQUIRE(same->optional_variables() == std::vector<std::string>{"history"});
  REQUIRE(same->format_messages({{"q", "hi"}}) == Messages{HumanMessage("hi")});
  REQUIRE_THROWS_WITH(ChatPromptTemplate::from_messages({{"placeholder", "history: {history}"}}),
                      R"(a 'placeholder' message must be exactly "{variable}", got "history: {history}")");
}

TEST_CASE("ChatPromptTemplate::partial fills variables and returns a new prompt") {
  auto prompt = translation_prompt();
  auto partial = prompt->partial({{"input_language", "English"}, {"output_language", "French"}});
  REQUIRE(partial->input_variables() == std::vector<std::string>{"input"});
  REQUIRE(prompt->input_variables() == std::vector<std::string>{"input", "input_language", "output_language"});
  REQUIRE(partial->format_messages({{"input", "I love programming."}}) ==
          Messages{SystemMessage("You are a helpful assistant that translates English to French."),
                   HumanMessage("I love programming.")});
  // A value passed at format time wins over the partial one.
  REQUIRE(partial->format_messages({{"input", "x"}, {"output_language", "German"}})[0].text() ==
          "You are a helpful assistant that translates English to German.");
  // Partials chain.
  auto more = partial->partial({{"output_language", "Italian"}});
  REQUIRE(more->format_messages({{"input", "x"}})[0].text() ==
          "You are a helpful assistant that translates English to Italian.");
  REQUIRE_THROWS_WITH(partial->format_messages({}),
                      "missing variable 'input' for prompt template; expected: input; received: (none)");
}

TEST_CASE("ChatPromptTemplate from code-built message templates and fixed messages") {
  auto prompt = std::make_shared<ChatPromptTemplate>(std::vector<MessageLike>{
      MessageTemplate(Role::system, "Answer in {lang}."),
      SystemMessage("Fixed messages are not formatted: {keep}"),
      MessageTemplate(Role::human, "{q}"),
  });
  REQUIRE(prompt->input_variables() == std::vector<std::string>{"lang", "q"});
  REQUIRE(prompt->format_messages({{"lang", "French"}, {"q", "Why?"}}) ==
          Messages{SystemMessage("Answer in French."), SystemMessage("Fixed messages are not formatted: {keep}"),
                   HumanMessage("Why?")});
}

TEST_CASE("ChatPromptTemplate with one variable takes a non-map input as that variable") {
  auto prompt = ChatPromptTemplate::from_template("Tell me about {topic}.");
  REQUIRE(prompt->invoke(Value("cats")).as_messages() == Messages{HumanMessage("Tell me about cats.")});
  REQUIRE_THROWS_AS(translation_prompt()->invoke(Value("cats")), InputError);
  REQUIRE_THROWS_WITH(translation_prompt()->invoke(Value("cats")),
                      "ChatPromptTemplate expects a map of variables (input, input_language, output_language), "
                      "got text");
}

TEST_CASE("prompt | model runs the seed chaining example") {
  auto model = std::make_shared<test::ScriptedModel>(std::vector<std::string>{"Ich liebe das Programmieren."});
  auto chain = translation_prompt() | model;
  Value out = chain->invoke(Value(kSeedInput));
  REQUIRE(out.as_message().text() == "Ich liebe das Programmieren.");
  REQUIRE(model->shared().calls.size() == 1);
  REQUIRE(model->shared().calls[0] ==
          Messages{SystemMessage("You are a helpful assistant that translates English to German."),
                   HumanMessage("I love programming.")});
}

TEST_CASE("MessageTemplate::from_message turns a code-built message into a template") {
  auto prompt = ChatPromptTemplate::from_messages({MessageTemplate::from_message(SystemMessage("Answer in {lang}.")),
                                                   MessageTemplate::from_message(ChatMessage("critic", "Rate {q}")),
                                                   MessageTemplate::from_message(HumanMessage("{q}"))});
  REQUIRE(prompt->input_variables() == std::vector<std::string>{"lang", "q"});
  REQUIRE(prompt->format_messages({{"lang", "French"}, {"q", "Why?"}}) ==
          Messages{SystemMessage("Answer in French."), ChatMessage("critic", "Rate Why?"), HumanMessage("Why?")});
  REQUIRE_THROWS_WITH(MessageTemplate::from_message(ToolMessage("{x}", "call_1")),
                      "a tool message cannot be a prompt template");
  REQUIRE_THROWS_WITH(
      MessageTemplate::from_message(HumanMessage(std::vector<ContentPart>{ContentPart::image_part("https://x/y.png")})),
      "a message with image content cannot be a prompt template; add it as a fixed message");
}
