#include "model/weight_sync_metrics.h"

namespace caravan::model {

WeightSyncMetrics::WeightSyncMetrics(metrics::Registry& registry)
    : seconds_(registry.add_histogram("caravan_weight_sync_seconds", "Wall time of one weight sync on this process",
                                      {0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120})
                   .add({})),
      bytes_(registry.add_counter("caravan_weight_sync_bytes_total", "Weight bytes sent or received by syncs").add({})),
      errors_(registry.add_counter("caravan_weight_sync_errors_total", "Weight syncs that failed on this process")
                  .add({})) {}

void WeightSyncMetrics::record(int64_t bytes, double seconds) {
  seconds_.observe(seconds);
  bytes_.increment(static_cast<double>(bytes));
}

} // namespace caravan::model
