#pragma once
// A directory of files for one test process (ctest may run test cases in
// parallel, each in its own process), removed when the process ends.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace chainpp::test {

class TempDir {
public:
  explicit TempDir(const std::string& prefix)
      : dir_(std::filesystem::temp_directory_path() / (prefix + "." + std::to_string(::getpid()))) {}
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The path of file `name` in the directory (created on first use).
  std::string path(const std::string& name) const {
    std::filesystem::create_directories(dir_);
    return (dir_ / name).string();
  }

private:
  std::filesystem::path dir_;
};

}  // namespace chainpp::test
