// File: actors/rollout/engine_options.h
// The rollout engine's settings ([rollout] keys of the run config, flags of generate/eval) and
// how many KV-cache blocks they buy.
//
//   EngineOptions options{.kv_cache_bytes = 512 << 20, .block_size = 16};
//   CARAVAN_ASSIGN_OR_RETURN(int64_t blocks, kv_cache_blocks(options, model->config(), at::kFloat,
//                                                            /*available_bytes=*/0));  // unused: bytes set
#pragma once

#include <cstdint>

#include <c10/core/ScalarType.h>

#include "core/status.h"
#include "core/transformer_config.h"

namespace caravan::rollout {

struct EngineOptions {
  // KV cache size in bytes; > 0 wins over kv_cache_fraction.
  int64_t kv_cache_bytes = 0;
  // Else this fraction of the memory available on the engine's device when it starts, (0, 1]:
  // host memory (MemAvailable) on CPU, the GPU's free memory on CUDA (available_memory_bytes).
  double kv_cache_fraction = 0.2;
  // Positions per KV block, >= 1.
  int64_t block_size = 16;
  // Tokens one engine step computes at most (prefill chunks and decode steps together), >= 1.
  int64_t max_step_tokens = 512;
  // Sequences running at once at most, >= 1.
  int64_t max_running = 256;
  // A request's samples share its prompt's KV blocks and prompts reuse cached KV blocks of equal
  // prefixes; false prefills every sample on its own (the benchmark's baseline).
  bool share_prefixes = true;
  // Sequences of a step attend in groups of similar context length (model::ContextGrouping::
  // kByContext), so a decode step's attention work follows each sequence's own context; false
  // pads every group to its longest context (the benchmark's baseline).
  bool group_by_context = true;
  // On CPU, each step's intra-op threads follow the CPU the machine gives this process: the count
  // that receives the most CPU time per wall second (IntraOpThreads, measured over the engine's
  // steps), at most LibTorch's thread count when the engine was made (restored when it is
  // destroyed); false keeps that count (the benchmark's baseline).
  bool follow_free_cores = true;
  // On a CUDA device (builds with CARAVAN_WITH_CUDA), decode-only steps replay CUDA graphs
  // captured per bucket of batch size and key length (actors/rollout/decode_graphs.h); false
  // runs every step eagerly.
  bool cuda_graphs = true;

  // kInvalidArgument naming the field.
  [[nodiscard]] Status validate() const;
};

// The number of KV blocks `options` allow for `config` in `dtype`: kv_cache_bytes, or
// kv_cache_fraction of `available_bytes` (the cache device's free memory,
// available_memory_bytes(); read only when kv_cache_bytes is 0), divided by the bytes of one
// block, and at most what max_running sequences of the full context (plus one copy-on-write block
// each) use. kInvalidArgument (naming the option) for invalid options or when that is not even
// one block.
Result<int64_t> kv_cache_blocks(const EngineOptions& options, const core::TransformerConfig& config,
                                c10::ScalarType dtype, int64_t available_bytes);

} // namespace caravan::rollout
