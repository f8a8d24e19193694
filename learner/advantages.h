// File: learner/advantages.h
// GRPO's group-relative advantage estimator: every completion is scored against the other
// completions of the same prompt, so no value network is needed.
//
//   // rewards[g][s]: reward of sample s of prompt group g.
//   at::Tensor rewards = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 4});
//   at::Tensor advantages = learner::group_advantages(rewards, /*eps=*/1e-6);
//   // -> [[0.866, -0.866, -0.866, 0.866]]
#pragma once

#include <ATen/ATen.h>

namespace caravan::learner {

// advantages[g][s] = (rewards[g][s] - mean_g) / (std_g + eps), where mean_g and std_g are the
// mean and the UNBIASED standard deviation (divide by n - 1; torch's default, as in TRL's
// GRPOTrainer) of row g.
//
// `rewards`: [num_groups, group_size], floating point, any device. Returns a tensor of the
// same shape, dtype and device; no gradient flows (rewards are data).
// A group whose rewards are all identical carries no learning signal and gets all-zero
// advantages (r - mean = 0 exactly). A group of size 1 has no unbiased std; it gets zeros too.
// `eps` > 0 guards the division for near-identical rewards.
// Wrong rank or dtype is a bug (CARAVAN_CHECK throws InternalError).
at::Tensor group_advantages(const at::Tensor& rewards, double eps);

} // namespace caravan::learner
