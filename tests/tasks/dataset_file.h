// File: tests/tasks/dataset_file.h
// What the reader tests share: JSONL text written to a fresh file, and substring assertions on
// error messages.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/common/temp_dir.h"

namespace caravan::testing {

// Passes when `text` contains `part`; the failure message shows both.
inline ::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

class DatasetFiles {
 public:
  // Writes `text` to a fresh file in a temporary directory and returns its path.
  std::filesystem::path write(const std::string& text) {
    std::filesystem::path path = dir_.path() / ("data" + std::to_string(files_++) + ".jsonl");
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

 private:
  TempDir dir_;
  int files_ = 0;
};

} // namespace caravan::testing
