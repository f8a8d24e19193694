// File: learner/advantages.h
// GRPO's group-relative advantage estimator: every completion is scored against the other
// completions of the same prompt, so no value network is needed.
//
//   // rewards[g][s]: reward of sample s of prompt group g.
//   at::Tensor rewards = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 4});
//   at::Tensor judged = at::ones({1, 4}, at::kBool);
//   at::Tensor advantages = learner::group_advantages(rewards, judged, /*eps=*/1e-6);
//   // -> [[0.866, -0.866, -0.866, 0.866]]
#pragma once

#include <ATen/ATen.h>

namespace caravan::learner {

// advantages[g][s] = (rewards[g][s] - mean_g) / (std_g + eps) where judged[g][s], else 0;
// mean_g and std_g are the mean and the UNBIASED standard deviation (divide by n - 1; torch's
// default, as in TRL's GRPOTrainer) of the judged entries of row g. Unjudged samples (the
// verifier timed out or failed) neither get a signal nor move their group's baseline, whatever
// their reward entry holds (NaN included).
//
// `rewards`: [num_groups, group_size], floating point, any device; `judged`: bool, same shape
// and device. Returns a tensor shaped and typed like `rewards`; no gradient flows (rewards are
// data). A group whose judged rewards are all identical carries no learning signal and gets
// all-zero advantages (r - mean = 0 exactly). A group with fewer than 2 judged samples has no
// unbiased std; it gets zeros too. `eps` > 0 guards the division for near-identical rewards.
// Wrong rank, shape or dtype is a bug (CARAVAN_CHECK throws InternalError).
at::Tensor group_advantages(const at::Tensor& rewards, const at::Tensor& judged, double eps);

} // namespace caravan::learner
