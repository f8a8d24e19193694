// File: core/run_directory.h
// The run directory: everything a run leaves behind.
//   config.toml      the resolved configuration (what actually ran)
//   metrics.jsonl    one JSON object per step / evaluation
//   samples/*.jsonl  prompt id, completion, reward breakdown, policy version per sample
//   checkpoints/step-N/  two-phase checkpoints: valid once committed (core/checkpoints.h)
//   logs/NAME.log    each process's debug log, every level (apps/process_log.h)
//   launcher_state.json  which ports `caravan run` picked itself (apps/run_ports.h)
//
//   CARAVAN_ASSIGN_OR_RETURN(RunDirectory dir, RunDirectory::create("runs/q", apps::to_toml(config)));
//   CARAVAN_RETURN_IF_ERROR(dir.append_jsonl(dir.metrics_path(), {{"step", 1}, {"loss", 0.3}}));
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace caravan::core {

// A value naming a run directory's paths; cheap to copy. Appends are not synchronised across
// processes: by convention only the controller appends metrics and samples.
class RunDirectory {
 public:
  // Creates the layout and writes config.toml atomically. kFailedPrecondition if `root`
  // already holds a run (its config.toml exists), kUnavailable on I/O errors.
  static Result<RunDirectory> create(const std::filesystem::path& root, const std::string& resolved_config_toml);
  // Opens an existing run directory. kNotFound if `root` has no config.toml.
  static Result<RunDirectory> open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_path() const { return root_ / "config.toml"; }
  std::filesystem::path metrics_path() const { return root_ / "metrics.jsonl"; }
  std::filesystem::path samples_path(const std::string& phase) const { return root_ / "samples" / (phase + ".jsonl"); }
  // logs/NAME.log, e.g. NAME = "rollout-1" or "launcher".
  std::filesystem::path log_path(const std::string& process) const { return root_ / "logs" / (process + ".log"); }
  std::filesystem::path checkpoints_dir() const { return root_ / "checkpoints"; }
  // checkpoints/step-N (N zero-padded to 6 digits so names sort by step).
  std::filesystem::path checkpoint_dir(int64_t step) const;
  std::filesystem::path checkpoint_dir(const std::string& name) const { return checkpoints_dir() / name; }

  // Appends one compact JSON line to `file` and flushes it; invalid UTF-8 in strings becomes
  // U+FFFD. kUnavailable on I/O errors.
  Status append_jsonl(const std::filesystem::path& file, const nlohmann::json& record) const;
  // Appends one line per record, in order, with a single open and flush.
  Status append_jsonl_records(const std::filesystem::path& file, const std::vector<nlohmann::json>& records) const;

 private:
  explicit RunDirectory(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

} // namespace caravan::core
