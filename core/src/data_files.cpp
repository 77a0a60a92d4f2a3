#include <chainpp/data_files.hpp>

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace chainpp {

namespace fs = std::filesystem;

namespace {

std::string existing_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  fs::path canonical = fs::weakly_canonical(dir, ec);
  return ec ? fs::absolute(dir).lexically_normal().string() : canonical.string();
}

}  // namespace

std::string bundled_data_dir() {
  if (const char* env = std::getenv("CHAINPP_DATA_DIR"); env && *env) return existing_dir(fs::absolute(env));
  // Relative to the directory of libchainpp_core.so, as default_plugin_dir():
  // the installed <libdir>/<CHAINPP_LIB_TO_DATA_DIR> (<datadir>/chainpp), else
  // the build tree's <build>/core/libchainpp_core.so -> <build>/share/chainpp.
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&bundled_data_dir), &info) == 0 || !info.dli_fname) return {};
  const fs::path lib_dir = fs::absolute(info.dli_fname).parent_path();
  if (std::string installed = existing_dir(lib_dir / CHAINPP_LIB_TO_DATA_DIR); !installed.empty()) return installed;
  return existing_dir(lib_dir.parent_path() / "share" / "chainpp");
}

std::string bundled_data_file(const std::string& name) {
  const std::string dir = bundled_data_dir();
  if (dir.empty() || name.empty()) return {};
  const fs::path path = fs::path(dir) / name;
  std::error_code ec;
  return fs::is_regular_file(path, ec) ? path.string() : std::string();
}

}  // namespace chainpp
