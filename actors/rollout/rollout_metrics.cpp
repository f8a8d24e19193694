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
      running_(registry.add_gauge("caravan_rollout_sequences", "Engine sequences by state").add({{"state", "running"}})),
      waiting_(registry.add_gauge("caravan_rollout_sequences", "Engine sequences by state").add({{"state", "waiting"}})),
      preempted_(registry.add_gauge("caravan_rollout_sequences", "Engine sequences by state").add({{"state", "preempted"}})),
      preemptions_(registry.add_counter("caravan_rollout_preemptions_total",
                                        "Sequences preempted because KV blocks ran out (recomputed later)")
                       .add({})),
      prefill_tokens_(registry.add_counter("caravan_rollout_prefill_tokens_total",
                                           "Positions prefilled, recomputation after preemption included")
                          .add({})),
      prefix_cached_tokens_(registry.add_counter("caravan_rollout_prefix_cached_tokens_total",
                                                 "Prompt positions reused from shared KV blocks instead of prefilled")
                                .add({})),
      prefix_hit_ratio_(registry.add_gauge("caravan_rollout_prefix_cache_hit_ratio",
                                           "Fraction of full prompt blocks found in the prefix cache")
                            .add({})),
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

void RolloutMetrics::record_engine(const EngineStats& stats, int64_t block_bytes) {
  set_kv_cache(stats.kv_blocks_used * block_bytes, (stats.kv_blocks_used + stats.kv_blocks_free) * block_bytes);
  running_.set(static_cast<double>(stats.running));
  waiting_.set(static_cast<double>(stats.waiting));
  preempted_.set(static_cast<double>(stats.preempted));
  preemptions_.increment(static_cast<double>(stats.totals.preemptions - last_totals_.preemptions));
  prefill_tokens_.increment(static_cast<double>(stats.totals.prefill_tokens - last_totals_.prefill_tokens));
  prefix_cached_tokens_.increment(
      static_cast<double>(stats.totals.prefix_cached_tokens - last_totals_.prefix_cached_tokens));
  prefix_hit_ratio_.set(stats.prefix_hit_rate());
  last_totals_ = stats.totals;
}

} // namespace caravan::rollout
