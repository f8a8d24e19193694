// File: actors/rollout/engine_stats.h
// What the rollout engine reports for metrics and progress lines: a plain snapshot
// (Engine::stats()) of its queue, batch, KV cache, prefix cache and throughput.
//
//   EngineStats s = engine->stats();
//   log::info("running=", s.running, " kv_blocks_used=", s.kv_blocks_used, " decode_tps=", s.decode_tokens_per_second());
#pragma once

#include <cstdint>

namespace caravan::rollout {

// Counters that only grow over the engine's life.
struct EngineCounters {
  int64_t preemptions = 0;     // sequences preempted (each time)
  int64_t prefill_tokens = 0;  // positions computed by prefill chunks (recomputation included)
  int64_t decode_tokens = 0;   // tokens sampled
  int64_t prefix_cached_tokens = 0;  // prompt positions taken from the prefix cache or a group's fork
  int64_t steps = 0;
  int64_t cuda_graph_steps = 0;  // steps replayed from a CUDA graph (EngineOptions::cuda_graphs)
  double prefill_seconds = 0;  // step time split between prefill and decode by their token shares
  double decode_seconds = 0;
};

struct EngineStats {
  int64_t waiting = 0;    // sequences queued (queue depth), preempted ones included
  int64_t running = 0;    // sequences holding KV blocks
  int64_t preempted = 0;  // queued sequences that were preempted and await recomputation
  int64_t kv_blocks_used = 0;
  int64_t kv_blocks_free = 0;
  int64_t prefix_lookups = 0;  // full prompt blocks looked up in the prefix cache
  int64_t prefix_hits = 0;     // of which found
  EngineCounters totals;

  // prefix_hits / prefix_lookups, 0 before any lookup.
  double prefix_hit_rate() const {
    return prefix_lookups > 0 ? static_cast<double>(prefix_hits) / static_cast<double>(prefix_lookups) : 0.0;
  }
  double prefill_tokens_per_second() const {
    return totals.prefill_seconds > 0 ? static_cast<double>(totals.prefill_tokens) / totals.prefill_seconds : 0.0;
  }
  double decode_tokens_per_second() const {
    return totals.decode_seconds > 0 ? static_cast<double>(totals.decode_tokens) / totals.decode_seconds : 0.0;
  }
};

} // namespace caravan::rollout
