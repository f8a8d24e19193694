// File: bench/rollout_workload.h
// The model and the workload of the rollout benchmarks, shared by bench_rollout and the other
// rollout measurements: a random-weight Qwen3-shaped model and a fixed, seeded set of prompts.
//
//   core::TransformerConfig config = caravan::bench::rollout_model_config(/*quick=*/false);  // ~100 M
//   model::Llama model = caravan::bench::random_model(config, /*seed=*/1);
//   caravan::bench::RolloutWorkload work = caravan::bench::rollout_workload(256, 64, 512, 128, config.vocab_size, 7);
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include <ATen/ATen.h>

#include "core/transformer_config.h"
#include "model/llama.h"

namespace caravan::bench {

// Qwen3-shaped (per-head q/k norms, GQA, tied embeddings, explicit head_dim 64). Full: 12
// layers, width 768, 12 query / 4 key-value heads, MLP 2048, vocabulary 32000: ~100 M
// parameters. Quick: 4 layers, width 256, 4 / 2 heads, MLP 704, vocabulary 8000: ~6 M.
inline core::TransformerConfig rollout_model_config(bool quick) {
  core::TransformerConfig config;
  config.architecture = core::Architecture::kQwen3;
  config.tie_word_embeddings = true;
  config.explicit_head_dim = 64;
  config.max_position_embeddings = 2048;
  config.rms_norm_eps = 1e-6;
  config.vocab_size = quick ? 8000 : 32000;
  config.hidden_size = quick ? 256 : 768;
  config.intermediate_size = quick ? 704 : 2048;
  config.num_layers = quick ? 4 : 12;
  config.num_heads = quick ? 4 : 12;
  config.num_kv_heads = quick ? 2 : 4;
  return config;
}

// Weights ~ N(0, 0.02) from `seed`, in eval mode.
inline model::Llama random_model(const core::TransformerConfig& config, uint64_t seed) {
  at::manual_seed(seed);
  model::Llama model(config);
  model->eval();
  return model;
}

struct RolloutWorkload {
  std::vector<std::vector<int32_t>> prompts;
  int64_t max_new_tokens = 0;
};

// `requests` prompts of uniformly random lengths in [min_prompt, max_prompt] and random token
// ids in [0, vocab_size), all from `seed`.
inline RolloutWorkload rollout_workload(int64_t requests, int64_t min_prompt, int64_t max_prompt, int64_t max_new_tokens,
                                        int64_t vocab_size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> length(min_prompt, max_prompt);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(vocab_size - 1));
  RolloutWorkload workload{.prompts = {}, .max_new_tokens = max_new_tokens};
  for (int64_t r = 0; r < requests; ++r) {
    std::vector<int32_t> prompt(static_cast<size_t>(length(rng)));
    for (int32_t& id : prompt) id = token(rng);
    workload.prompts.push_back(std::move(prompt));
  }
  return workload;
}

} // namespace caravan::bench
