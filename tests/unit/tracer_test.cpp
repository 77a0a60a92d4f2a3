#include "scripted_model.hpp"

#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/tracer.hpp>

#include <cstdio>
#include <fstream>

using namespace chainpp;

TEST_CASE("the tracer writes one valid JSON line per run with parent links and no secret") {
  std::string path = "/tmp/chainpp_tracer_test.jsonl";
  std::remove(path.c_str());
  auto model = std::make_shared<chainpp::test::ScriptedModel>(std::vector<std::string>{"Bonjour"});
  auto prompt = make_lambda("prompt", [](const Value& v) {
    return Value(Messages{HumanMessage(v.as_map().at("input").as_text())});
  });
  auto chain = prompt | model;
  {
    RunConfig config;
    config.callbacks = {std::make_shared<TraceHandler>(path)};
    chain->invoke(Value(ValueMap{{"input", Value("Hello")}, {"api_key", Value("sk-SECRET-123")}}), config);
  }
  std::ifstream in(path);
  std::vector<Json> lines;
  std::string text, all;
  while (std::getline(in, text)) {
    lines.push_back(Json::parse(text));
    all += text;
  }
  REQUIRE(lines.size() == 3);
  // Runs end inner first: prompt, model, then the chain.
  REQUIRE(lines[0]["name"].as_string() == "prompt");
  REQUIRE(lines[1]["run_type"].as_string() == "chat_model");
  REQUIRE(lines[2]["name"].as_string() == "RunnableSequence");
  REQUIRE(lines[2]["parent_id"].is_null());
  REQUIRE(lines[0]["parent_id"] == lines[2]["id"]);
  REQUIRE(lines[1]["parent_id"] == lines[2]["id"]);
  REQUIRE(lines[1]["token_usage"] == Json{{"input_tokens", 31}, {"output_tokens", 8}, {"total_tokens", 39}});
  REQUIRE(lines[1]["outputs"]["content"].as_string() == "Bonjour");
  REQUIRE(lines[2]["inputs"] == Json{{"api_key", "***"}, {"input", "Hello"}});
  REQUIRE(lines[2]["error"].is_null());
  for (const auto& l : lines) {
    for (const char* k : {"id", "parent_id", "name", "run_type", "start_time", "end_time", "inputs", "outputs",
                          "error", "token_usage"})
      REQUIRE(l.contains(k));
  }
  REQUIRE(all.find("sk-SECRET-123") == std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("redact_secrets hides credential-like members and bearer tokens only") {
  Json in{{"api_key", "k"},         {"azure_ad_token", "t"},      {"headers", Json{{"api-key", "k2"}, {"Authorization", "Bearer x"}}},
          {"max_tokens", 10},       {"token_usage", Json{{"total_tokens", 3}}}, {"note", "Bearer abc"}};
  REQUIRE(redact_secrets(in).dump() ==
          R"({"api_key":"***","azure_ad_token":"***","headers":{"api-key":"***","Authorization":"***"},)"
          R"("max_tokens":10,"token_usage":{"total_tokens":3},"note":"Bearer ***"})");
}

TEST_CASE("a trace file that cannot be opened is a configuration error naming it") {
  REQUIRE_THROWS_WITH(TraceHandler("/nonexistent-dir/t.jsonl"),
                      "trace file '/nonexistent-dir/t.jsonl' cannot be opened for writing");
}
