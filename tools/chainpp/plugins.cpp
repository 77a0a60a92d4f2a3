// chainpp plugins [CONFIG]: lists the plugins found, with their path, version
// and providers; exits 2 when one of them does not load.
#include "commands.hpp"

#include <chainpp/app.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/registry.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace cli {
namespace {

namespace fs = std::filesystem;
using chainpp::join;

int plugins_command(const Options&, const std::vector<std::string>& args) {
  if (args.size() > 1) throw UsageError("chainpp plugins: expected at most one CONFIG argument");
  chainpp::ConfigNode root;
  std::string base_dir = fs::current_path().string();
  if (!args.empty()) {
    root = chainpp::ConfigNode::load_file(args.front());
    base_dir = fs::absolute(args.front()).parent_path().string();
  }
  const std::vector<std::string> dirs = chainpp::plugin_search_dirs(root, base_dir);
  std::cout << "search path: " << join(dirs, ":") << '\n';
  std::vector<std::string> files = chainpp::find_plugin_files(dirs);
  for (const auto& file : chainpp::plugin_load_paths(root, base_dir))
    if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
  if (files.empty()) std::cout << "no plugins found\n";
  int status = exit_ok;
  for (const auto& file : files) {
    chainpp::PluginRegistry registry;  // one each: every plugin is reported on its own
    try {
      chainpp::PluginInfo info = registry.load_file(file);
      std::cout << info.name << ' ' << info.version << ' ' << info.path << '\n'
                << "  providers: " << join(info.providers) << '\n';
    } catch (const chainpp::PluginError& e) {
      std::cerr << e.what() << '\n';
      status = exit_usage;
    }
  }
  return status;
}

}  // namespace

const Command plugins{"plugins", "[CONFIG]",
                      "Lists the plugins found in the default directory, CHAINPP_PLUGIN_PATH and\n"
                      "CONFIG's plugins.paths, with their path, version and providers.",
                      &no_options, &plugins_command,
                      "  chainpp plugins\n"
                      "  CHAINPP_PLUGIN_PATH=~/my-plugins chainpp plugins app.yaml\n"};

}  // namespace cli
