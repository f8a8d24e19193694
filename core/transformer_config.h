// File: core/transformer_config.h
// Architecture of a Llama-family decoder. Plain data shared by the config parser (core/config)
// and the model (model/llama.h); checkpoints store it as Hugging Face config.json keys.
//
//   core::TransformerConfig config;           // the embedded tiny default
//   config.num_layers = 4;
//   model::Llama model(config);
#pragma once

#include <cstdint>

namespace caravan::core {

struct TransformerConfig {
  // Number of token ids the embedding and the output head cover.
  int64_t vocab_size = 259;
  // Width of the residual stream. Must be a multiple of num_heads.
  int64_t hidden_size = 128;
  // Width of the SwiGLU MLP's gate/up projections.
  int64_t intermediate_size = 352;
  int64_t num_layers = 4;
  // Query heads; head_dim = hidden_size / num_heads.
  int64_t num_heads = 4;
  // Key/value heads for grouped-query attention; must divide num_heads.
  int64_t num_kv_heads = 2;
  // Longest sequence (prompt + completion) the model and its KV cache handle, in tokens.
  int64_t max_position_embeddings = 64;
  // RoPE base frequency.
  double rope_theta = 10000.0;
  // RMSNorm epsilon.
  double rms_norm_eps = 1e-5;
  // Share the embedding matrix with the output head.
  bool tie_word_embeddings = false;

  int64_t head_dim() const { return hidden_size / num_heads; }
};

} // namespace caravan::core
