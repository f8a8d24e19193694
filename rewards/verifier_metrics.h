// File: rewards/verifier_metrics.h
// The Prometheus series of a verifier process, registered once at construction; the pool's
// threads then only touch cached references. Per verifier name:
//   caravan_verifier_requests_total{verifier,status}   verdicts by status (ok, wrong, timeout, ...)
//   caravan_verifier_latency_seconds{verifier}         time spent in verify(), histogram
//   caravan_verifier_timeouts_total{verifier}          verdicts with status timeout
//   caravan_verifier_errors_total{verifier}            verdicts with status error (incl. exceptions)
//   caravan_verifier_sandbox_kills_total{verifier}     verdicts with status sandbox_violation
// and for the whole pool:
//   caravan_verifier_queue_depth                       jobs waiting for a thread
//   caravan_verifier_rejected_total                    batches refused for lack of room (back-pressure)
//   caravan_reward_config_info{version}                1 for the reward config in force ("none" without
//                                                      one), 0 for the versions it replaced
//   caravan_reward_config_loads_total                  reward configs loaded (first load and reloads)
//
//   auto registry = std::make_shared<metrics::Registry>();
//   VerifierMetrics metrics(*registry);
//   metrics.record("math", VerdictStatus::kOk, /*seconds=*/0.003);
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "core/metrics/registry.h"
#include "rewards/verdict.h"

namespace caravan::rewards {

// Thread-safe. `registry` must outlive this object.
class VerifierMetrics {
 public:
  explicit VerifierMetrics(metrics::Registry& registry);

  // Records one finished verification of `verifier` that took `seconds`.
  void record(std::string_view verifier, VerdictStatus status, double seconds);

  metrics::Gauge& queue_depth() { return queue_depth_; }
  metrics::Counter& rejected() { return rejected_; }
  // A reward config of `version` (core/reward_config.h: 12 hex digits) is in force now; called
  // on the first load and on every reload. Until then the version is "none".
  void set_reward_config(const std::string& version);

 private:
  // The series of one verifier name, created on its first record().
  struct PerVerifier {
    std::map<VerdictStatus, metrics::Counter*> requests;
    metrics::Histogram* latency;
    metrics::Counter* timeouts;
    metrics::Counter* errors;
    metrics::Counter* sandbox_kills;
  };
  const PerVerifier& series(std::string_view verifier);

  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Histogram>& latency_;
  metrics::Family<metrics::Counter>& timeouts_;
  metrics::Family<metrics::Counter>& errors_;
  metrics::Family<metrics::Counter>& sandbox_kills_;
  metrics::Gauge& queue_depth_;
  metrics::Counter& rejected_;
  metrics::Family<metrics::Gauge>& reward_config_info_;
  metrics::Counter& reward_config_loads_;
  std::mutex mutex_;
  // Guarded by mutex_: the version whose info series is 1.
  std::string reward_config_version_ = "none";
  // Guarded by mutex_. Entries are never removed, so references into it stay valid.
  std::map<std::string, PerVerifier, std::less<>> series_;
};

} // namespace caravan::rewards
