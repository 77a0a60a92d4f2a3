#include <chainpp/registry.hpp>

#include "sha256.hpp"

#include <boost/dll/shared_library.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

namespace chainpp {

namespace fs = std::filesystem;

namespace {

// One loaded library. `library` is declared first so it is destroyed last:
// the factories (code of the plugin) must go while it is still mapped.
struct LoadedPlugin {
  std::shared_ptr<boost::dll::shared_library> library;
  PluginInfo info;
  std::map<std::string, ProviderFactory> factories;
};

std::string absolute_path(const fs::path& p) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(p, ec);
  return (ec ? p.lexically_normal() : canonical).string();
}

// "libchainpp_fake.so" -> "fake"
std::string plugin_name_of(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  return stem.rfind("libchainpp_", 0) == 0 ? stem.substr(11) : stem;
}

// Libraries that must never be unloaded (see PluginRegistry::create). Never
// destroyed, so no static destructor unloads them before their objects go.
void pin(const std::shared_ptr<LoadedPlugin>& plugin) {
  static std::mutex mutex;
  static auto* pinned = new std::vector<std::shared_ptr<LoadedPlugin>>();
  std::lock_guard lock(mutex);
  pinned->push_back(plugin);
}

// Refuses a file or directory that another user may write or owns (unless allowed).
void check_permissions(const std::string& what, const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;  // a missing file is reported elsewhere
  const bool other_owner = st.st_uid != 0 && st.st_uid != ::geteuid();
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) || other_owner) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw PluginError(path.string() + ": refusing to load a plugin from a " + what + " that " +
                      (other_owner ? std::string("belongs to another user") : "other users can write") + " (mode " +
                      mode + "); fix its permissions (chmod go-w), or set plugins.allow_writable: true");
  }
}

std::string sha256_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PluginError(path + ": cannot read the plugin to check its sha256");
  std::ostringstream data;
  data << in.rdbuf();
  return detail::sha256_hex(data.str());
}

}  // namespace

struct PluginRegistry::Impl {
  PluginTrust trust;
  std::vector<std::shared_ptr<LoadedPlugin>> plugins;              // load order
  std::map<std::string, std::shared_ptr<LoadedPlugin>> by_provider;  // provider -> plugin
};

int core_abi_version() { return CHAINPP_ABI_VERSION; }

std::string plugin_file_name(const std::string& name) { return "libchainpp_" + name + ".so"; }

std::vector<std::string> environment_plugin_dirs() {
  std::vector<std::string> dirs;
  const char* value = std::getenv("CHAINPP_PLUGIN_PATH");
  if (!value) return dirs;
  std::string text = value;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(':', start);
    if (end == std::string::npos) end = text.size();
    std::string dir = text.substr(start, end - start);
    if (!dir.empty()) dirs.push_back(absolute_path(fs::absolute(dir)));
    start = end + 1;
  }
  return dirs;
}

std::string default_plugin_dir() {
#ifdef CHAINPP_DEFAULT_PLUGIN_DIR
  return CHAINPP_DEFAULT_PLUGIN_DIR;
#else
  // Relative to the directory of libchainpp_core.so, so a relocated install
  // still finds its plugins: the installed layout <libdir>/chainpp/plugins
  // (CHAINPP_PLUGIN_SUBDIR in CMakeLists.txt) when it exists, else the build
  // tree's <build>/core/libchainpp_core.so -> <build>/plugins.
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&default_plugin_dir), &info) == 0 || !info.dli_fname) return {};
  const fs::path lib_dir = fs::absolute(info.dli_fname).parent_path();
  const fs::path installed = lib_dir / "chainpp" / "plugins";
  std::error_code ec;
  if (fs::is_directory(installed, ec)) return absolute_path(installed);
  return absolute_path(lib_dir.parent_path() / "plugins");
#endif
}

std::vector<std::string> find_plugin_files(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("libchainpp_", 0) == 0 && entry.path().extension() == ".so") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (seen.insert(f.filename().string()).second) out.push_back(absolute_path(f));
    }
  }
  return out;
}

PluginRegistry::PluginRegistry() : impl_(std::make_unique<Impl>()) {}

void PluginRegistry::set_trust(PluginTrust trust) {
  std::lock_guard lock(mutex_);
  impl_->trust = std::move(trust);
}
PluginRegistry::~PluginRegistry() = default;

PluginInfo PluginRegistry::load_file(const std::string& path, const std::string& base_dir) {
  fs::path p(path);
  if (p.is_relative()) {
    if (base_dir.empty())
      throw PluginError("relative plugin path '" + path + "' needs a base directory");
    p = fs::path(base_dir) / p;
  }
  const std::string abs = absolute_path(fs::absolute(p));

  std::lock_guard lock(mutex_);
  for (const auto& loaded : impl_->plugins)
    if (loaded->info.path == abs) return loaded->info;

  std::error_code exists_ec;
  if (!fs::is_regular_file(abs, exists_ec)) throw PluginError("plugin file not found: " + abs);
  if (!impl_->trust.allow_writable) {
    check_permissions("file", abs);
    check_permissions("directory", fs::path(abs).parent_path());
  }
  if (auto pin = impl_->trust.sha256.find(plugin_name_of(abs)); pin != impl_->trust.sha256.end()) {
    std::string expected = pin->second;
    std::transform(expected.begin(), expected.end(), expected.begin(), [](unsigned char c) { return std::tolower(c); });
    const std::string actual = sha256_of(abs);
    if (actual != expected)
      throw PluginError(abs + ": sha256 " + actual + " does not match the pinned sha256 " + expected +
                        " of plugin '" + pin->first + "'; refusing to load it");
  }

  auto library = std::make_shared<boost::dll::shared_library>();
  std::error_code ec;
  dlerror();  // clear a stale message
  library->load(abs, ec, boost::dll::load_mode::rtld_now);
  if (ec) {
    // Boost.DLL's own text ends in a misleading errno string; report dlerror's.
    const char* reason = dlerror();
    std::string why = reason ? reason : ec.message();
    if (why.rfind(abs + ": ", 0) == 0) why = why.substr(abs.size() + 2);
    throw PluginError("cannot load plugin " + abs + ": " + why);
  }
  if (!library->has(plugin_entry_symbol))
    throw PluginError(abs + ": not a chainpp plugin (no '" + std::string(plugin_entry_symbol) + "' entry symbol)");

  // The ABI version is checked before the entry is called: the descriptor's
  // layout is part of the ABI.
  auto abi_mismatch = [&abs](const std::string& name, int version) {
    return PluginError(abs + ": plugin '" + name + "' was built for chainpp ABI version " + std::to_string(version) +
                       ", but this core has ABI version " + std::to_string(CHAINPP_ABI_VERSION));
  };
  if (library->has(plugin_abi_symbol)) {
    const int version = library->get<const int>(plugin_abi_symbol);
    if (version != CHAINPP_ABI_VERSION) throw abi_mismatch(plugin_name_of(abs), version);
  }

  auto loaded = std::make_shared<LoadedPlugin>();
  loaded->library = library;
  PluginDescriptor descriptor;
  try {
    descriptor = library->get_alias<PluginEntry>(plugin_entry_symbol)();
  } catch (const std::exception& e) {
    throw PluginError(abs + ": the plugin's entry function failed: " + e.what());
  }
  if (descriptor.abi_version != CHAINPP_ABI_VERSION) throw abi_mismatch(descriptor.name, descriptor.abi_version);
  for (const auto& [provider, factory] : descriptor.providers) {
    if (auto it = impl_->by_provider.find(provider); it != impl_->by_provider.end()) {
      throw PluginError("provider '" + provider + "' is provided by two plugins: " + it->second->info.path +
                        " and " + abs);
    }
    if (!factory) throw PluginError(abs + ": provider '" + provider + "' has no factory");
  }

  loaded->info.name = descriptor.name;
  loaded->info.version = descriptor.version;
  loaded->info.path = abs;
  loaded->info.abi_version = descriptor.abi_version;
  for (const auto& entry : descriptor.providers) loaded->info.providers.push_back(entry.first);
  loaded->factories = std::move(descriptor.providers);
  for (const auto& entry : loaded->factories) impl_->by_provider[entry.first] = loaded;
  impl_->plugins.push_back(loaded);
  return loaded->info;
}

PluginInfo PluginRegistry::load(const std::string& name, const std::vector<std::string>& dirs) {
  const std::string file = plugin_file_name(name);
  for (const auto& dir : dirs) {
    fs::path candidate = fs::path(dir) / file;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return load_file(absolute_path(fs::absolute(candidate)));
  }
  if (dirs.empty()) {
    throw PluginError("plugin '" + name + "' not found: no plugin directories to search " +
                      "(set plugins.paths or CHAINPP_PLUGIN_PATH)");
  }
  throw PluginError("plugin '" + name + "' not found: no " + file + " in " + join(dirs));
}

std::vector<PluginInfo> PluginRegistry::plugins() const {
  std::lock_guard lock(mutex_);
  std::vector<PluginInfo> out;
  for (const auto& p : impl_->plugins) out.push_back(p->info);
  return out;
}

std::vector<std::string> PluginRegistry::providers() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& entry : impl_->by_provider) out.push_back(entry.first);
  return out;  // std::map keeps them sorted
}

bool PluginRegistry::has_provider(const std::string& provider) const {
  std::lock_guard lock(mutex_);
  return impl_->by_provider.count(provider) > 0;
}

PluginInfo PluginRegistry::provider_plugin(const std::string& provider) const {
  std::lock_guard lock(mutex_);
  auto it = impl_->by_provider.find(provider);
  if (it == impl_->by_provider.end()) throw PluginError("unknown provider '" + provider + "'");
  return it->second->info;
}

std::shared_ptr<ChatModel> PluginRegistry::create(const std::string& provider, const ConfigNode& model_config,
                                                  const ProviderContext& ctx) const {
  std::shared_ptr<LoadedPlugin> plugin;
  {
    std::lock_guard lock(mutex_);
    auto it = impl_->by_provider.find(provider);
    if (it == impl_->by_provider.end()) {
      std::vector<std::string> available;
      for (const auto& entry : impl_->by_provider) available.push_back(entry.first);
      throw PluginError("unknown provider '" + provider + "'; available providers: " +
                        (available.empty() ? std::string("(none loaded)") : join(available)));
    }
    plugin = it->second;
  }
  std::shared_ptr<ChatModel> model = plugin->factories.at(provider)(model_config, ctx);
  if (!model) throw PluginError(plugin->info.path + ": provider '" + provider + "' returned no model");
  model->library_ = plugin;  // copies made by bind() and friends keep the library too
  // The returned pointer owns the model and the library: the model (code of the
  // plugin) is destroyed first, then the library may be unloaded. When the model
  // is still owned elsewhere (a pointer taken with weak_from_this(), e.g. by
  // with_config()), its library is pinned: it stays loaded until exit.
  ChatModel* raw = model.get();
  return std::shared_ptr<ChatModel>(raw, [model = std::move(model), plugin = std::move(plugin)](ChatModel*) mutable {
    if (model.use_count() > 1) pin(plugin);
    model.reset();
    plugin.reset();
  });
}

PluginRegistry& PluginRegistry::global() {
  // Never destroyed: libraries of the global registry stay loaded until exit,
  // so no static destructor can run after its code is unmapped.
  static PluginRegistry* registry = new PluginRegistry();
  return *registry;
}

}  // namespace chainpp
