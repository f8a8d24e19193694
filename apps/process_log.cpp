#include "apps/process_log.h"

#include <cerrno>
#include <cstring>

namespace caravan::apps {

Result<std::unique_ptr<ProcessLog>> ProcessLog::open(const std::filesystem::path& file, Console console) {
  std::error_code error;
  std::filesystem::create_directories(file.parent_path(), error);
  if (error) {
    return Status::unavailable(str_cat("debug log ", file.string(), ": cannot create its directory: ", error.message()));
  }
  std::FILE* handle = std::fopen(file.c_str(), "a");
  if (handle == nullptr) {
    return Status::unavailable(str_cat("debug log ", file.string(), ": cannot open: ", std::strerror(errno)));
  }
  auto process_log = std::make_unique<ProcessLog>(Token{}, handle, log::level(), std::move(console));
  log::set_sink(&ProcessLog::sink, process_log.get());
  log::set_level(log::Level::kDebug);
  return process_log;
}

ProcessLog::ProcessLog(Token, std::FILE* file, log::Level console_level, Console console)
    : file_(file), console_level_(console_level), console_(std::move(console)) {}

ProcessLog::~ProcessLog() {
  log::set_level(console_level_);
  log::set_sink(nullptr, nullptr);
  std::lock_guard lock(mutex_);
  std::fclose(file_);
}

void ProcessLog::sink(log::Level level, std::string_view line, void* self) {
  auto* process_log = static_cast<ProcessLog*>(self);
  {
    std::lock_guard lock(process_log->mutex_);
    std::fwrite(line.data(), 1, line.size(), process_log->file_);
    std::fputc('\n', process_log->file_);
    std::fflush(process_log->file_);
  }
  if (static_cast<int>(level) > static_cast<int>(process_log->console_level_)) return;
  if (process_log->console_) {
    process_log->console_(level, line);
  } else {
    log::console_sink(level, line, nullptr);
  }
}

} // namespace caravan::apps
