// File: actors/rollout/generator.h
// Batched autoregressive sampling with a KV cache: prompts of different lengths are
// left-padded into one batch, prefilled once, then decoded one token per step for all rows
// until every row has emitted a stop id or max_new_tokens is reached. Each sampled token comes
// with its log-probability under the temperature-scaled distribution (model::token_logprobs
// with the same temperature the learner uses), so the learner's importance ratios compare like
// with like; nucleus (top-p) truncation only narrows which tokens can be drawn and is not folded
// into the reported logprob, exactly as the learner recomputes it.
//
// Every row draws from its own random generator, seeded per row, so a row's tokens depend only
// on its prompt, its seed and the weights, not on the other rows of the batch (up to the
// floating-point rounding of the batched forward). A hook between decode steps lets the caller
// take finished rows out as they end and install new weights before the next step.
//
//   GenerationOptions options{.max_new_tokens = 8, .temperature = 1.0, .top_p = 0.95, .seed = 42,
//                             .stop_ids = encoder.stop_ids(), .pad_id = tokenizer.pad_id()};
//   std::vector<GeneratedSequence> out = generate(*model, prompts, options);
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <vector>

#include "model/llama.h"

namespace caravan::rollout {

struct GeneratedSequence;

// Called on the generating thread after every decode step, the last one included, with the
// sequences so far and the rows that ended at this step (stop id or max_new_tokens); every row
// ends exactly once. It may overwrite the model's weights in place: the following steps then
// decode with them (the KV cache of earlier positions stays as it was computed).
using StepHook = std::function<void(int64_t step, const std::vector<GeneratedSequence>& sequences,
                                    const std::vector<size_t>& ended)>;

struct GenerationOptions {
  // Tokens generated per sequence at most, >= 1.
  int64_t max_new_tokens = 8;
  // Sampling temperature; 0 = greedy (argmax).
  double temperature = 1.0;
  // Nucleus sampling: draw from the smallest set of most likely tokens whose probability
  // reaches top_p (the most likely token always stays). (0, 1]; 1 = no truncation. Ignored
  // when greedy.
  double top_p = 1.0;
  // Seed of the sampling generators when row_seeds is empty: row b uses
  // sampling_seed(seed, b, 0). The same seed, prompts and weights give the same output.
  uint64_t seed = 0;
  // One seed per prompt row (sampling_seed(request seed, prompt index, sample index)), or empty.
  std::vector<uint64_t> row_seeds = {};
  // Ids that end a sequence (model::PromptEncoder::stop_ids()); non-empty.
  std::vector<int32_t> stop_ids;
  int32_t pad_id = 0;
  // Optional; see StepHook.
  StepHook on_step = {};
  // When requested, generation ends after the current step; unfinished rows are returned as
  // they are (stopped = false, no hook call ends them).
  std::stop_token stop = {};
};

struct GeneratedSequence {
  // Sampled tokens, including the stop id when the sequence stopped.
  std::vector<int32_t> tokens;
  // logprobs[i] = log p(tokens[i] | prefix) under the sampling temperature (1.0 when greedy).
  std::vector<float> logprobs;
  // True if the sequence ended with a stop id; false if it was truncated at max_new_tokens.
  bool stopped = false;
};

// Seed of the generator of sample `sample_index` of prompt `prompt_index` under `seed`.
uint64_t sampling_seed(uint64_t seed, uint64_t prompt_index, uint64_t sample_index);

// One output per prompt, in order. Prompts must be non-empty and prompt + max_new_tokens must
// fit the model's max_position_embeddings (CARAVAN_CHECK: callers validate requests first).
// Runs under NoGradGuard on the model's device.
std::vector<GeneratedSequence> generate(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                                        const GenerationOptions& options);

} // namespace caravan::rollout
