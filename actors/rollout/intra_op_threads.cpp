#include "actors/rollout/intra_op_threads.h"

#include <time.h>

#include <algorithm>

#include "core/status.h"

namespace caravan::rollout {

IntraOpThreads::IntraOpThreads(int most, IntraOpThreadsOptions options)
    : most_(most),
      options_(options),
      chosen_(most),
      running_(most),
      rate_(static_cast<size_t>(std::max(most, 1)), -1.0),
      probe_interval_(1) {  // the first probe right after the first window: short runs learn fast too
  CARAVAN_CHECK(most >= 1, "IntraOpThreads: most must be >= 1, got ", most);
  CARAVAN_CHECK(options.window_seconds > 0 && options.probe_windows_min >= 1 &&
                    options.probe_windows_max >= options.probe_windows_min && options.switch_gain >= 1 &&
                    options.change_ratio > 1,
                "IntraOpThreads: invalid options (window_seconds ", options.window_seconds, ", probe_windows ",
                options.probe_windows_min, "..", options.probe_windows_max, ", switch_gain ", options.switch_gain,
                ", change_ratio ", options.change_ratio, ")");
}

void IntraOpThreads::observe(double wall_seconds, double cpu_seconds) {
  window_wall_ += std::max(0.0, wall_seconds);
  window_cpu_ += std::max(0.0, cpu_seconds);
  if (window_wall_ >= options_.window_seconds) end_window();
}

int IntraOpThreads::neighbour() {
  const bool fewer = chosen_ == most_ || (chosen_ > 1 && probe_fewer_next_);
  probe_fewer_next_ = !fewer;
  return fewer ? chosen_ - 1 : chosen_ + 1;
}

void IntraOpThreads::end_window() {
  const double rate = window_cpu_ / window_wall_;
  window_wall_ = 0;
  window_cpu_ = 0;
  double& estimate = rate_[static_cast<size_t>(running_ - 1)];
  if (running_ != chosen_) {
    // A probe: its one window replaces what may be an old estimate.
    estimate = rate;
    if (rate > options_.switch_gain * rate_[static_cast<size_t>(chosen_ - 1)]) {
      chosen_ = running_;
      probe_interval_ = options_.probe_windows_min;
    } else {
      probe_interval_ = std::min(2 * probe_interval_, options_.probe_windows_max);
    }
    running_ = chosen_;
    windows_since_probe_ = 0;
    return;
  }
  const bool changed =
      estimate > 0 && (rate > options_.change_ratio * estimate || rate * options_.change_ratio < estimate);
  estimate = estimate < 0 || changed ? rate : 0.5 * estimate + 0.5 * rate;
  if (changed) probe_interval_ = options_.probe_windows_min;
  ++windows_since_probe_;
  if (most_ > 1 && windows_since_probe_ >= probe_interval_) running_ = neighbour();
}

double process_cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

} // namespace caravan::rollout
