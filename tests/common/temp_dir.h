// File: tests/common/temp_dir.h
// A fresh directory under the system temp dir, removed with everything in it on destruction.
//
//   TempDir dir;
//   write(dir.path() / "model.safetensors");
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace caravan::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("caravan_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

} // namespace caravan::testing
