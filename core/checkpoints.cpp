#include "core/checkpoints.h"

#include <charconv>
#include <string_view>

#include "core/atomic_file.h"
#include "core/log.h"

namespace caravan::core {
namespace {

// The step of a directory named "step-N" (digits only), nullopt for any other name.
std::optional<int64_t> parse_step_name(std::string_view name) {
  constexpr std::string_view kPrefix = "step-";
  if (!name.starts_with(kPrefix) || name.size() == kPrefix.size()) return std::nullopt;
  const std::string_view digits = name.substr(kPrefix.size());
  int64_t step = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.front() == '-' || digits.front() == '+') {
    return std::nullopt;
  }
  return step;
}

bool is_committed(const std::filesystem::path& dir) {
  std::error_code error;
  return std::filesystem::is_regular_file(dir / kCheckpointCommitMarker, error);
}

}  // namespace

Result<std::filesystem::path> begin_checkpoint(const RunDirectory& run_dir, int64_t step) {
  if (step < 0) return Status::invalid_argument(str_cat("begin_checkpoint: step must be >= 0, got ", step));
  const std::filesystem::path dir = run_dir.checkpoint_dir(step);
  if (is_committed(dir)) {
    return Status::failed_precondition(str_cat(dir.string(), ": a committed checkpoint of step ", step, " exists"));
  }
  std::error_code error;
  if (std::filesystem::exists(dir, error)) {
    log::info("event=checkpoint_leftover_removed dir=", dir.string(), " reason=uncommitted");
    std::filesystem::remove_all(dir, error);
    if (error) return Status::unavailable(str_cat(dir.string(), ": cannot remove uncommitted leftover: ", error.message()));
  }
  std::filesystem::create_directories(dir, error);
  if (error) return Status::unavailable(str_cat(dir.string(), ": cannot create: ", error.message()));
  // The step-N entry is durable from the start, so a committed checkpoint never loses its name.
  CARAVAN_RETURN_IF_ERROR(fsync_directory(dir.parent_path()));
  return dir;
}

Status commit_checkpoint(const std::filesystem::path& dir, const std::string& manifest_json) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return Status::not_found(str_cat(dir.string(), ": no checkpoint directory to commit"));
  }
  if (is_committed(dir)) return Status::failed_precondition(str_cat(dir.string(), ": already committed"));
  // Every part must be durable before the marker can be: the marker's rename is the commit point.
  CARAVAN_RETURN_IF_ERROR(fsync_directory_tree(dir));
  // Writes the marker through a temporary name, fsyncs it and `dir` (its parent).
  return write_file_atomically(dir / kCheckpointCommitMarker, manifest_json);
}

Result<std::optional<CommittedCheckpoint>> latest_committed_checkpoint(const RunDirectory& run_dir) {
  const std::filesystem::path root = run_dir.checkpoints_dir();
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) return std::optional<CommittedCheckpoint>();
  std::optional<CommittedCheckpoint> latest;
  for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
    const std::optional<int64_t> step = parse_step_name(entry.path().filename().string());
    if (!step || !entry.is_directory()) continue;
    if (!is_committed(entry.path())) {
      log::info("event=checkpoint_ignored dir=", entry.path().string(), " reason=uncommitted");
      continue;
    }
    if (!latest || *step > latest->step) latest = CommittedCheckpoint{*step, entry.path()};
  }
  if (error) return Status::unavailable(str_cat(root.string(), ": cannot list: ", error.message()));
  return latest;
}

} // namespace caravan::core
