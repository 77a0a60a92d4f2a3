#pragma once
// The emulator's configuration: deployments, credentials and scripted answers.
#include "identity.hpp"

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace emulator {

struct ScriptedToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

struct ScriptedUsage {
  std::optional<long> prompt_tokens;
  std::optional<long> completion_tokens;
  std::optional<long> cached_tokens;
  std::optional<long> reasoning_tokens;
};

struct Answer {
  // Conditions; all present ones must hold.
  std::optional<std::string> match;
  std::optional<std::regex> regex;
  std::optional<std::string> system_contains;
  std::optional<std::string> deployment;
  // What to answer.
  std::optional<std::string> content;
  std::optional<std::string> json;
  std::vector<ScriptedToolCall> tool_calls;
  std::optional<std::string> finish_reason;
  ScriptedUsage usage;
  std::optional<std::string> filter_prompt;
  std::optional<std::string> filter_completion;
};

struct Deployment {
  std::string name;
  std::string model;
  std::string version;
  std::optional<std::string> system_fingerprint;
  // The "model" of its answers; default as Azure names them: model-version for
  // dated versions ("gpt-4o-2024-08-06"), the base name otherwise ("gpt-35-turbo" of "0125").
  std::optional<std::string> model_name;
  std::string fault;
  std::optional<std::string> retry_after;     // header value; default "1"
  std::optional<std::string> retry_after_ms;  // header value; default "10"
  bool async_filter = false;
  // Whether it is a reasoning (o-series) model: "o" and a digit ("o1", "o3-mini").
  // Whether it is an older model (gpt-35-turbo, gpt-4): answers without token details,
  // jailbreak or protected-material annotations, as Azure sent them.
  bool legacy() const { return model.rfind("gpt-35", 0) == 0 || model == "gpt-4" || model.rfind("gpt-4-", 0) == 0; }
  bool reasoning() const { return model.size() > 1 && model[0] == 'o' && model[1] >= '0' && model[1] <= '9'; }  // stream filter results in separate annotation chunks, as Azure's asynchronous filter does
};

struct Config {
  std::vector<std::string> api_keys;
  std::string region = "East US";
  std::map<std::string, Deployment> deployments;
  std::vector<Answer> answers;
  std::vector<Answer> cycle;
  IdentityConfig identity;
};

/// Parses YAML text; throws std::runtime_error with "file:line:col: message".
Config parse_config(const std::string& yaml, const std::string& source);
Config load_config(const std::string& path);

}  // namespace emulator
