#include "core/append_only_file.h"

namespace caravan::core {

uint64_t file_size_or_zero(const std::filesystem::path& file) {
  std::error_code error;
  const uint64_t size = std::filesystem::file_size(file, error);
  return error ? 0 : size;
}

Status truncate_file(const std::filesystem::path& file, uint64_t size) {
  std::error_code error;
  const bool exists = std::filesystem::exists(file, error);
  const uint64_t current = exists ? std::filesystem::file_size(file, error) : 0;
  if (error) return Status::unavailable(str_cat(file.string(), ": ", error.message()));
  if (current < size) {
    return Status::data_loss(str_cat(file.string(), ": ", current, " bytes, but the checkpoint recorded ", size));
  }
  if (exists && current > size) {
    std::filesystem::resize_file(file, size, error);
    if (error) return Status::unavailable(str_cat(file.string(), ": cannot truncate: ", error.message()));
  }
  return Status();
}

} // namespace caravan::core
