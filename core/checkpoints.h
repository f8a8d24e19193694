// File: core/checkpoints.h
// Two-phase checkpoints of a run directory. A checkpoint is checkpoints/step-N/ (N zero-padded,
// core/run_directory.h); every role writes its part into it, and it becomes valid only when
// the COMMITTED marker appears in it. A crash at any moment before the marker leaves the previous
// committed checkpoint in force; resume always starts from latest_committed_checkpoint.
//
//   CARAVAN_ASSIGN_OR_RETURN(std::filesystem::path dir, core::begin_checkpoint(run_dir, step));
//   ... the learner writes its files into `dir`, the controller writes controller_state.json ...
//   CARAVAN_RETURN_IF_ERROR(core::commit_checkpoint(dir, manifest.dump(2)));
//
//   CARAVAN_ASSIGN_OR_RETURN(auto latest, core::latest_committed_checkpoint(run_dir));
//   if (latest) restore_from(latest->dir, latest->step);
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/run_directory.h"
#include "core/status.h"

namespace caravan::core {

// The marker file whose presence makes checkpoints/step-N/ valid.
inline constexpr const char* kCheckpointCommitMarker = "COMMITTED";

// Creates an empty checkpoints/step-N/ (RunDirectory::checkpoint_dir), first removing an
// uncommitted leftover of the same step; kFailedPrecondition if a committed one exists.
// kInvalidArgument for step < 0; kUnavailable on I/O errors (naming the directory).
Result<std::filesystem::path> begin_checkpoint(const RunDirectory& run_dir, int64_t step);

// Makes the checkpoint valid: fsyncs the directory's files, then writes the marker atomically
// (its content: `manifest_json`), fsyncs the directory. Before it, a crash leaves the
// previous committed checkpoint in force. kNotFound if `dir` is not a directory;
// kFailedPrecondition if it is already committed; kUnavailable on I/O errors (naming the file).
Status commit_checkpoint(const std::filesystem::path& dir, const std::string& manifest_json);

struct CommittedCheckpoint {
  int64_t step = 0;
  std::filesystem::path dir;
};

// The committed checkpoint with the highest step; nullopt when there is none. Uncommitted
// step directories are ignored (logged at info), and so are entries not named step-N.
// kUnavailable when the checkpoints directory exists but cannot be listed.
Result<std::optional<CommittedCheckpoint>> latest_committed_checkpoint(const RunDirectory& run_dir);

} // namespace caravan::core
