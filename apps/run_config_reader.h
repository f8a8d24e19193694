// File: apps/run_config_reader.h
// Reads and writes the run configuration (TOML): turns a file into RunConfig with core's
// typed readers (core/toml_fields.h), checks every key's type and range and the constraints
// between keys, rejects unknown keys and sections, and writes the resolved config back so a run
// directory records exactly what ran. Every section's keys are read here, none in the
// components: a component owns its options struct, apps/ owns the file that fills them.
//
//   Result<RunConfig> config = load_run_config("configs/quickstart.toml");
//   if (!config.ok()) { log::error(config.status().to_string()); return 2; }
//   // errors read like: "configs/q.toml: [grpo] clip_low: expected 0 < x < 1, got 1.5"
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "apps/run_config.h"
#include "core/status.h"

namespace caravan::apps {

// kNotFound if the file cannot be read; kInvalidArgument for TOML syntax errors (with line and
// column), missing required keys, wrong types, out-of-range values and unknown keys/sections.
Result<RunConfig> load_run_config(const std::filesystem::path& file);

// Same as load_run_config for text already in memory; `source_name` prefixes every error.
Result<RunConfig> parse_run_config(std::string_view toml_text, const std::string& source_name);

// The full configuration as TOML, every field written; parse_run_config() reads it back equal.
std::string to_toml(const RunConfig& config);

} // namespace caravan::apps
