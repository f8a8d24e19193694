// File: core/append_only_file.h
// The append-only files of a run directory (metrics.jsonl, samples/*.jsonl) at a checkpoint and
// at resume: a checkpoint records each file's size, and resuming cuts the file back to it, so
// the lines of the steps after the checkpoint (which the resumed run does again) are not doubled.
//
//   state["files"]["metrics"] = core::file_size_or_zero(run_dir.metrics_path());  // at a checkpoint
//   CARAVAN_RETURN_IF_ERROR(core::truncate_file(run_dir.metrics_path(), recorded));  // at resume
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/status.h"

namespace caravan::core {

// The size of `file` in bytes; 0 when it does not exist (or cannot be read).
uint64_t file_size_or_zero(const std::filesystem::path& file);

// Cuts `file` back to `size` bytes (a missing file counts as 0 bytes). kDataLoss, naming the
// file, if it is shorter than `size`; kUnavailable on I/O errors.
Status truncate_file(const std::filesystem::path& file, uint64_t size);

} // namespace caravan::core
