// File: actors/rollout/generator.h
// Batched autoregressive sampling with a KV cache: prompts of different lengths are
// left-padded into one batch, prefilled once, then decoded one token per step for all rows
// until every row has emitted a stop id or max_new_tokens is reached. Each sampled token comes
// with its log-probability under the temperature-scaled distribution (model::token_logprobs
// with the same temperature the learner uses), so the learner's importance ratios compare like
// with like; nucleus (top-p) truncation only narrows which tokens can be drawn and is not folded
// into the reported logprob, exactly as the learner recomputes it.
//
//   GenerationOptions options{.max_new_tokens = 8, .temperature = 1.0, .top_p = 0.95, .seed = 42,
//                             .stop_ids = encoder.stop_ids(), .pad_id = tokenizer.pad_id()};
//   std::vector<GeneratedSequence> out = generate(*model, prompts, options);
#pragma once

#include <cstdint>
#include <vector>

#include "model/llama.h"

namespace caravan::rollout {

struct GenerationOptions {
  // Tokens generated per sequence at most, >= 1.
  int64_t max_new_tokens = 8;
  // Sampling temperature; 0 = greedy (argmax).
  double temperature = 1.0;
  // Nucleus sampling: draw from the smallest set of most likely tokens whose probability
  // reaches top_p (the most likely token always stays). (0, 1]; 1 = no truncation. Ignored
  // when greedy.
  double top_p = 1.0;
  // Seed of the sampling generator; the same seed, prompts and weights give the same output.
  uint64_t seed = 0;
  // Ids that end a sequence (model::PromptEncoder::stop_ids()); non-empty.
  std::vector<int32_t> stop_ids;
  int32_t pad_id = 0;
};

struct GeneratedSequence {
  // Sampled tokens, including the stop id when the sequence stopped.
  std::vector<int32_t> tokens;
  // logprobs[i] = log p(tokens[i] | prefix) under the sampling temperature (1.0 when greedy).
  std::vector<float> logprobs;
  // True if the sequence ended with a stop id; false if it was truncated at max_new_tokens.
  bool stopped = false;
};

// One output per prompt, in order. Prompts must be non-empty and prompt + max_new_tokens must
// fit the model's max_position_embeddings (CARAVAN_CHECK: callers validate requests first).
// Runs under NoGradGuard on the model's device.
std::vector<GeneratedSequence> generate(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                                        const GenerationOptions& options);

} // namespace caravan::rollout
