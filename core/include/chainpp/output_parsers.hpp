#pragma once
// Output parsers: runnables (run type "parser") that turn a model's message,
// chunks or text into text or JSON, e.g. `prompt | model | StrOutputParser()`.
// Each also transforms a stream: after a streaming model it parses as chunks arrive.
#include <chainpp/export.hpp>
#include <chainpp/json.hpp>
#include <chainpp/runnable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chainpp {

/// Message, chunk or text -> text (the content). Streaming yields each chunk's
/// content as a text piece, as it arrives (empty pieces included, as LangChain's).
class CHAINPP_API StrOutputParser : public Runnable {
public:
  std::string name() const override { return "StrOutputParser"; }
  std::string run_type() const override { return "parser"; }

protected:
  Value do_invoke(const Value& input, const RunConfig& config) const override;
  Stream<Value> do_transform(Stream<Value> input, const RunConfig& config) const override;
};

/// Message, chunk or text -> Value::json. Tolerates surrounding whitespace, a
/// fenced block (```json ... ``` or ``` ... ```, with or without text before
/// or after it; the fence closes at the first ``` outside a JSON string, so
/// backticks and fences inside string values are content) and raw newlines
/// inside strings. Invalid output throws OutputParserError
/// whose llm_output() is the raw text and whose message gives the offset in it,
/// e.g. `invalid JSON output at offset 8: expected ',' or '}' after an object member`.
///
/// Streaming yields the partial value parsed so far whenever it changes (open
/// strings, arrays and objects closed, an incomplete key or literal left out),
/// as LangChain's JsonOutputParser: {} {"a":""} {"a":"He"} {"a":"Hello"} ...
/// At the end of the stream the whole text must be valid JSON.
class CHAINPP_API JsonOutputParser : public Runnable {
public:
  std::string name() const override { return "JsonOutputParser"; }
  std::string run_type() const override { return "parser"; }

protected:
  Value do_invoke(const Value& input, const RunConfig& config) const override;
  Stream<Value> do_transform(Stream<Value> input, const RunConfig& config) const override;
  /// Checks a complete value (the result of invoke, and the last value of a stream).
  virtual void check(const Json& value, const std::string& llm_output) const;
};

/// Parses model output text as JSON (see JsonOutputParser); throws OutputParserError.
CHAINPP_API Json parse_json_output(std::string_view text);
/// Parses a possibly truncated prefix of JSON output (see JsonOutputParser's
/// streaming); nullopt when nothing can be parsed yet or the text is not JSON.
CHAINPP_API std::optional<Json> parse_partial_json_output(std::string_view text);

/// A compiled JSON Schema (draft 4, RapidJSON's validator), reusable and safe to
/// share between threads. Violations are reported with the instance's JSON
/// pointer and the failing keyword, e.g.
///   JSON schema violation at /age: 'type' expected integer, got string
///   JSON schema violation at (root): 'required' property 'name' is missing
class CHAINPP_API JsonSchema {
public:
  /// Throws InputError when `schema` is not a JSON object.
  explicit JsonSchema(Json schema);
  const Json& schema() const;
  /// The first violation, or nullopt when `value` conforms.
  std::optional<std::string> violation(const Json& value) const;
  /// Throws OutputParserError (llm_output: the value's JSON text) on a violation.
  void validate(const Json& value) const;

private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

/// One-shot forms of JsonSchema (compile `schema`, check `value`).
CHAINPP_API std::optional<std::string> schema_violation(const Json& value, const Json& schema);
CHAINPP_API void validate_json(const Json& value, const Json& schema);

/// JsonOutputParser that also validates the complete value against a JSON
/// Schema; a violation throws OutputParserError (see JsonSchema) with the raw
/// model output. Streamed partial values are not validated, the last one is.
class CHAINPP_API JsonSchemaOutputParser : public JsonOutputParser {
public:
  explicit JsonSchemaOutputParser(Json schema) : schema_(std::move(schema)) {}
  explicit JsonSchemaOutputParser(JsonSchema schema) : schema_(std::move(schema)) {}
  std::string name() const override { return "JsonSchemaOutputParser"; }
  const JsonSchema& schema() const { return schema_; }

protected:
  void check(const Json& value, const std::string& llm_output) const override;

private:
  JsonSchema schema_;
};

}  // namespace chainpp
