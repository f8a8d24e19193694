// File: core/atomic_file.h
// Crash-safe writes: a reader sees either the old file/directory or the complete new one,
// never a torn one (write to a temporary name, fsync, rename, fsync the parent directory).
//
//   CARAVAN_RETURN_IF_ERROR(write_file_atomically(dir / "config.toml", text));
//   // build a checkpoint in `staging`, then publish it under its final name:
//   CARAVAN_RETURN_IF_ERROR(publish_directory_atomically(staging, dir / "checkpoints/step-10"));
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace caravan::core {

// Replaces `path` with the concatenation of `chunks`. The parent directory must exist.
// kInvalidArgument, before anything is written, when `path` exists and is not a regular file
// (a directory, or a device such as /dev/null or /dev/stdout, which a rename would replace);
// kUnavailable naming the path and the failing call (open, write, fsync, rename); the old
// file, if any, is left intact and "<path>.tmp" is removed. Blocks on disk I/O.
Status write_file_atomically(const std::filesystem::path& path, const std::vector<std::span<const std::byte>>& chunks);

// The bytes of a string, for write_file_atomically.
inline std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

inline Status write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  return write_file_atomically(path, std::vector<std::span<const std::byte>>{as_bytes(content)});
}

// fsyncs the directory `dir` itself: its entries (names created, renamed or removed in it), not
// the content of its files. kUnavailable naming `dir` (open, fsync).
Status fsync_directory(const std::filesystem::path& dir);

// fsyncs every file and directory under `dir`, then `dir` itself, so its contents survive a
// crash. kUnavailable naming the path that failed (open, fsync) or the directory that cannot be
// listed. Blocks on disk I/O.
Status fsync_directory_tree(const std::filesystem::path& dir);

// fsyncs every file in `staged` and `staged` itself, then renames it to `final_path`.
// kFailedPrecondition if `final_path` exists (a published directory is never overwritten).
Status publish_directory_atomically(const std::filesystem::path& staged, const std::filesystem::path& final_path);

} // namespace caravan::core
