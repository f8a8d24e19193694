// File: apps/status_view.h
// The live status block `caravan run` keeps at the bottom of a terminal while ordinary log
// lines scroll above it:
//
//   12:00:01.234 I role=controller rank=0 step=3/4 reward_mean=0.412 ...
//   caravan  step 3/4  [###############-----]  75%  ETA 0:00:04  (4.1 s/step)
//   reward 0.412  accuracy 38.5%  tokens/s 1.2k  sync 0.31 s  workers 6/6
//
// It writes ANSI escape sequences (cursor up, erase to the end of the screen) to the stream it
// is given; where stdout is not a terminal `caravan run` does not use it at all and prints plain
// log lines only.
//
//   StatusView view(std::cout, /*width=*/terminal_columns());
//   view.update(progress.snapshot(alive, total));
//   view.print_line("12:00:02.000 I role=learner ...");   // scrolls above the block
//   view.close();                                           // the last block stays on screen
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "apps/run_progress.h"

namespace caravan::apps {

// The block's lines for `progress`, plain text (no escape sequences), each cut to at most
// `width` - 1 columns (a line that filled the last column would wrap on some terminals). Pure.
std::vector<std::string> format_status_block(const ProgressSnapshot& progress, int width);

// "0:00:07", "1:02:03"; "-" for a negative or non-finite number of seconds. Pure.
std::string format_duration(double seconds);

// Not thread-safe: one owner (apps/run_console.h serialises the calls).
class StatusView {
 public:
  // `terminal` must outlive the view. `width`: the terminal's columns, >= 1.
  StatusView(std::ostream& terminal, int width);

  // Writes `line` above the block, then redraws the block below it.
  void print_line(std::string_view line);
  // Redraws the block for `progress`.
  void update(const ProgressSnapshot& progress);
  // The terminal was resized: later blocks are cut to `width` columns.
  void set_width(int width);
  // Leaves the last block on screen with the cursor below it; later print_line() calls scroll
  // below it and draw no block.
  void close();

 private:
  // Moves the cursor to the block's first line and erases from there to the end of the screen.
  void erase_block();
  void draw_block();

  std::ostream& terminal_;
  int width_;
  std::vector<std::string> block_;
  // Lines of the block now on screen above the cursor (0 when none is).
  size_t drawn_lines_ = 0;
  bool closed_ = false;
};

} // namespace caravan::apps
