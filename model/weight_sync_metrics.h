// File: model/weight_sync_metrics.h
// The weight-sync series of a process that takes part in syncs (the learner sends, rollout
// actors receive), fed from the WeightSyncStats a WeightTransport returns:
//   caravan_weight_sync_seconds        histogram, wall time of one sync on this process
//   caravan_weight_sync_bytes_total    weight bytes sent or received (GB/s = rate(bytes) / rate(seconds_sum))
//   caravan_weight_sync_errors_total   syncs that failed on this process
//
//   model::WeightSyncMetrics sync_metrics(registry);
//   Result<WeightSyncStats> stats = transport.synchronize(...);
//   if (stats.ok()) sync_metrics.record(stats->bytes, stats->seconds); else sync_metrics.record_error();
// (No LibTorch here: the arguments are WeightSyncStats' fields, model/weight_transport.h.)
#pragma once

#include <cstdint>

#include "core/metrics/registry.h"

namespace caravan::model {

// Thread-safe. `registry` must outlive this object.
class WeightSyncMetrics {
 public:
  explicit WeightSyncMetrics(metrics::Registry& registry);

  // One finished sync that moved `bytes` in `seconds` (the one feeding point: transports report
  // both in WeightSyncStats).
  void record(int64_t bytes, double seconds);
  void record_error() { errors_.increment(); }

 private:
  metrics::Histogram& seconds_;
  metrics::Counter& bytes_;
  metrics::Counter& errors_;
};

} // namespace caravan::model
