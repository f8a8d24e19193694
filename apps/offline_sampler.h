// File: apps/offline_sampler.h
// Samples completions for a list of prompts outside a run, for `caravan generate` and
// `caravan eval`, with the rollout code a run uses (rollout::generate): the prompts, each
// repeated samples_per_prompt times with group members adjacent, go through the model in
// batches of about batch_size sequences; a progress line goes to the log after each batch.
//
//   OfflineSamplingOptions options{.samples_per_prompt = 4, .batch_size = 16};
//   options.generation = {.sampling = {.temperature = 0.6, .top_p = 0.95, .max_new_tokens = 512,
//                                      .stop_ids = encoder.stop_ids(), .seed = 1},
//                         .pad_id = tokenizer.pad_id()};
//   OfflineSampler sampler(model, options);
//   std::vector<std::vector<rollout::GeneratedSequence>> samples = sampler.sample(prompt_ids, "generate");
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "actors/rollout/generator.h"
#include "model/llama.h"

namespace caravan::apps {

struct OfflineSamplingOptions {
  // Completions per prompt, >= 1.
  int64_t samples_per_prompt = 1;
  // Sequences per forward batch (a prompt's samples are never split), >= 1.
  int64_t batch_size = 16;
  // How every batch is sampled. Batch b uses seed splitmix(generation.sampling.seed ^ splitmix(b)): the
  // same seed, prompts, batch_size and weights give the same completions.
  rollout::GenerationOptions generation;
};

// Owner thread only; `model` must outlive the sampler.
class OfflineSampler {
 public:
  OfflineSampler(model::LlamaImpl& model, OfflineSamplingOptions options);

  // samples[p][s] is sample s of prompt p. Every prompt must be non-empty and fit the model
  // with max_new_tokens (CARAVAN_CHECK: callers check and report bad rows first). `label`
  // starts each progress line ("generate: prompts 32/100 ...").
  std::vector<std::vector<rollout::GeneratedSequence>> sample(const std::vector<std::vector<int32_t>>& prompts,
                                                              std::string_view label);

 private:
  model::LlamaImpl& model_;
  OfflineSamplingOptions options_;
};

} // namespace caravan::apps
