// The model profile table (configs/model_profiles.yaml): how a model name
// finds its entry, the bundled table's families, and the located errors of
// a malformed table.
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/data_files.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/model_profiles.hpp>

#include <fstream>
#include <string>
#include <vector>

using namespace chainpp;

namespace {

const chainpp::test::TempDir work("chainpp_model_profiles_test");
const std::string kTable = CHAINPP_SOURCE_DIR "/configs/model_profiles.yaml";

// The error loading a table with `text` gives (file name "<dir>/p.yaml" shown as "p.yaml").
std::string table_error(const std::string& text) {
  const std::string path = work.path("p.yaml");
  std::ofstream(path) << text;
  try {
    ModelProfiles::load(path);
  } catch (const ConfigError& e) {
    std::string m = e.what();
    return m.rfind(path, 0) == 0 ? "p.yaml" + m.substr(path.size()) : m;
  }
  return "";
}

// The name of the entry `model` gets in the shipped table, "" when none.
std::string entry_of(const std::string& model) {
  static const ModelProfiles table = ModelProfiles::load(kTable);
  auto p = table.find(model);
  return p ? p->name : "";
}

}  // namespace

TEST_CASE("model profiles: the bundled table is the shipped one, found with no setting") {
  REQUIRE(bundled_data_file("model_profiles.yaml") != "");
  std::ifstream bundled(bundled_data_file("model_profiles.yaml")), shipped(kTable);
  CHECK(std::string(std::istreambuf_iterator<char>(bundled), {}) ==
        std::string(std::istreambuf_iterator<char>(shipped), {}));
  CHECK(ModelProfiles::load_bundled().size() == ModelProfiles::load(kTable).size());
}

TEST_CASE("model profiles: a model gets the entry of the longest name that covers it") {
  CHECK(entry_of("gpt-4o") == "gpt-4o");
  CHECK(entry_of("gpt-4o-2024-08-06") == "gpt-4o");
  CHECK(entry_of("gpt-4o-2024-11-20") == "gpt-4o");
  CHECK(entry_of("gpt-4o-2024-05-13") == "gpt-4o-2024-05-13");
  CHECK(entry_of("gpt-4o-mini-2024-07-18") == "gpt-4o-mini");
  CHECK(entry_of("gpt-35-turbo-0613.ft-abc") == "gpt-35-turbo-0613");
  CHECK(entry_of("gpt-35-turbo-1106") == "gpt-35-turbo");
  CHECK(entry_of("gpt-4-0613") == "gpt-4");
  CHECK(entry_of("gpt-4-32k-0613") == "gpt-4-32k");
  CHECK(entry_of("gpt-4-turbo-2024-04-09") == "gpt-4-turbo");
  CHECK(entry_of("gpt-4.1-mini-2025-04-14") == "gpt-4.1-mini");
  CHECK(entry_of("o1-mini-2024-09-12") == "o1-mini");
  CHECK(entry_of("o1-2024-12-17") == "o1");
  CHECK(entry_of("gpt-5-chat-latest") == "gpt-5-chat-latest");
  CHECK(entry_of("gpt-5-2025-08-07") == "gpt-5");
  // Not variants: another character follows the name, or the name is longer than the model.
  CHECK(entry_of("gpt-4o3") == "");
  CHECK(entry_of("gpt-4.5-preview") == "");
  CHECK(entry_of("gpt-5.1") == "");
  CHECK(entry_of("o") == "");
  CHECK(entry_of("gpt-4o-") == "");
  CHECK(entry_of("my-model") == "");
}

TEST_CASE("model profiles: json_schema support by family in the shipped table") {
  const ModelProfiles table = ModelProfiles::load(kTable);
  auto json_schema = [&](const std::string& model) { return table.find(model).value().json_schema.value(); };
  for (const char* no : {"gpt-35-turbo", "gpt-3.5-turbo-0125", "gpt-35-turbo-16k-0613", "gpt-4", "gpt-4-0314",
                         "gpt-4-32k-0613", "gpt-4-turbo", "gpt-4-1106-Preview", "gpt-4o-2024-05-13", "o1-mini",
                         "o1-preview"}) {
    INFO(no);
    CHECK_FALSE(json_schema(no));
  }
  for (const char* yes : {"gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-nano",
                          "o1", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-chat-latest"}) {
    INFO(yes);
    CHECK(json_schema(yes));
  }
  CHECK(table.find("o3").value().temperature == false);
  CHECK(table.find("gpt-5-nano").value().reasoning_effort ==
        std::vector<std::string>{"minimal", "low", "medium", "high"});
  CHECK(table.find("o1-pro").value().responses_api_only == true);
  CHECK(table.find("gpt-4.1").value().context_tokens == 1047576);
  CHECK(table.find("gpt-4.1").value().output_tokens == 32768);
  CHECK(table.find("gpt-4o").value().location.to_string().rfind(kTable + ":", 0) == 0);
}

TEST_CASE("model profiles: a malformed table is refused with file:line:col") {
  struct Row {
    std::string text;
    std::string error;
  };
  const std::vector<Row> rows = {
      {"profiles:\n  - names: [m]\n    json_shema: true\n",
       "p.yaml:3:5: unknown key 'json_shema' in profiles[0] (did you mean 'json_schema'?)"},
      {"profiles:\n  - names: [m]\n    json_schema: 3\n",
       "p.yaml:3:18: profiles[0].json_schema must be true or false"},
      {"profiles:\n  - names: [m]\n    context_tokens: many\n",
       "p.yaml:3:21: profiles[0].context_tokens must be an integer"},
      {"profiles:\n  - names: [m]\n    output_tokens: 0\n",
       "p.yaml:3:20: 'output_tokens' must be a number of tokens, at least 1"},
      {"profiles:\n  - names: [m]\n    reasoning_effort: [low, extreme]\n",
       "p.yaml:3:29: unknown reasoning_effort 'extreme' (expected none, minimal, low, medium, high)"},
      {"profiles:\n  - names: [m]\n    reasoning_effort: low\n",
       "p.yaml:3:23: profiles[0].reasoning_effort must be a list"},
      {"profiles:\n  - names: [a, m]\n  - names: [m]\n",
       "p.yaml:3:13: model 'm' is listed twice (first at " + work.path("p.yaml") + ":2:16)"},
      {"profiles:\n  - {json_schema: true}\n",
       "p.yaml:2:5: missing required key 'names' in profiles[0]"},
      {"profiles:\n  - names: []\n",
       "p.yaml:2:12: 'names' must list at least one model name"},
      {"profiles:\n  - gpt-4o\n",
       "p.yaml:2:5: profiles[0] must be a map with 'names' and what the models accept"},
      {"profiles: {gpt-4o: {}}\n",
       "p.yaml:1:11: 'profiles' must be a list of entries with 'names'"},
      {"models: []\n",
       "p.yaml:1:1: unknown key 'models' (valid keys: profiles, variants)"},
      {"variants: [\"-\", \"\"]\nprofiles: []\n",
       "p.yaml:1:17: a variant separator cannot be empty"},
  };
  for (const Row& row : rows) {
    INFO(row.text);
    CHECK(table_error(row.text) == row.error);
  }
}

TEST_CASE("model profiles: variants are data") {
  const std::string path = work.path("variants.yaml");
  std::ofstream(path) << "variants: [\"@\"]\nprofiles:\n  - names: [m]\n    tools: false\n";
  const ModelProfiles table = ModelProfiles::load(path);
  CHECK(table.find("m@2").value().name == "m");
  CHECK(table.find("m@2").value().tools == false);
  CHECK(table.find("m@2").value().json_schema == std::nullopt);
  CHECK(table.find("m-2") == std::nullopt);
}
