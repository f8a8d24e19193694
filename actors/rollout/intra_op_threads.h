// File: actors/rollout/intra_op_threads.h
// How many intra-op (OpenMP) threads the engine's next CPU step uses on a machine it may share:
// the count within [1, most] under which this process receives the most CPU time per wall
// second, found by measuring it. A fork-join step with more threads than the scheduler gives it
// cores waits at every parallel region's barrier for a thread put aside (on the 2-core machine
// beside two busy loops: 2 PASSIVE threads 16x slower, 1 thread 1.6x; bench/RESULTS.md). With
// OpenMP threads that sleep while they wait (OMP_WAIT_POLICY=PASSIVE, [run] thread_wait's
// default) a thread waiting at a barrier uses no CPU, so the CPU time the process receives per
// wall second is the rate at which its step works, whatever decides it: the cores other
// processes leave free, or the scheduler's grouping (Linux autogroups give each session one
// share, so counting the machine's runnable tasks, as /proc/stat's procs_running, misjudges it).
// Under a spinning wait policy the spin counts as CPU received, and the choice leans to more
// threads.
//
// The policy: steps are measured in windows of at least `window_seconds`; each thread count has
// a moving estimate of its rate (CPU seconds per wall second). The chosen count runs; after its
// first window, and then after `probe_windows_min` windows, one window runs a neighbouring count
// (one fewer or one more, alternating), and the chosen count moves there when its rate is
// `switch_gain` times higher.
// Each probe that confirms the choice doubles the windows until the next one (at most
// `probe_windows_max`), so a stable machine pays for few probes; a window whose rate differs from
// its estimate by `change_ratio` (the machine changed) brings the next probe back to at most
// `probe_windows_min` windows after the last one (at once when that is longer ago).
//
//   IntraOpThreads threads(/*most=*/at::get_num_threads());
//   // each step:
//   at::set_num_threads(threads.threads());
//   const auto wall = std::chrono::steady_clock::now(); const double cpu = process_cpu_seconds();
//   run_step();
//   threads.observe(seconds_since(wall), process_cpu_seconds() - cpu);
#pragma once

#include <vector>

namespace caravan::rollout {

struct IntraOpThreadsOptions {
  // Wall time of the steps one measurement spans at least, seconds, > 0.
  double window_seconds = 0.1;
  // Windows of the chosen count between probes: after a change, and at most; 1 <= min <= max.
  int probe_windows_min = 2;
  int probe_windows_max = 64;
  // A probed count is chosen when its rate exceeds the chosen count's by this factor, >= 1.
  double switch_gain = 1.1;
  // A window whose rate is this factor above or below its count's estimate (a change of the
  // machine) brings the next probe forward, > 1.
  double change_ratio = 1.5;
};

// Owner thread only (the engine's).
class IntraOpThreads {
 public:
  // most >= 1: the configured thread count, the first one run (CARAVAN_CHECK, as the options).
  explicit IntraOpThreads(int most, IntraOpThreadsOptions options = {});

  // The thread count of the next step.
  int threads() const { return running_; }
  int most() const { return most_; }

  // The last step, run on threads(): its wall seconds and the CPU seconds this process received
  // meanwhile (process_cpu_seconds() before and after). Negative values count as 0.
  void observe(double wall_seconds, double cpu_seconds);

 private:
  void end_window();
  // The count to probe from chosen_: one fewer or one more, alternating where both exist.
  int neighbour();

  int most_;
  IntraOpThreadsOptions options_;
  int chosen_;
  int running_;               // chosen_, or the count a probe window runs
  std::vector<double> rate_;  // rate_[n - 1]: the estimate for n threads; < 0 before a measurement
  double window_wall_ = 0;
  double window_cpu_ = 0;
  int windows_since_probe_ = 0;
  int probe_interval_;
  bool probe_fewer_next_ = true;
};

// CPU seconds this process has received, all its threads (CLOCK_PROCESS_CPUTIME_ID).
double process_cpu_seconds();

} // namespace caravan::rollout
