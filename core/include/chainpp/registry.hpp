#pragma once
// PluginRegistry: loads provider plugins (shared libraries exporting the
// CHAINPP_PLUGIN entry) and creates models by provider name. Thread-safe.
// A library stays loaded for as long as the registry or any model it created
// is alive. Plugins are found only where the caller says: explicit paths, the
// configuration's `plugins.paths`, CHAINPP_PLUGIN_PATH and the default plugin
// directory; never the current directory implicitly.
#include <chainpp/chat_model.hpp>
#include <chainpp/config.hpp>
#include <chainpp/export.hpp>
#include <chainpp/provider.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace chainpp {

/// A loaded plugin as the registry sees it.
struct CHAINPP_API PluginInfo {
  std::string name;
  std::string version;
  std::string path;  ///< absolute path of the library
  int abi_version = 0;
  std::vector<std::string> providers;  ///< sorted
  bool operator==(const PluginInfo&) const = default;
};

/// The ABI version of this core (CHAINPP_ABI_VERSION when it was built).
CHAINPP_API int core_abi_version();

/// The file name of a plugin: "libchainpp_<name>.so".
CHAINPP_API std::string plugin_file_name(const std::string& name);

/// Directories from CHAINPP_PLUGIN_PATH (colon-separated; empty entries skipped).
CHAINPP_API std::vector<std::string> environment_plugin_dirs();

/// The default plugin directory of this installation (the build tree's plugin
/// directory for an uninstalled build).
CHAINPP_API std::string default_plugin_dir();

/// Every `libchainpp_*.so` in `dirs`, absolute, in search order; a file name
/// found in an earlier directory shadows the same name later.
CHAINPP_API std::vector<std::string> find_plugin_files(const std::vector<std::string>& dirs);

/// What the registry checks before it loads a library (as ssh checks its files).
struct CHAINPP_API PluginTrust {
  /// Load files and directories that users other than the owner may write, or
  /// that belong to another user (refused by default).
  bool allow_writable = false;
  /// Expected SHA-256 digests (64 hex digits) by plugin name ("azure_openai");
  /// a plugin listed here whose file has another digest is refused.
  std::map<std::string, std::string> sha256;
};

class CHAINPP_API PluginRegistry {
public:
  PluginRegistry();
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  /// Sets the checks made before loading a library (see PluginTrust).
  void set_trust(PluginTrust trust);

  /// Loads the library at `path` (relative paths resolve against `base_dir`,
  /// which must then be given). Loading the same file twice is a no-op.
  /// Throws PluginError: file not found, not trusted (writable by others, wrong
  /// digest), cannot load, not a chainpp plugin,
  /// ABI mismatch, or a provider already provided by another plugin.
  PluginInfo load_file(const std::string& path, const std::string& base_dir = {});
  /// Finds `libchainpp_<name>.so` in `dirs` (first match) and loads it.
  /// Throws PluginError listing the directories searched when absent.
  PluginInfo load(const std::string& name, const std::vector<std::string>& dirs);

  /// The plugins loaded so far, in load order.
  std::vector<PluginInfo> plugins() const;
  /// Every provider name available, sorted.
  std::vector<std::string> providers() const;
  bool has_provider(const std::string& provider) const;
  /// The plugin providing `provider`; throws PluginError when none does.
  PluginInfo provider_plugin(const std::string& provider) const;

  /// Creates a model with `provider`'s factory. The model keeps its library loaded.
  /// Throws PluginError "unknown provider 'x'; available providers: a, b" when
  /// no plugin provides it; the factory's own errors (ConfigError) pass through.
  std::shared_ptr<ChatModel> create(const std::string& provider, const ConfigNode& model_config,
                                    const ProviderContext& ctx = {}) const;

  /// The process-wide registry.
  static PluginRegistry& global();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mutex_;
};

}  // namespace chainpp
