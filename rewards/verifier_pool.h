// File: rewards/verifier_pool.h
// Runs verify() calls on N threads behind a bounded job queue, so one verifier process can
// judge many completions at once without unbounded memory. Submission is all-or-nothing per
// batch and refuses (back-pressure) when the queue has no room for the whole batch; the
// caller then tells its client to back off. Finished jobs are delivered to an owner-side
// completion mailbox, in finishing order, each carrying the caller's opaque tag.
//
// Each job is judged by rewards::judge() (rewards/reward_scoring.h), which runs verify() to
// completion on the pool's thread: deadlines are enforced by the verifiers themselves (e.g.
// MathVerifierOptions::deadline reports kTimeout); threads are never killed. An exception
// escaping verify(), a non-finite score, or an unknown verifier name becomes a kError verdict
// naming the verifier (an unknown one is counted as verifier="unknown").
//
//   VerifierMetrics metrics(*registry);
//   VerifierPool pool(verifiers, metrics, {.threads = 4, .queue_capacity = 1024});
//   if (!pool.try_submit({{.verifier = "math", .ground_truth = "42", .completion = "... 42", .tag = 7}})) {
//     reply_busy();
//   }
//   while (auto done = pool.pop(stop, 100ms)) use(done->tag, done->verdict);
//   size_t dropped = pool.close();
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "rewards/verifier_metrics.h"
#include "rewards/verifier_registry.h"

namespace caravan::rewards {

// One completion to judge. A plain value.
struct VerifyJob {
  // Registry name of the verifier, e.g. "math".
  std::string verifier;
  std::string ground_truth;
  std::string completion;
  // Opaque to the pool; returned with the result.
  uint64_t tag = 0;
  // The sample's source settings (reward config), passed to Verifier::verify().
  VerifySettings settings = {};
};

// A finished job. A plain value.
struct VerifyOutcome {
  uint64_t tag = 0;
  Verdict verdict;
  // Wall time spent in verify(), seconds.
  double seconds = 0.0;
};

struct VerifierPoolOptions {
  // Verification threads, 1..1024.
  int threads = 2;
  // Jobs that may wait for a thread (running ones not counted), >= 1.
  size_t queue_capacity = 1024;
};

// try_submit(), close() and queue_depth() are thread-safe; pop() is owner thread only.
// Non-copyable, non-movable (its threads point at it). The destructor calls close().
class VerifierPool {
 public:
  // `registry` and `metrics` must outlive the pool. Starts the threads.
  VerifierPool(const VerifierRegistry& registry, VerifierMetrics& metrics, const VerifierPoolOptions& options);
  VerifierPool(const VerifierPool&) = delete;
  VerifierPool& operator=(const VerifierPool&) = delete;
  ~VerifierPool();

  // Queues every job of `batch`, or none: returns false (and counts a rejection) when the queue
  // cannot take the whole batch now, or after close(). An empty batch is accepted.
  [[nodiscard]] bool try_submit(std::vector<VerifyJob> batch);

  // Owner thread only. The next finished job, waiting up to `timeout`; empty on timeout or
  // when `stop` is requested. Jobs finished before close() can still be popped after it.
  std::optional<VerifyOutcome> pop(std::stop_token stop, std::chrono::milliseconds timeout);

  // Stops accepting jobs, drops the queued ones, waits for the running verify() calls to
  // finish and joins the threads. Returns the number of dropped jobs; 0 on later calls.
  size_t close();

  // Jobs waiting for a thread.
  size_t queue_depth() const;
  size_t queue_capacity() const { return options_.queue_capacity; }

 private:
  void run_jobs(std::stop_token stop);
  VerifyOutcome verify(const VerifyJob& job);

  const VerifierRegistry& registry_;
  VerifierMetrics& metrics_;
  const VerifierPoolOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable_any job_ready_;   // signalled on submit
  std::condition_variable_any job_done_;    // signalled when an outcome is queued
  std::deque<VerifyJob> jobs_;              // Guarded by mutex_.
  std::deque<VerifyOutcome> outcomes_;      // Guarded by mutex_.
  bool closed_ = false;                     // Guarded by mutex_.
  // Declared last: the threads stop and join before the queues they use are destroyed.
  std::vector<std::jthread> threads_;
};

} // namespace caravan::rewards
