// File: bench/model_shapes.h
// Model shapes more than one benchmark measures on (random weights; the benchmarks draw them).
//
//   core::TransformerConfig config = caravan::bench::qwen3_0_6b_shape();   // the full 28 layers
//   core::TransformerConfig slice = caravan::bench::qwen3_0_6b_shape(2);   // its first 2 layers' shape
#pragma once

#include <cstdint>

#include "core/transformer_config.h"

namespace caravan::bench {

// Qwen3-0.6B's shape: per-head QK-norm, 16 query / 8 key-value heads of 128, width 1024, MLP 3072,
// a tied 151936-token vocabulary, rope_theta 1e6, 4096 positions; `layers` of its 28.
inline core::TransformerConfig qwen3_0_6b_shape(int64_t layers = 28) {
  core::TransformerConfig config;
  config.architecture = core::Architecture::kQwen3;
  config.vocab_size = 151936;
  config.hidden_size = 1024;
  config.intermediate_size = 3072;
  config.num_layers = layers;
  config.num_heads = 16;
  config.num_kv_heads = 8;
  config.explicit_head_dim = 128;
  config.max_position_embeddings = 4096;
  config.rope_theta = 1000000.0;
  config.rms_norm_eps = 1e-6;
  config.tie_word_embeddings = true;
  return config;
}

} // namespace caravan::bench
