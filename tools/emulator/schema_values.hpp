#pragma once
// JSON Schema for the emulator's answers: a value generated to validate
// against a schema (for json_schema answers and tool-call arguments nobody
// scripted), and the check of a value against a schema (RapidJSON's validator).
#include <chainpp/json.hpp>

#include <string>

namespace emulator {

// A value that validates against `schema`, for every feature Azure's strict
// structured outputs accept: type (and type lists), properties with required,
// additionalProperties, items with minItems/maxItems, enum, const, anyOf,
// oneOf, allOf, $ref into $defs/definitions (recursion ends at the first
// branch that does not recurse), string formats, minLength, and numeric bounds.
// A nullable member gets a non-null value. Throws std::runtime_error for a
// schema it cannot satisfy (an unresolvable $ref, a recursion without an exit).
chainpp::Json schema_instance(const chainpp::Json& schema);

// "" when `value` validates against `schema`; else where and why it does not
// ("#/reach: anyOf at #/properties/reach"). Throws std::runtime_error when the
// schema is not a valid schema document.
std::string schema_violation(const chainpp::Json& schema, const chainpp::Json& value);

}  // namespace emulator
