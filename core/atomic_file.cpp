#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace caravan::core {
namespace {

Status io_error(const std::filesystem::path& path, const char* what) {
  return Status::unavailable(str_cat(path.string(), ": ", what, ": ", std::strerror(errno)));
}

Status fsync_path(const std::filesystem::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return io_error(path, "open for fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error(path, "fsync");
  return Status();
}

std::filesystem::path parent_or_dot(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& path, const std::vector<std::span<const std::byte>>& chunks) {
  if (struct stat existing {}; ::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
    return Status::invalid_argument(
        str_cat(path.string(), ": exists and is not a regular file; writing it atomically would replace it"));
  }
  const std::filesystem::path temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(temporary, "open");
  for (const auto& chunk : chunks) {
    size_t written = 0;
    while (written < chunk.size()) {
      const ssize_t n = ::write(fd, chunk.data() + written, chunk.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        Status status = io_error(temporary, "write");
        ::close(fd);
        ::unlink(temporary.c_str());
        return status;
      }
      written += static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0) {
    Status status = io_error(temporary, "fsync");
    ::close(fd);
    ::unlink(temporary.c_str());
    return status;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    Status status = io_error(path, "rename");
    ::unlink(temporary.c_str());
    return status;
  }
  return fsync_path(parent_or_dot(path), /*directory=*/true);
}

Status fsync_directory(const std::filesystem::path& dir) { return fsync_path(dir, /*directory=*/true); }

Status fsync_directory_tree(const std::filesystem::path& dir) {
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, error)) {
    CARAVAN_RETURN_IF_ERROR(fsync_path(entry.path(), entry.is_directory()));
  }
  if (error) return Status::unavailable(str_cat(dir.string(), ": cannot list: ", error.message()));
  return fsync_path(dir, /*directory=*/true);
}

Status publish_directory_atomically(const std::filesystem::path& staged, const std::filesystem::path& final_path) {
  std::error_code error;
  if (std::filesystem::exists(final_path, error)) {
    return Status::failed_precondition(str_cat(final_path.string(), ": already exists; refusing to overwrite"));
  }
  CARAVAN_RETURN_IF_ERROR(fsync_directory_tree(staged));
  if (::rename(staged.c_str(), final_path.c_str()) != 0) return io_error(final_path, "rename");
  return fsync_path(parent_or_dot(final_path), /*directory=*/true);
}

} // namespace caravan::core
