// File: actors/rollout/rollout_metrics.h
// The Prometheus series of a rollout actor process, registered once; the engine thread and the
// socket thread update them through cached references:
//   caravan_rollout_tokens_generated_total           tokens sampled (tokens/s = rate())
//   caravan_rollout_busy_seconds_total               time spent generating (busy tokens/s = ratio of the rates)
//   caravan_rollout_completions_total{finish_reason} sequences ended by a stop id ("stop") or
//                                                    cut at max_new_tokens ("length": truncation rate)
//   caravan_rollout_response_length_tokens           histogram of generated tokens per sequence
//   caravan_rollout_queue_depth                      requests accepted and not answered yet
//   caravan_rollout_kv_cache_used_bytes              KV memory holding live tokens now
//   caravan_rollout_kv_cache_capacity_bytes          KV memory reserved now
//   caravan_rollout_policy_version                   version of the weights generating now
//   caravan_rollout_sequences{state}                 engine sequences running / waiting / preempted
//   caravan_rollout_preemptions_total                sequences preempted (KV blocks ran out)
//   caravan_rollout_prefill_tokens_total             positions prefilled (recomputation included)
//   caravan_rollout_prefix_cached_tokens_total       prompt positions reused from shared KV blocks
//   caravan_rollout_prefix_cache_hit_ratio           full prompt blocks found in the prefix cache
// plus the weight-sync series of model/weight_sync_metrics.h.
// Each number has one feeding call; an engine with other bookkeeping (a paged cache, a
// scheduler queue) calls the same setters with its own numbers.
//
//   RolloutMetrics metrics(*registry);
//   metrics.record_completion(/*tokens=*/17, /*truncated=*/false);
//   metrics.set_kv_cache(used_bytes, capacity_bytes);
#pragma once

#include <cstdint>

#include "actors/rollout/engine_stats.h"
#include "core/metrics/registry.h"
#include "core/transformer_config.h"
#include "model/weight_sync_metrics.h"

namespace caravan::rollout {

// Bytes of keys and values one token position takes in every layer: 2 (K and V) * layers *
// kv_heads * head_dim * bytes per element.
int64_t kv_bytes_per_position(const core::TransformerConfig& config, int64_t element_bytes);

// Thread-safe. `registry` must outlive this object.
class RolloutMetrics {
 public:
  explicit RolloutMetrics(metrics::Registry& registry);

  // A sequence ended with `tokens` generated tokens; `truncated` when max_new_tokens cut it.
  void record_completion(int64_t tokens, bool truncated);
  // A batch (or engine iteration) that generated for `seconds`.
  void record_busy(double seconds) { busy_seconds_.increment(seconds); }
  void set_queue_depth(size_t requests) { queue_depth_.set(static_cast<double>(requests)); }
  void set_kv_cache(int64_t used_bytes, int64_t capacity_bytes);
  // After an engine step: its sequences, KV blocks (of `block_bytes` each), prefix cache and
  // the growth of its counters since the last call.
  void record_engine(const EngineStats& stats, int64_t block_bytes);
  void set_policy_version(uint64_t version) { policy_version_.set(static_cast<double>(version)); }
  model::WeightSyncMetrics& weight_sync() { return weight_sync_; }

 private:
  metrics::Counter& tokens_generated_;
  metrics::Counter& busy_seconds_;
  metrics::Counter& stopped_;
  metrics::Counter& truncated_;
  metrics::Histogram& response_length_;
  metrics::Gauge& queue_depth_;
  metrics::Gauge& kv_used_;
  metrics::Gauge& kv_capacity_;
  metrics::Gauge& policy_version_;
  metrics::Gauge& running_;
  metrics::Gauge& waiting_;
  metrics::Gauge& preempted_;
  metrics::Counter& preemptions_;
  metrics::Counter& prefill_tokens_;
  metrics::Counter& prefix_cached_tokens_;
  metrics::Gauge& prefix_hit_ratio_;
  EngineCounters last_totals_;  // of the previous record_engine (engine thread only)
  model::WeightSyncMetrics weight_sync_;
};

} // namespace caravan::rollout
