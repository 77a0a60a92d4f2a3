// Loads real plugin libraries built in the tree: the fake plugin, a working
// test plugin, and deliberately broken ones, asserting each error's text.
#include <chainpp/app.hpp>
#include <chainpp/registry.hpp>

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using namespace chainpp;

namespace {

std::string canonical(const std::string& p) { return fs::weakly_canonical(p).string(); }
const std::string plugin_dir = canonical(CHAINPP_PLUGIN_DIR);
const std::string test_dir = canonical(CHAINPP_TEST_PLUGIN_DIR);
std::string fake_path() { return plugin_dir + "/libchainpp_fake.so"; }
std::string test_path(const std::string& name) { return test_dir + "/libchainpp_" + name + ".so"; }

bool is_loaded(const std::string& path) {
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!h) return false;
  dlclose(h);
  return true;
}

std::string write_temp(const std::string& name, const std::string& text) {
  // One directory per process: ctest may run test cases in parallel.
  static const fs::path dir = fs::temp_directory_path() / ("chainpp_plugin_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

// Removes this process's directory at exit.
struct RemoveAtExit {
  ~RemoveAtExit() {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("chainpp_plugin_test." + std::to_string(::getpid())), ec);
  }
} remove_at_exit;

}  // namespace

TEST_CASE("registry: loads the fake plugin and creates a model") {
  PluginRegistry registry;
  PluginInfo info = registry.load("fake", {test_dir, plugin_dir});
  CHECK(info.name == "fake");
  CHECK(info.version == "0.1.0");
  CHECK(info.path == fake_path());
  CHECK(info.abi_version == 3);
  CHECK(info.providers == std::vector<std::string>{"fake"});
  CHECK(registry.providers() == std::vector<std::string>{"fake"});
  CHECK(registry.load_file(fake_path()) == info);  // loading twice is a no-op
  CHECK(registry.plugins().size() == 1);

  auto model = registry.create("fake", ConfigNode::from_json(Json{{"provider", "fake"},
                                                                   {"responses", Json::array({"one", "two"})}}));
  CHECK(model->provider() == "fake");
  CHECK(model->invoke(Messages{HumanMessage("hi")}).text() == "one");
  CHECK(model->invoke(Messages{HumanMessage("hi")}).text() == "two");
  CHECK(model->invoke(Messages{HumanMessage("hi")}).text() == "one");
}

TEST_CASE("registry: file not found lists the paths searched") {
  PluginRegistry registry;
  REQUIRE_THROWS_WITH(registry.load("nope", {"/nonexistent/a", "/nonexistent/b"}),
                      "plugin 'nope' not found: no libchainpp_nope.so in /nonexistent/a, /nonexistent/b");
  REQUIRE_THROWS_WITH(registry.load("nope", {}),
                      "plugin 'nope' not found: no plugin directories to search (set plugins.paths or "
                      "CHAINPP_PLUGIN_PATH)");
  REQUIRE_THROWS_WITH(registry.load_file("/nonexistent/libchainpp_x.so"),
                      "plugin file not found: /nonexistent/libchainpp_x.so");
  REQUIRE_THROWS_WITH(registry.load_file("libchainpp_x.so"),
                      "relative plugin path 'libchainpp_x.so' needs a base directory");
  REQUIRE_THROWS_AS(registry.load("nope", {}), PluginError);
}

TEST_CASE("registry: a library without the entry symbol is not a chainpp plugin") {
  PluginRegistry registry;
  REQUIRE_THROWS_WITH(registry.load_file(test_path("test_noentry")),
                      test_path("test_noentry") + ": not a chainpp plugin (no 'chainpp_plugin_v1' entry symbol)");
}

TEST_CASE("registry: an ABI mismatch names both versions") {
  PluginRegistry registry;
  REQUIRE_THROWS_WITH(registry.load_file(test_path("test_abi")),
                      test_path("test_abi") +
                          ": plugin 'test_abi' was built for chainpp ABI version 999, but this core has ABI version 3");
  REQUIRE_THROWS_WITH(registry.load_file(test_path("test_abi_descriptor")),
                      test_path("test_abi_descriptor") +
                          ": plugin 'test_abi_descriptor' was built for chainpp ABI version 4, but this core has ABI "
                          "version 3");
  CHECK(registry.plugins().empty());
}

TEST_CASE("registry: two plugins claiming one provider name") {
  PluginRegistry registry;
  registry.load_file(fake_path());
  REQUIRE_THROWS_WITH(registry.load_file(test_path("test_dup")),
                      "provider 'fake' is provided by two plugins: " + fake_path() + " and " +
                          test_path("test_dup"));
  CHECK(registry.plugins().size() == 1);
}

TEST_CASE("registry: an unresolved symbol fails at load time, naming it") {
  PluginRegistry registry;
  REQUIRE_THROWS_WITH(registry.load_file(test_path("test_undefined")),
                      "cannot load plugin " + test_path("test_undefined") +
                          ": undefined symbol: chainpp_test_missing_symbol");
}

TEST_CASE("registry: an unknown provider lists the available ones, sorted") {
  PluginRegistry registry;
  REQUIRE_THROWS_WITH(registry.create("nope", ConfigNode()), "unknown provider 'nope'; available providers: (none loaded)");
  registry.load_file(test_path("test_upper"));
  registry.load_file(fake_path());
  REQUIRE_THROWS_WITH(registry.create("nope", ConfigNode()), "unknown provider 'nope'; available providers: fake, upper");
}

TEST_CASE("registry: a provider rejects an unknown key with a suggestion") {
  PluginRegistry registry;
  registry.load_file(fake_path());
  auto config = ConfigNode::parse_yaml("provider: fake\nresponse: [hi]\n", "m.yaml");
  REQUIRE_THROWS_WITH(registry.create("fake", config),
                      "m.yaml:2:1: unknown key 'response' (did you mean 'responses'?)");
}

TEST_CASE("registry: a model keeps its library loaded; the library unloads after") {
  const std::string path = test_path("test_upper");
  REQUIRE_FALSE(is_loaded(path));
  std::shared_ptr<ChatModel> model;
  {
    PluginRegistry registry;
    registry.load_file(path);
    CHECK(is_loaded(path));
    model = registry.create("upper", ConfigNode::from_json(Json{{"provider", "upper"}, {"prefix", "> "}}));
  }
  // The registry is gone; the model's code must still be there.
  CHECK(is_loaded(path));
  CHECK(model->invoke(Messages{HumanMessage("still here")}).text() == "> STILL HERE");
  model.reset();
  // Built with -fno-gnu-unique, the plugin really unloads with its last model.
  CHECK_FALSE(is_loaded(path));
}

TEST_CASE("registry: a copy made by bind() keeps the library loaded after the original is gone") {
  const std::string path = test_path("test_upper");
  std::shared_ptr<const ChatModel> bound;
  {
    PluginRegistry registry;
    registry.load_file(path);
    auto model = registry.create("upper", ConfigNode::from_json(Json{{"provider", "upper"}, {"prefix", "> "}}));
    CallOptions o;
    o.temperature = 0.0;
    bound = model->bind(o)->with_rate_limiter(std::make_shared<RateLimiter>(1000.0, 5.0));
  }
  CHECK(is_loaded(path));
  CHECK(bound->invoke(Messages{HumanMessage("bound")}).text() == "> BOUND");
  bound.reset();
  CHECK_FALSE(is_loaded(path));
}

TEST_CASE("registry: a model still owned elsewhere pins its library") {
  const std::string path = test_path("test_upper");
  RunnablePtr configured;
  {
    PluginRegistry registry;
    registry.load_file(path);
    auto model = registry.create("upper", ConfigNode::from_json(Json{{"provider", "upper"}}));
    configured = model->with_config({});  // holds the model through weak_from_this()
  }
  CHECK(configured->invoke(Value("pinned")).as_message().text() == "PINNED");
  configured.reset();
  CHECK(is_loaded(path));  // pinned until exit: never unloaded under a live object
}

TEST_CASE("registry: the same pipeline runs on another plugin by changing the provider only") {
  const std::string pipeline =
      "prompts:\n"
      "  p: {messages: [[human, \"say {word}\"]]}\n"
      "pipelines:\n"
      "  main: {steps: [{prompt: p}, {model: m}, {parser: str}]}\n";
  auto on_fake = write_temp("swap_fake.yaml",
                            "plugins: {paths: [" + plugin_dir + "], load: [fake]}\n"
                            "models:\n  m: {provider: fake, echo: true}\n" + pipeline);
  auto on_upper = write_temp("swap_upper.yaml",
                             "plugins: {paths: [" + test_dir + "], load: [test_upper]}\n"
                             "models:\n  m: {provider: upper}\n" + pipeline);
  ValueMap input{{"word", "hello"}};
  CHECK(load_app(on_fake).pipeline("main")->invoke(input).as_text() == "say hello");
  CHECK(load_app(on_upper).pipeline("main")->invoke(input).as_text() == "SAY HELLO");
}

TEST_CASE("registry: configuration errors from plugins are located") {
  AppOptions options;
  options.use_default_plugin_dirs = false;
  auto unknown = write_temp("unknown_provider.yaml",
                            "plugins: {paths: [" + plugin_dir + "], load: [fake]}\n"
                            "models:\n  m: {provider: fake, echo: true}\n  n: {provider: nope}\n");
  REQUIRE_THROWS_WITH(load_app(unknown, options),
                      unknown + ":4:17: unknown provider 'nope'; available providers: fake");
  auto missing = write_temp("missing_plugin.yaml", "plugins: {paths: [/nonexistent], load: [nope]}\n");
  REQUIRE_THROWS_WITH(load_app(missing, options),
                      missing + ":1:41: plugin 'nope' not found: no libchainpp_nope.so in /nonexistent");
  auto abi = write_temp("abi.yaml", "plugins: {load: [" + test_path("test_abi") + "]}\n");
  REQUIRE_THROWS_WITH(load_app(abi, options),
                      abi + ":1:18: " + test_path("test_abi") +
                          ": plugin 'test_abi' was built for chainpp ABI version 999, but this core has ABI version 3");
}

TEST_CASE("registry: loading and creating from many threads") {
  PluginRegistry registry;
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      registry.load_file(i % 2 ? fake_path() : test_path("test_upper"));
      registry.load_file(i % 2 ? test_path("test_upper") : fake_path());
      auto model = registry.create("upper", ConfigNode::from_json(Json{{"provider", "upper"}}));
      results[static_cast<std::size_t>(i)] = model->invoke(Messages{HumanMessage("t" + std::to_string(i))}).text();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) CHECK(results[static_cast<std::size_t>(i)] == "T" + std::to_string(i));
  CHECK(registry.plugins().size() == 2);
}
