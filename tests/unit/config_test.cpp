#include <chainpp/config.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>

using chainpp::ConfigError;
using chainpp::ConfigNode;
using chainpp::Json;
using chainpp::SourceLocation;

TEST_CASE("config: typed getters and locations") {
  auto root = ConfigNode::parse_yaml(
      "models:\n"
      "  translator:\n"
      "    provider: fake\n"
      "    temperature: 0.5\n"
      "    max_tokens: 100\n"
      "    streaming: true\n"
      "    stop: [a, b]\n",
      "app.yaml");
  const auto& m = root.at("models").at("translator");
  CHECK(m.get_string("provider") == "fake");
  CHECK(m.get_double("temperature") == 0.5);
  CHECK(m.get_int("max_tokens") == 100);
  CHECK(m.get_bool("streaming"));
  CHECK(m.get_string_list("stop") == std::vector<std::string>{"a", "b"});
  CHECK(m.find_double("top_p") == std::nullopt);
  CHECK(m.get_double("top_p", 1.0) == 1.0);
  CHECK(m.keys() == std::vector<std::string>{"provider", "temperature", "max_tokens", "streaming", "stop"});
  CHECK(m.at("temperature").location() == SourceLocation{"app.yaml", 4, 18});
  CHECK(m.key_location("temperature") == SourceLocation{"app.yaml", 4, 5});
  CHECK(m.at("temperature").path() == "models.translator.temperature");
  CHECK(m.at("stop").items()[1].path() == "models.translator.stop[1]");
  CHECK(m.at("stop").items()[1].location().to_string() == "app.yaml:7:15");
}

TEST_CASE("config: type errors are located and never print the value") {
  auto root = ConfigNode::parse_yaml("temperature: hot\nn: 1.5\nflag: yes\nname: {a: 1}\n", "app.yaml");
  REQUIRE_THROWS_WITH(root.get_double("temperature"), "app.yaml:1:14: temperature must be a number");
  REQUIRE_THROWS_WITH(root.get_int("n"), "app.yaml:2:4: n must be an integer");
  REQUIRE_THROWS_WITH(root.get_bool("flag"), "app.yaml:3:7: flag must be true or false");
  REQUIRE_THROWS_WITH(root.get_string("name"), "app.yaml:4:7: name must be a string");
  REQUIRE_THROWS_WITH(root.get_string("missing"), "app.yaml:1:1: missing required key 'missing'");
  REQUIRE_THROWS_AS(root.get_double("temperature"), ConfigError);
}

TEST_CASE("config: quoted scalars stay strings") {
  auto root = ConfigNode::parse_yaml("a: \"1\"\nb: 1\nc: 'true'\n", "q.yaml");
  CHECK(root.get_string("a") == "1");
  REQUIRE_THROWS_WITH(root.get_int("a"), "q.yaml:1:4: a must be an integer");
  CHECK(root.get_int("b") == 1);
  CHECK(root.to_json() == Json{{"a", "1"}, {"b", 1}, {"c", "true"}});
}

TEST_CASE("config: unknown keys suggest the closest valid one") {
  auto root = ConfigNode::parse_yaml("models:\n  t:\n    provider: fake\n    temprature: 0\n", "app.yaml");
  const auto& m = root.at("models").at("t");
  REQUIRE_THROWS_WITH(m.check_keys({"provider", "temperature", "max_tokens"}),
                      "app.yaml:4:5: unknown key 'temprature' in models.t (did you mean 'temperature'?)");
  REQUIRE_THROWS_WITH(m.check_keys({"provider", "zzz"}),
                      "app.yaml:4:5: unknown key 'temprature' in models.t (valid keys: provider, zzz)");
  CHECK_NOTHROW(m.check_keys({"provider", "temprature"}));
  CHECK(chainpp::closest_match("modle", {"model", "prompt"}) == "model");
  CHECK(chainpp::closest_match("xyz", {"model", "prompt"}).empty());
}

TEST_CASE("config: environment variables are expanded") {
  ::setenv("CHAINPP_TEST_DEPLOYMENT", "gpt-35-turbo", 1);
  ::setenv("CHAINPP_TEST_SECRET", "sk-very-secret", 1);
  ::unsetenv("CHAINPP_TEST_UNSET");
  auto root = ConfigNode::parse_yaml(
      "deployment: ${CHAINPP_TEST_DEPLOYMENT}\n"
      "url: https://${CHAINPP_TEST_UNSET:-example}.openai.azure.com/\n"
      "literal: $${NOT_EXPANDED}\n"
      "plain: cost $5\n",
      "env.yaml");
  CHECK(root.get_string("deployment") == "gpt-35-turbo");
  CHECK(root.get_string("url") == "https://example.openai.azure.com/");
  CHECK(root.get_string("literal") == "${NOT_EXPANDED}");
  CHECK(root.get_string("plain") == "cost $5");

  REQUIRE_THROWS_WITH(ConfigNode::parse_yaml("api_key: ${CHAINPP_TEST_SECRET}\nx: ${CHAINPP_TEST_UNSET}\n", "env.yaml"),
                      "env.yaml:2:4: environment variable 'CHAINPP_TEST_UNSET' is not set");
  REQUIRE_THROWS_WITH(ConfigNode::parse_yaml("x: ${CHAINPP_TEST_UNSET\n", "env.yaml"),
                      "env.yaml:1:4: unterminated '${' in value");
  // A secret from the environment never appears in a type error.
  auto secret = ConfigNode::parse_yaml("temperature: ${CHAINPP_TEST_SECRET}\n", "env.yaml");
  REQUIRE_THROWS_WITH(secret.get_double("temperature"), "env.yaml:1:14: temperature must be a number");
}

TEST_CASE("config: YAML syntax errors and duplicate keys are located") {
  REQUIRE_THROWS_WITH(ConfigNode::parse_yaml("a: [1, 2\nb: 3\n", "bad.yaml"),
                      Catch::Matchers::StartsWith("bad.yaml:"));
  REQUIRE_THROWS_WITH(ConfigNode::parse_yaml("a: 1\nb: 2\na: 3\n", "dup.yaml"),
                      "dup.yaml:3:1: duplicate key 'a' (first defined at line 1)");
  REQUIRE_THROWS_WITH(ConfigNode::load_file("/nonexistent/app.yaml"),
                      "/nonexistent/app.yaml: cannot open configuration file");
  REQUIRE_THROWS_WITH(ConfigNode::load_file("/"), "/: is a directory, not a configuration file");
}

TEST_CASE("config: sub-trees convert to JSON") {
  auto root = ConfigNode::parse_yaml(
      "response_format:\n"
      "  type: json_schema\n"
      "  strict: true\n"
      "  n: 3\n"
      "  x: 0.25\n"
      "  none: ~\n"
      "  list: [a, 1, false]\n",
      "j.yaml");
  CHECK(root.at("response_format").to_json().dump() ==
        R"({"type":"json_schema","strict":true,"n":3,"x":0.25,"none":null,"list":["a",1,false]})");
}

TEST_CASE("config: built from JSON in code") {
  auto node = ConfigNode::from_json(Json{{"provider", "fake"}, {"temperature", 0.5}, {"n", 2}, {"echo", true},
                                         {"responses", Json::array({"hi", "there"})}});
  CHECK(node.get_string("provider") == "fake");
  CHECK(node.get_double("temperature") == 0.5);
  CHECK(node.get_int("n") == 2);
  CHECK(node.get_bool("echo"));
  CHECK(node.get_string_list("responses") == std::vector<std::string>{"hi", "there"});
  CHECK(node.location().to_string() == "<code>");
  REQUIRE_THROWS_WITH(node.get_int("provider"), "<code>: provider must be an integer");
  REQUIRE_THROWS_WITH(node.check_keys({"provider"}),
                      "<code>: unknown key 'temperature' (valid keys: provider)");
  CHECK(node.to_json() == Json{{"provider", "fake"}, {"temperature", 0.5}, {"n", 2}, {"echo", true},
                               {"responses", Json::array({"hi", "there"})}});
}

TEST_CASE("config: overlay lays settings on a loaded file, each keeping its location") {
  auto base = ConfigNode::parse_yaml("models:\n  x:\n    provider: fake\n    temperature: 1\n  y: {provider: fake}\n",
                                     "app.yaml");
  auto over = ConfigNode::from_json(Json{{"models", Json{{"x", Json{{"temperature", 0}, {"echo", true}}}}}}, "-o");
  ConfigNode merged = overlay(base, over);
  CHECK(merged.at("models").keys() == std::vector<std::string>{"x", "y"});
  const ConfigNode& x = merged.at("models").at("x");
  CHECK(x.keys() == std::vector<std::string>{"provider", "temperature", "echo"});
  CHECK(x.location().to_string() == "app.yaml:3:5");
  CHECK(x.at("provider").location().to_string() == "app.yaml:3:15");
  CHECK(x.get_double("temperature") == 0);
  CHECK(x.at("temperature").location().to_string() == "-o");
  CHECK(x.at("echo").path() == "models.x.echo");
  REQUIRE_THROWS_WITH(x.check_keys({"provider", "temperature"}), "-o: unknown key 'echo' in models.x (valid keys: "
                                                                   "provider, temperature)");
  CHECK(overlay(base.at("models").at("y"), ConfigNode::from_json(Json("z"))).as_string() == "z");
}

TEST_CASE("config: hostile input is refused, not expanded") {
  std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'h'; ++c, ++prev)
    laughs += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" +
              prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  REQUIRE_THROWS_WITH(ConfigNode::parse_yaml(laughs, "laughs.yaml"),
                      Catch::Matchers::EndsWith("the configuration has more than 1000000 values (aliases repeating a "
                                                "subtree?)"));
  std::string deep(300, '[');
  deep += std::string(300, ']');
  REQUIRE_THROWS_WITH(ConfigNode::parse_yaml(deep, "deep.yaml"),
                      Catch::Matchers::EndsWith("the configuration is nested more than 200 levels deep"));
}
