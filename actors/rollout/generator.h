// File: actors/rollout/generator.h
// Batched autoregressive sampling with a KV cache: prompts of different lengths are
// left-padded into one batch, prefilled once, then decoded one token per step for all rows
// until every row has ended (stop id, stop string or max_new_tokens). Each row draws its tokens
// with its own rollout::SequenceSampler (actors/rollout/sampler.h: penalties, temperature,
// top-k/top-p/min-p, stop conditions), and each sampled token comes with its log-probability
// under the temperature-scaled distribution (model::token_logprobs with the same temperature the
// learner uses), so the learner's importance ratios compare like with like; penalties and
// truncation only narrow which tokens can be drawn and are not folded into the reported logprob,
// exactly as the learner recomputes it.
//
// Every row draws from its own random stream, seeded per row, so a row's tokens depend only
// on its prompt, its seed and the weights, not on the other rows of the batch (up to the
// floating-point rounding of the batched forward). A hook between decode steps lets the caller
// take finished rows out as they end and install new weights before the next step.
//
//   GenerationOptions options{.sampling = {.temperature = 1.0, .top_p = 0.95, .max_new_tokens = 8,
//                                          .stop_ids = encoder.stop_ids(), .seed = 42},
//                             .pad_id = tokenizer.pad_id()};
//   std::vector<GeneratedSequence> out = generate(*model, prompts, options);
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <vector>

#include "actors/rollout/sampler.h"
#include "actors/rollout/sampling_params.h"
#include "actors/rollout/stop_strings.h"
#include "model/llama.h"

namespace caravan::rollout {

struct GeneratedSequence;

// Called on the generating thread after every decode step, the last one included, with the
// sequences so far and the rows that ended at this step (stop id, stop string or max_new_tokens);
// every row ends exactly once. It may overwrite the model's weights in place: the following steps then
// decode with them (the KV cache of earlier positions stays as it was computed).
using StepHook = std::function<void(int64_t step, const std::vector<GeneratedSequence>& sequences,
                                    const std::vector<size_t>& ended)>;

struct GenerationOptions {
  // How every row samples and when it ends (validated: CARAVAN_CHECK). sampling.seed is the
  // base seed when row_seeds is empty: row b then uses sampling_seed(sampling.seed, b, 0). The
  // same seed, prompts and weights give the same output.
  SamplingParams sampling;
  // One seed per prompt row (sampling_seed(request seed, prompt index, sample index)), or empty.
  std::vector<uint64_t> row_seeds = {};
  // The bytes of each token id; required when sampling.stop_strings is non-empty, and must
  // outlive generate().
  const TokenText* token_text = nullptr;
  int32_t pad_id = 0;
  // Optional; see StepHook.
  StepHook on_step = {};
  // When requested, generation ends after the current step; unfinished rows are returned as
  // they are (no finish_reason, no hook call ends them).
  std::stop_token stop = {};
};

struct GeneratedSequence {
  // Sampled tokens, including the stop id or the token that completed a stop string.
  std::vector<int32_t> tokens;
  // logprobs[i] = log p(tokens[i] | prefix) under the sampling temperature (1.0 when greedy).
  std::vector<float> logprobs;
  // top_logprobs[i]: the sampling.top_logprobs most likely tokens at position i under the same
  // distribution, most likely first; empty (no positions) when sampling.top_logprobs is 0.
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  // Why the sequence ended; none when generation was stopped before it did.
  std::optional<FinishReason> finish_reason;
};

// One output per prompt, in order. Prompts must be non-empty and prompt + max_new_tokens must
// fit the model's max_position_embeddings (CARAVAN_CHECK: callers validate requests first).
// Runs under NoGradGuard on the model's device.
std::vector<GeneratedSequence> generate(model::LlamaImpl& model, const std::vector<std::vector<int32_t>>& prompts,
                                        const GenerationOptions& options);

} // namespace caravan::rollout
