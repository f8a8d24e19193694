// File: actors/rollout/rollout_options.h
// The options of the rollout actors ([rollout]): how many, how they sample, the engine's KV cache and batching.
// The run config (apps/run_config.h) holds one; apps/run_config_reader.cpp fills it from TOML.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace caravan::rollout {

// [rollout]
struct RolloutOptions {
  // Number of rollout actor processes, >= 1.
  int64_t actors = 1;
  // Sampling temperature for RL rollouts, > 0 (held-out evaluation is always greedy).
  double temperature = 1.0;
  // Nucleus sampling for RL rollouts: sample from the smallest set of tokens whose probability
  // reaches top_p; 1 = the full distribution. (0, 1].
  double top_p = 1.0;
  // Generated tokens per completion, >= 1.
  int64_t max_new_tokens = 8;
  // The sampling controls of RL rollouts (actors/rollout/sampler.h gives their order); held-out
  // evaluation ignores them (greedy), except stop_strings.
  // Keep the top_k most likely tokens; 0 = off. 0..1e9.
  int64_t top_k = 0;
  // Keep tokens with p >= min_p * (largest p); 0 = off. [0, 1).
  double min_p = 0.0;
  // HF/CTRL repetition penalty on prompt and completion tokens; 1 = off. > 0.
  double repetition_penalty = 1.0;
  // OpenAI/vLLM presence penalty on completion tokens; 0 = off. [-2, 2].
  double presence_penalty = 0.0;
  // OpenAI/vLLM frequency penalty on completion tokens; 0 = off. [-2, 2].
  double frequency_penalty = 0.0;
  // A completion ends with the token that completes one of these strings; each non-empty.
  std::vector<std::string> stop_strings;
  // Also return the top_logprobs most likely tokens' logprobs at each position; 0 = off. 0..20.
  int64_t top_logprobs = 0;
  // The rollout engine (actors/rollout/engine_options.h). KV cache size in bytes; 0 = take
  // kv_cache_fraction of the memory available at start instead. >= 0.
  int64_t kv_cache_bytes = 0;
  // Fraction of the available memory for the KV cache when kv_cache_bytes is 0, (0, 1]: of the
  // host's (MemAvailable) on CPU, of the GPU's free memory on CUDA. The cache never exceeds what
  // max_running_sequences full-context sequences need.
  double kv_cache_fraction = 0.2;
  // Positions per KV block, 1..4096.
  int64_t kv_block_size = 16;
  // Tokens one engine step computes at most (prompt chunks and decode steps together), >= 1.
  int64_t max_step_tokens = 512;
  // Sequences generating at once at most, >= 1.
  int64_t max_running_sequences = 256;
};

} // namespace caravan::rollout
