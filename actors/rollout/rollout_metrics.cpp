#include "actors/rollout/rollout_metrics.h"

namespace caravan::rollout {

int64_t kv_bytes_per_position(const core::TransformerConfig& config, int64_t element_bytes) {
  return 2 * config.num_layers * config.num_kv_heads * config.head_dim() * element_bytes;
}

RolloutMetrics::RolloutMetrics(metrics::Registry& registry)
    : tokens_generated_(
          registry.add_counter("caravan_rollout_tokens_generated_total", "Tokens sampled by this rollout actor").add({})),
      busy_seconds_(registry.add_counter("caravan_rollout_busy_seconds_total", "Time this rollout actor spent generating")
                        .add({})),
      stopped_(registry.add_counter("caravan_rollout_completions_total",
                                    "Sequences generated, by how they ended (stop id or max_new_tokens)")
                   .add({{"finish_reason", "stop"}})),
      truncated_(registry.add_counter("caravan_rollout_completions_total",
                                      "Sequences generated, by how they ended (stop id or max_new_tokens)")
                     .add({{"finish_reason", "length"}})),
      response_length_(registry.add_histogram("caravan_rollout_response_length_tokens",
                                              "Generated tokens per sequence",
                                              {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768})
                           .add({})),
      queue_depth_(registry.add_gauge("caravan_rollout_queue_depth", "Requests accepted and not answered yet").add({})),
      kv_used_(registry.add_gauge("caravan_rollout_kv_cache_used_bytes", "KV-cache memory holding live tokens").add({})),
      kv_capacity_(registry.add_gauge("caravan_rollout_kv_cache_capacity_bytes", "KV-cache memory reserved").add({})),
      policy_version_(
          registry.add_gauge("caravan_rollout_policy_version", "Policy version of the weights generating now").add({})),
      weight_sync_(registry) {}

void RolloutMetrics::record_completion(int64_t tokens, bool truncated) {
  tokens_generated_.increment(static_cast<double>(tokens));
  response_length_.observe(static_cast<double>(tokens));
  (truncated ? truncated_ : stopped_).increment();
}

void RolloutMetrics::set_kv_cache(int64_t used_bytes, int64_t capacity_bytes) {
  kv_used_.set(static_cast<double>(used_bytes));
  kv_capacity_.set(static_cast<double>(capacity_bytes));
}

} // namespace caravan::rollout
