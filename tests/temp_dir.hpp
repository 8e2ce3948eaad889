#pragma once
// One scratch directory per test process, removed when the process exits.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace vkt {

inline std::filesystem::path temp_dir() {
  namespace fs = std::filesystem;
  static const struct Dir {
    fs::path path = fs::path(::testing::TempDir()) / ("vkfuse_tests_" + std::to_string(getpid()));
    Dir() {
      fs::remove_all(path);
      fs::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } dir;
  return dir.path;
}

}  // namespace vkt
