// File: learner/rollout_sampling.h
// What the learner must know of how the rollouts it trains on were sampled ([rollout] keys,
// composed by apps/ from the run config): the GRPO trainer applies the same temperature to the
// logits, so the ratio compares the policy with the distribution that sampled the tokens, and
// divides by max_new_tokens under the constant loss aggregation.
#pragma once

#include <cstdint>

namespace caravan::learner {

// The defaults are [rollout]'s (actors/rollout/rollout_options.h).
struct RolloutSampling {
  // [rollout] temperature, > 0.
  double temperature = 1.0;
  // [rollout] max_new_tokens: generated tokens per completion at most, >= 1.
  int64_t max_new_tokens = 8;
};

} // namespace caravan::learner
