// File: apps/run_console.h
// The console of `caravan run` on a terminal. The children's stdout and stderr arrive through one
// pipe and scroll above the live status block (apps/status_view.h); the block follows the rows
// the controller appends to metrics.jsonl (apps/run_progress.h) and the launcher's count of
// running processes. The launcher's own log lines come in through print().
//
//   RunConsole console(std::cout, /*total_steps=*/config.grpo.steps);   // before any thread
//   ProcessSupervisor supervisor({.child_output_fd = console.child_output_fd(),
//                                 .on_running_changed = [&](int64_t n, int64_t all) { console.set_workers(n, all); }});
//   ...
//   console.start(run_dir.metrics_path());   // the reader thread; the block appears
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>

#include "apps/run_progress.h"
#include "apps/status_view.h"

namespace caravan::apps {

// True when stdout is a terminal that understands cursor movement (TERM set and not "dumb").
bool stdout_is_terminal();

// print() and set_workers() are thread-safe; the rest is owner-thread only.
class RunConsole {
 public:
  // Creates the children's pipe; no thread yet. `terminal` must outlive the console.
  // CARAVAN_CHECKs that the pipe can be created.
  RunConsole(std::ostream& terminal, int64_t total_steps);
  RunConsole(const RunConsole&) = delete;
  RunConsole& operator=(const RunConsole&) = delete;
  // Stops the thread after it has printed what the pipe still holds; the last block stays.
  ~RunConsole();

  // The pipe's write end, for the children's stdout and stderr (close-on-exec: children get it
  // only through dup2).
  int child_output_fd() const { return pipe_write_; }
  // Starts the thread that reads the pipe and follows `metrics_file` (which may not exist yet).
  void start(const std::filesystem::path& metrics_file);
  // One line above the block.
  void print(std::string_view line);
  void set_workers(int64_t alive, int64_t total);

 private:
  void run(std::stop_token stop);
  // Prints the complete lines of `pending_` above the block; keeps a partial last line.
  void flush_complete_lines(bool including_partial);
  // Reads the rows appended to the metrics file since the last call into progress_.
  void read_new_metrics();
  void redraw();

  int pipe_read_ = -1;
  int pipe_write_ = -1;
  std::filesystem::path metrics_file_;
  std::uintmax_t metrics_offset_ = 0;
  std::string metrics_partial_;
  std::string pending_;  // Thread only.
  RunProgress progress_;  // Thread only.
  std::atomic<int64_t> workers_alive_{0};
  std::atomic<int64_t> workers_total_{0};
  std::mutex view_mutex_;
  StatusView view_;  // Guarded by view_mutex_.
  std::jthread thread_;
};

} // namespace caravan::apps
