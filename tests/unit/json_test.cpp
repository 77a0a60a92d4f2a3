#include <catch2/catch.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/json.hpp>

using chainpp::Json;

TEST_CASE("Json parses and dumps compactly, keeping member order") {
  Json j = Json::parse(R"({"b":1,"a":[true,null,2.5,"x"],"c":{"d":-3}})");
  REQUIRE(j.dump() == R"({"b":1,"a":[true,null,2.5,"x"],"c":{"d":-3}})");
  REQUIRE(j["a"][0].as_bool());
  REQUIRE(j["a"][1].is_null());
  REQUIRE(j["a"][2].as_double() == 2.5);
  REQUIRE(j["c"]["d"].as_int() == -3);
  REQUIRE(j.size() == 3);
}

TEST_CASE("Json builds from initializer lists") {
  Json j{{"type", "object"}, {"n", 3}, {"list", Json::array({1, "two", nullptr})}};
  REQUIRE(j.dump() == R"({"type":"object","n":3,"list":[1,"two",null]})");
}

TEST_CASE("Json compares by value; object member order does not matter") {
  REQUIRE(Json::parse(R"({"a":1,"b":[1,2]})") == Json::parse(R"({"b":[1,2],"a":1})"));
  REQUIRE(Json::parse("[1,2]") != Json::parse("[2,1]"));
  REQUIRE(Json(1) == Json(1.0));
  REQUIRE(Json("1") != Json(1));
}

TEST_CASE("Json equality with a repeated member name: every object equals itself") {
  // An object built in code may repeat a name (parsed text no longer does:
  // the last value wins); found by the stream_chunk fuzzer.
  auto obj = [](chainpp::JsonObject members) { return chainpp::Json(std::move(members)); };
  const Json a = obj({{"x", obj({{"s", "saf"}, {"s", "safe"}})}, {"y", 1}});
  CHECK(a == a);
  CHECK(a == Json(a));
  CHECK(a == obj({{"y", 1}, {"x", obj({{"s", "safe"}, {"s", "saf"}})}}));
  CHECK_FALSE(a == obj({{"x", obj({{"s", "saf"}, {"s", "sa"}})}, {"y", 1}}));
  CHECK_FALSE(a == obj({{"x", obj({{"s", "saf"}, {"t", "safe"}})}, {"y", 1}}));
}

TEST_CASE("Json escapes strings and handles unicode") {
  Json j{{"s", "quote \" backslash \\ newline \n é"}};
  REQUIRE(j.dump() == "{\"s\":\"quote \\\" backslash \\\\ newline \\n é\"}");
  REQUIRE(Json::parse(j.dump()) == j);
  REQUIRE(Json::parse(R"("\u00e9")").as_string() == "é");
}

TEST_CASE("Json errors name the problem") {
  REQUIRE_THROWS_WITH(Json::parse("{\"a\":"), "invalid JSON at offset 5: Invalid value.");
  REQUIRE_THROWS_WITH(Json::parse("[1,2"), "invalid JSON at offset 4: Missing a comma or ']' after an array element.");
  REQUIRE_THROWS_WITH(Json(3).as_string(), "JSON value is integer, expected string");
  REQUIRE_THROWS_WITH(Json::object().at("missing"), "JSON object has no member 'missing'");
  REQUIRE_THROWS_WITH(Json::array({1}).at(std::size_t(3)), "JSON array index 3 out of range (size 1)");
  REQUIRE_THROWS_AS(Json::parse("nope"), chainpp::JsonError);
}

TEST_CASE("Json mutation: set replaces, push_back appends, erase removes") {
  Json j;
  j["a"] = 1;
  j.set("a", 2);
  j.set("b", "x");
  REQUIRE(j.dump() == R"({"a":2,"b":"x"})");
  REQUIRE(j.erase("a"));
  REQUIRE_FALSE(j.erase("a"));
  Json arr;
  arr.push_back(1);
  arr.push_back(Json{{"k", false}});
  REQUIRE(arr.dump() == R"([1,{"k":false}])");
  REQUIRE(j.value("b", "fallback") == "x");
  REQUIRE(j.value("zz", "fallback") == "fallback");
  REQUIRE(j.value("zz", std::int64_t{7}) == 7);
}

TEST_CASE("Json pretty-prints with an indent") {
  REQUIRE(Json{{"a", 1}}.dump(2) == "{\n  \"a\": 1\n}");
}

TEST_CASE("Json keeps large integers exact") {
  REQUIRE(Json::parse("9007199254740993").as_int() == 9007199254740993LL);
  REQUIRE(Json::parse("-1").as_int() == -1);
}

TEST_CASE("json: a repeated key keeps its first place and takes its last value, as JavaScript and Python do") {
  const Json j = Json::parse(R"({"a":1,"b":2,"a":{"x":3},"a":4})");
  CHECK(j.dump() == R"({"a":4,"b":2})");
  // Objects large enough to be indexed behave the same.
  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  big += R"("k3":"last","k39":[1]})";
  const Json b = Json::parse(big);
  CHECK(b.as_object().size() == 40);
  CHECK(b["k3"].as_string() == "last");
  CHECK(b["k39"].dump() == "[1]");
  CHECK(b.as_object()[3].first == "k3");
}
