#include "core/run_directory.h"

#include <cstdio>
#include <fstream>

#include "core/atomic_file.h"
#include "core/jsonl.h"

namespace caravan::core {

Result<RunDirectory> RunDirectory::create(const std::filesystem::path& root, const std::string& resolved_config_toml) {
  std::error_code error;
  if (std::filesystem::exists(root / "config.toml", error)) {
    return Status::failed_precondition(str_cat(root.string(), ": already holds a run (config.toml exists); ",
                                               "choose another directory"));
  }
  for (const auto& dir : {root, root / "samples", root / "checkpoints"}) {
    std::filesystem::create_directories(dir, error);
    if (error) return Status::unavailable(str_cat(dir.string(), ": cannot create: ", error.message()));
  }
  CARAVAN_RETURN_IF_ERROR(write_file_atomically(root / "config.toml", resolved_config_toml));
  return RunDirectory(std::filesystem::absolute(root));
}

Result<RunDirectory> RunDirectory::open(const std::filesystem::path& root) {
  std::error_code error;
  if (!std::filesystem::exists(root / "config.toml", error)) {
    return Status::not_found(str_cat(root.string(), ": not a run directory (no config.toml)"));
  }
  return RunDirectory(std::filesystem::absolute(root));
}

std::filesystem::path RunDirectory::checkpoint_dir(int64_t step) const {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%06lld", static_cast<long long>(step));
  return checkpoints_dir() / name;
}

Status RunDirectory::append_jsonl(const std::filesystem::path& file, const nlohmann::json& record) const {
  return append_jsonl_records(file, std::vector<nlohmann::json>{record});
}

Status RunDirectory::append_jsonl_records(const std::filesystem::path& file, const std::vector<nlohmann::json>& records) const {
  std::ofstream out(file, std::ios::app | std::ios::binary);
  if (!out) return Status::unavailable(str_cat(file.string(), ": cannot open for append"));
  // Model output is arbitrary bytes: jsonl_line writes invalid UTF-8 as U+FFFD rather than failing.
  for (const auto& record : records) out << core::jsonl_line(record);
  out.flush();
  if (!out) return Status::unavailable(str_cat(file.string(), ": write failed"));
  return Status();
}

} // namespace caravan::core
