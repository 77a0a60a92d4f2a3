#pragma once
// The tool calls of an answer, as the service makes them: tool_choice
// honoured ("none", "auto", "required" or a named function), only the tools
// the request declares called, with arguments that validate against the
// tool's parameters schema.
#include "emulator_config.hpp"

#include <chainpp/json.hpp>

#include <string>
#include <vector>

namespace emulator {

// The calls to answer with, empty for a text answer. `scripted` are the
// scripted answer's calls (their arguments expanded); those to tools the
// request does not declare are dropped. When tool_choice is "required" or
// names a function and no scripted call remains, one call is generated (to
// the first declared tool, or the named one) with arguments generated from
// its parameters, id "call_" + `id_suffix`. Throws std::runtime_error (a 500)
// when a scripted call's arguments do not validate against its parameters.
// Whether tool_choice lets any of `scripted` be made (it calls a declared tool,
// the named one if tool_choice names one): else an answer made only of them is passed over.
bool may_call(const chainpp::Json& req, const std::vector<ScriptedToolCall>& scripted);

std::vector<ScriptedToolCall> choose_tool_calls(const chainpp::Json& req, const std::vector<ScriptedToolCall>& scripted,
                                                const std::string& id_suffix);

}  // namespace emulator
