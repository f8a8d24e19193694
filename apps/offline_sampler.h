// File: apps/offline_sampler.h
// Samples completions for a list of prompts outside a run, for `caravan generate` and
// `caravan eval`, with the engine a run's rollout actors use (rollout::Engine: continuous
// batching over a paged KV cache, a prompt's samples sharing its KV blocks): every prompt goes
// into the engine as one request of samples_per_prompt samples; a progress line goes to the log
// every few seconds.
//
//   OfflineSamplingOptions options{.samples_per_prompt = 4};
//   options.sampling = {.temperature = 0.6, .top_p = 0.95, .max_new_tokens = 512, .stop_ids = encoder.stop_ids(),
//                       .seed = 1};
//   OfflineSampler sampler(model, options);
//   CARAVAN_ASSIGN_OR_RETURN(auto samples, sampler.sample(prompt_ids, "generate"));  // samples[p][s]
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "actors/rollout/engine.h"
#include "model/llama.h"

namespace caravan::apps {

struct OfflineSamplingOptions {
  // Completions per prompt, >= 1.
  int64_t samples_per_prompt = 1;
  // How every completion samples. sampling.seed is the base seed: sample s of prompt p draws
  // with sampling_seed(sampling.seed, p, s), so the same seed, prompts and weights give the same
  // completions whatever the batch.
  rollout::SamplingParams sampling;
  // KV cache size and step budget.
  rollout::EngineOptions engine;
  // Required when sampling.stop_strings is non-empty; must outlive the sampler.
  const rollout::TokenText* token_text = nullptr;
};

// Owner thread only; `model` must outlive the sampler.
class OfflineSampler {
 public:
  OfflineSampler(model::LlamaImpl& model, OfflineSamplingOptions options);

  // samples[p][s] is sample s of prompt p. Errors: the engine's (a bad option, a prompt that is
  // empty or does not fit the context or the KV cache, naming the prompt). `label` starts each
  // progress line ("generate: prompts 8/25 completions 32/100 ...").
  Result<std::vector<std::vector<rollout::SequenceOutput>>> sample(const std::vector<std::vector<int32_t>>& prompts,
                                                                   std::string_view label);

 private:
  model::LlamaImpl& model_;
  OfflineSamplingOptions options_;
};

} // namespace caravan::apps
