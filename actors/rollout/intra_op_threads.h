// File: actors/rollout/intra_op_threads.h
// How many intra-op (OpenMP) threads the engine's next CPU step uses: as many as the cores other
// processes leave free, at most the configured count. A fork-join step with more threads than
// free cores waits at every parallel region's barrier for a thread the scheduler has put aside
// (measured on a 2-core machine beside two busy loops: 2 PASSIVE threads 16x slower, 1 thread
// 1.6x; bench/RESULTS.md), so on a shared machine the step then degrades far more than the share
// of CPU it lost; with the threads following the free cores it degrades in proportion.
//
//   IntraOpThreads threads(/*most=*/at::get_num_threads(), /*cores=*/std::thread::hardware_concurrency());
//   // before each step:
//   if (Result<int64_t> others = other_runnable_tasks(); others.ok()) at::set_num_threads(threads.next(*others));
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace caravan::rollout {

class IntraOpThreads {
 public:
  // most >= 1: the configured thread count; cores >= 1: the machine's (CARAVAN_CHECK).
  IntraOpThreads(int most, int cores);

  // `others`: tasks runnable on the machine now besides the caller (other_runnable_tasks()).
  // Returns the threads for the next step: the cores minus a moving average of `others` (weight
  // 1/4 on the newest reading; the first reading alone at first), rounded, within [1, most].
  int next(int64_t others);

  int most() const { return most_; }

 private:
  int most_;
  int cores_;
  double others_average_ = -1;  // < 0 before the first reading
};

// The `procs_running N` field of a /proc/stat text: tasks running or runnable at that moment,
// the reader included. kInvalidArgument naming the field when it is missing or malformed.
Result<int64_t> procs_running(std::string_view proc_stat);

// Tasks of other processes runnable now: procs_running of /proc/stat minus this process's
// threads in state R (/proc/self/task/*/stat; the caller among them, and OpenMP workers that
// still spin after a parallel region under an ACTIVE wait policy). kUnavailable naming the file
// when /proc/stat cannot be read.
Result<int64_t> other_runnable_tasks();

} // namespace caravan::rollout
