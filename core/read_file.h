// File: core/read_file.h
// Reads a whole (small) file into memory: config files, reward configs. Errors name the file.
//
//   CARAVAN_ASSIGN_OR_RETURN(std::string text, core::read_file(path, "reward config"));
//   // on failure: "configs/rewards.toml: cannot open reward config"
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace caravan::core {

// The bytes of `file`. kNotFound "FILE: cannot open WHAT" when it cannot be opened;
// kUnavailable "FILE: read error (WHAT)" when reading fails midway. Blocks on disk I/O.
Result<std::string> read_file(const std::filesystem::path& file, std::string_view what);

} // namespace caravan::core
