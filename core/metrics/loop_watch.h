// File: core/metrics/loop_watch.h
// Liveness of a process's main loop, for /healthz (core/metrics/exposer.h): the loop calls
// beat() on every iteration; alive() holds while the last beat is recent. A loop that hangs (a
// deadlock, a wait without timeout) or has ended stops beating, and the probe fails.
//
//   metrics::LoopWatch loop(std::chrono::seconds(20));
//   ExposerOptions options{.live = [&] { return loop.alive(); }};
//   while (running) { loop.beat(); ... }
//   loop.finish();
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace caravan::metrics {

// Thread-safe and lock-free.
class LoopWatch {
 public:
  using Clock = std::chrono::steady_clock;

  // `stale_after` > 0: the longest gap between beats of a healthy loop (a few of its ticks).
  // Alive from construction, as a loop about to start.
  explicit LoopWatch(std::chrono::milliseconds stale_after)
      : stale_after_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(stale_after).count()) {
    beat();
  }

  void beat() { last_beat_ns_.store(now_ns(), std::memory_order_relaxed); }
  // The loop has ended for good: alive() is false from now on.
  void finish() { finished_.store(true, std::memory_order_relaxed); }

  bool alive() const {
    return !finished_.load(std::memory_order_relaxed) &&
           now_ns() - last_beat_ns_.load(std::memory_order_relaxed) <= stale_after_ns_;
  }

 private:
  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  }

  const int64_t stale_after_ns_;
  std::atomic<int64_t> last_beat_ns_{0};
  std::atomic<bool> finished_{false};
};

} // namespace caravan::metrics
