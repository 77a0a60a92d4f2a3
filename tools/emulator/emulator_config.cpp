#include "emulator_config.hpp"

#include <chainpp/json.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace emulator {

namespace {

[[noreturn]] void fail(const std::string& source, const YAML::Node& node, const std::string& message) {
  const auto m = node.Mark();
  throw std::runtime_error(source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " +
                           message);
}

std::optional<std::string> opt_string(const YAML::Node& n, const char* key) {
  if (auto v = n[key]; v && !v.IsNull()) return v.as<std::string>();
  return std::nullopt;
}

std::optional<long> opt_long(const YAML::Node& n, const char* key) {
  if (auto v = n[key]; v && !v.IsNull()) return v.as<long>();
  return std::nullopt;
}

// A YAML value as JSON: plain scalars that read as numbers, booleans or null keep that type.
chainpp::Json to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    chainpp::Json out = chainpp::Json::object();
    for (const auto& kv : n) out.set(kv.first.as<std::string>(), to_json(kv.second));
    return out;
  }
  if (n.IsSequence()) {
    chainpp::Json out = chainpp::Json::array();
    for (const auto& item : n) out.push_back(to_json(item));
    return out;
  }
  if (n.IsNull()) return chainpp::Json();
  const std::string text = n.as<std::string>();
  if (n.Tag() == "!") return chainpp::Json(text);  // quoted in the YAML
  if (text == "true" || text == "false") return chainpp::Json(text == "true");
  if (text == "null" || text == "~") return chainpp::Json();
  char* end = nullptr;
  const long long i = std::strtoll(text.c_str(), &end, 10);
  if (!text.empty() && *end == '\0') return chainpp::Json(i);
  const double d = std::strtod(text.c_str(), &end);
  if (!text.empty() && *end == '\0') return chainpp::Json(d);
  return chainpp::Json(text);
}

Answer parse_answer(const YAML::Node& n, const std::string& source) {
  if (!n.IsMap()) fail(source, n, "an answer must be a map");
  static const char* known[] = {"match", "regex", "system_contains", "deployment", "content", "json", "tool_calls",
                                "finish_reason", "usage", "filter_prompt", "filter_completion"};
  for (const auto& kv : n) {
    const auto key = kv.first.as<std::string>();
    if (std::find(std::begin(known), std::end(known), key) == std::end(known))
      fail(source, kv.first, "unknown answer key '" + key + "'");
  }
  Answer a;
  a.match = opt_string(n, "match");
  if (auto r = opt_string(n, "regex")) {
    try {
      a.regex.emplace(*r, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      fail(source, n["regex"], std::string("invalid regex: ") + e.what());
    }
  }
  a.system_contains = opt_string(n, "system_contains");
  a.deployment = opt_string(n, "deployment");
  a.content = opt_string(n, "content");
  if (auto j = n["json"]; j && !j.IsNull()) a.json = j.IsScalar() ? j.as<std::string>() : to_json(j).dump();
  a.finish_reason = opt_string(n, "finish_reason");
  a.filter_prompt = opt_string(n, "filter_prompt");
  a.filter_completion = opt_string(n, "filter_completion");
  if (auto tc = n["tool_calls"]) {
    if (!tc.IsSequence()) fail(source, tc, "tool_calls must be a list");
    int i = 0;
    for (const auto& t : tc) {
      ScriptedToolCall call;
      call.id = opt_string(t, "id").value_or("call_emulator_" + std::to_string(i));
      if (!t["name"]) fail(source, t, "a tool call needs a name");
      call.name = t["name"].as<std::string>();
      call.arguments = opt_string(t, "arguments").value_or("{}");
      a.tool_calls.push_back(std::move(call));
      ++i;
    }
  }
  if (auto u = n["usage"]) {
    a.usage.prompt_tokens = opt_long(u, "prompt_tokens");
    a.usage.completion_tokens = opt_long(u, "completion_tokens");
    a.usage.cached_tokens = opt_long(u, "cached_tokens");
    a.usage.reasoning_tokens = opt_long(u, "reasoning_tokens");
  }
  return a;
}

}  // namespace

Config parse_config(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                             std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  Config c;
  try {
    if (auto keys = root["api_keys"]) {
      for (const auto& k : keys) c.api_keys.push_back(k.as<std::string>());
    }
    if (auto r = opt_string(root, "region")) c.region = *r;
    if (auto deps = root["deployments"]) {
      if (!deps.IsMap()) fail(source, deps, "deployments must be a map of name -> {model, version}");
      for (const auto& kv : deps) {
        Deployment d;
        d.name = kv.first.as<std::string>();
        const auto& v = kv.second;
        if (!v.IsMap() || !v["model"]) fail(source, v, "deployment '" + d.name + "' needs a model");
        d.model = v["model"].as<std::string>();
        d.version = opt_string(v, "version").value_or("");
        d.system_fingerprint = opt_string(v, "system_fingerprint");
        d.model_name = opt_string(v, "model_name");
        d.fault = opt_string(v, "fault").value_or("");
        d.retry_after = opt_string(v, "retry_after");
        d.retry_after_ms = opt_string(v, "retry_after_ms");
        if (auto af = v["async_filter"]) d.async_filter = af.as<bool>();
        c.deployments[d.name] = std::move(d);
      }
    }
    if (auto answers = root["answers"]) {
      for (const auto& a : answers) c.answers.push_back(parse_answer(a, source));
    }
    if (auto identity = root["identity"]) c.identity = parse_identity(identity, source);
    if (auto cycle = root["cycle"]) {
      for (const auto& a : cycle) c.cycle.push_back(parse_answer(a, source));
    }
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                             std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace emulator
