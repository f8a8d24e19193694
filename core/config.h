// File: core/config.h
// Reads and writes the run configuration (TOML). The only place that knows TOML: it turns a
// file into core::RunConfig, checks every key's type and range, rejects unknown keys and
// sections, and writes the resolved config back so a run directory records exactly what ran.
//
//   Result<core::RunConfig> config = core::load_run_config("configs/quickstart.toml");
//   if (!config.ok()) { log::error(config.status().to_string()); return 2; }
//   // errors read like: "configs/q.toml: [grpo] clip_low: expected 0 < x < 1, got 1.5"
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/run_config.h"
#include "core/status.h"

namespace caravan::core {

// kNotFound if the file cannot be read; kInvalidArgument for TOML syntax errors (with line and
// column), missing required keys, wrong types, out-of-range values and unknown keys/sections.
Result<RunConfig> load_run_config(const std::filesystem::path& file);

// Same as load_run_config for text already in memory; `source_name` prefixes every error.
Result<RunConfig> parse_run_config(std::string_view toml_text, const std::string& source_name);

// The full configuration as TOML, every field written; parse_run_config() reads it back equal.
std::string to_toml(const RunConfig& config);

} // namespace caravan::core
