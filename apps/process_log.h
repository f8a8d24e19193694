// File: apps/process_log.h
// A process's debug log in the run directory: RUN_DIR/logs/NAME.log receives every line of the
// process at every level (debug included, such as the LibTorch lines apps/third_party_logs.h
// routes there), while the console keeps the level it had (CARAVAN_LOG_LEVEL, default info).
//
//   CARAVAN_ASSIGN_OR_RETURN(auto debug_log, ProcessLog::open(run_dir.log_path("rollout-1")));
//   log::debug("...");   // in the file only
//   log::info("...");    // in the file and on the console
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "core/log.h"
#include "core/status.h"

namespace caravan::apps {

// Installs itself as the process's log sink (core/log.h) for its lifetime. Thread-safe.
class ProcessLog {
 public:
  // Receives the lines meant for the console. Must be thread-safe.
  using Console = std::function<void(log::Level level, std::string_view line)>;

  // Appends to `file`, creating its directory, and raises the log level to debug. `console`
  // receives the lines at or above the console level (the level before this call) and every
  // result line; empty: log::console_sink. kUnavailable naming the file if it cannot be opened.
  static Result<std::unique_ptr<ProcessLog>> open(const std::filesystem::path& file, Console console = {});
  // Use open(); the token keeps the constructor to it.
  struct Token {
    explicit Token() = default;
  };
  ProcessLog(Token, std::FILE* file, log::Level console_level, Console console);
  ProcessLog(const ProcessLog&) = delete;
  ProcessLog& operator=(const ProcessLog&) = delete;
  // Restores the default sink and the console level, then closes the file.
  ~ProcessLog();

 private:
  static void sink(log::Level level, std::string_view line, void* self);

  std::mutex mutex_;
  std::FILE* file_;  // Guarded by mutex_.
  const log::Level console_level_;
  const Console console_;
};

} // namespace caravan::apps
