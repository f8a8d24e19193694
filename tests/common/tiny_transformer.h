// File: tests/common/tiny_transformer.h
// The small Llama architecture most model and rollout tests run: 2 layers, width 32, 4 query
// heads over 2 key/value heads (so GQA is exercised), a 32-token context.
//
//   model::Llama model(caravan::testing::tiny_transformer_config(/*vocab_size=*/40));
#pragma once

#include <cstdint>

#include "core/transformer_config.h"

namespace caravan::testing {

inline core::TransformerConfig tiny_transformer_config(int64_t vocab_size) {
  core::TransformerConfig config;
  config.vocab_size = vocab_size;
  config.hidden_size = 32;
  config.intermediate_size = 48;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.max_position_embeddings = 32;
  return config;
}

} // namespace caravan::testing
