// Plugin trust: files or directories other users can write are refused (as
// ssh refuses loose permissions) unless allowed; a sha256 pin refuses a file
// with another digest. Each refusal happens before the library is loaded.
#include "run_command.hpp"

#include <catch2/catch.hpp>
#include <chainpp/app.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/registry.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

using namespace chainpp;
namespace fs = std::filesystem;

namespace {

struct TempPluginDir {
  fs::path dir = fs::temp_directory_path() / ("chainpp_trust." + std::to_string(::getpid()) + "." +
                                              std::to_string(++counter()));
  fs::path plugin = dir / "libchainpp_fake.so";
  TempPluginDir() {
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0755);
    fs::copy_file(CHAINPP_PLUGIN_DIR "/libchainpp_fake.so", plugin);
    ::chmod(plugin.c_str(), 0644);
  }
  ~TempPluginDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

std::string sha256sum(const fs::path& file) {
  auto r = chainpp::test::run_command("/usr/bin/sha256sum", {file.string()});
  return r.out.substr(0, 64);
}

}  // namespace

TEST_CASE("trust: a plugin file other users can write is refused, unless allowed") {
  TempPluginDir t;
  ::chmod(t.plugin.c_str(), 0666);
  PluginRegistry registry;
  REQUIRE_THROWS_WITH(registry.load_file(t.plugin.string()),
                      t.plugin.string() + ": refusing to load a plugin from a file that other users can write "
                                          "(mode 0666); fix its permissions (chmod go-w), or set "
                                          "plugins.allow_writable: true");
  REQUIRE(registry.plugins().empty());
  registry.set_trust(PluginTrust{true, {}});
  REQUIRE(registry.load_file(t.plugin.string()).name == "fake");
}

TEST_CASE("trust: a plugin in a directory other users can write is refused") {
  TempPluginDir t;
  ::chmod(t.dir.c_str(), 0777);
  PluginRegistry registry;
  REQUIRE_THROWS_WITH(registry.load_file(t.plugin.string()),
                      t.dir.string() + ": refusing to load a plugin from a directory that other users can write "
                                       "(mode 0777); fix its permissions (chmod go-w), or set "
                                       "plugins.allow_writable: true");
}

TEST_CASE("trust: a sha256 pin accepts the right file and refuses another") {
  TempPluginDir t;
  const std::string digest = sha256sum(t.plugin);
  REQUIRE(digest.size() == 64);
  {
    PluginRegistry registry;
    registry.set_trust(PluginTrust{false, {{"fake", digest}}});
    REQUIRE(registry.load_file(t.plugin.string()).name == "fake");
  }
  const std::string wrong(64, 'a');
  PluginRegistry registry;
  registry.set_trust(PluginTrust{false, {{"fake", wrong}}});
  REQUIRE_THROWS_WITH(registry.load_file(t.plugin.string()),
                      t.plugin.string() + ": sha256 " + digest + " does not match the pinned sha256 " + wrong +
                          " of plugin 'fake'; refusing to load it");
}

TEST_CASE("trust: from the configuration, with file:line:col on bad pins") {
  TempPluginDir t;
  const std::string digest = sha256sum(t.plugin);
  const fs::path config = t.dir / "app.yaml";
  auto write = [&](const std::string& plugins) {
    std::ofstream(config) << "plugins: {paths: [" << t.dir.string() << "], load: [fake], " << plugins << "}\n"
                          << "models:\n  m: {provider: fake, responses: [ok]}\n";
  };
  AppOptions options;
  options.use_default_plugin_dirs = false;
  write("sha256: {fake: " + digest + "}");
  REQUIRE(App::load(config.string(), options).model("m")->invoke({HumanMessage("x")}).text() == "ok");
  write("sha256: {fake: " + std::string(64, 'b') + "}");
  REQUIRE_THROWS_AS(App::load(config.string(), options), PluginError);
  write("sha256: {fake: 1234}");
  REQUIRE_THROWS_WITH(App::load(config.string(), options),
                      config.string() + ":1:" + std::to_string(51 + t.dir.string().size()) +
                          ": plugins.sha256.fake must be 64 hexadecimal digits");
  ::chmod(t.plugin.c_str(), 0666);
  write("allow_writable: true");
  REQUIRE(App::load(config.string(), options).model("m")->invoke({HumanMessage("x")}).text() == "ok");
}
