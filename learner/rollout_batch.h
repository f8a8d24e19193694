// File: learner/rollout_batch.h
// What the learner trains on in one GRPO step: groups of completions of the same prompt, with
// the rollout policy's per-token logprobs and the verifier's reward. Plain data, no proto:
// the learner worker converts TrainBatch messages into these.
//
//   learner::RolloutGroup group{.prompt_id = 7, .prompt_tokens = {1, 40, 41}};
//   group.samples.push_back({.tokens = {52, 2}, .logprobs = {-0.1f, -0.3f}, .reward = 1.0f});
//   CARAVAN_ASSIGN_OR_RETURN(learner::GrpoStepStats stats, trainer.step({group}));
#pragma once

#include <cstdint>
#include <vector>

namespace caravan::learner {

// One sampled completion.
struct RolloutSample {
  // Completion token ids (without the prompt); may be empty.
  std::vector<int32_t> tokens = {};
  // log pi_old(tokens[i]) under the rollout policy at its sampling temperature; same length.
  std::vector<float> logprobs = {};
  // Scalar reward from the verifier.
  float reward = 0;
  // False when the verifier could not judge the sample (timeout, error): it is left out of the
  // update and of its group's baseline, never trained on as if it scored `reward`.
  bool judged = true;
  // Policy version that generated the completion (for staleness accounting).
  uint64_t policy_version = 0;
  // Multiplies the sample's loss terms (learner/policy_loss.h: the policy loss and, with PPO,
  // the value loss), finite and >= 0: 1, or less for a sample the controller down-weights as
  // stale. Does not change its group's baseline or its advantages.
  float weight = 1.0f;
};

// All completions of one prompt (the GRPO group).
struct RolloutGroup {
  uint64_t prompt_id = 0;
  // Prompt token ids; must be non-empty.
  std::vector<int32_t> prompt_tokens = {};
  std::vector<RolloutSample> samples = {};
};

} // namespace caravan::learner
