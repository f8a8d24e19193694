// File: learner/advantages.h
// Advantage estimators: how much better than expected each sampled completion (or token) was.
// The group estimators score every completion against the other completions of its prompt, so
// no value network is needed; GAE uses a value model's per-token estimates.
//
//   GRPO      (DeepSeekMath, Shao et al. 2024)    A = (r - mean_g) / (std_g + eps)
//   Dr. GRPO  (Liu et al. 2025, arXiv 2503.20783) A = r - mean_g
//   RLOO      (Ahmadian et al. 2024)              A = r - mean of the group's other samples
//   REINFORCE++ (Hu 2025, arXiv 2501.03262)       A_t = sum_{s>=t} R_s, or r - mean_g with the
//                                                 group baseline, then normalised over all
//                                                 completion tokens of the batch
//   GAE       (Schulman et al. 2016)              A_t = sum_l (gamma lambda)^l delta_{t+l}
// The dispatch follows verl's trainer/ppo/core_algos.py (compute_grpo_outcome_advantage,
// compute_rloo_outcome_advantage, compute_reinforce_plus_plus[_baseline]_outcome_advantage,
// compute_gae_advantage_return): an outcome reward sits on the last completion token, a KL
// penalty in the reward on every completion token, and a group estimator sees their sum.
//
//   // rewards[g][s]: reward of sample s of prompt group g.
//   at::Tensor rewards = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 4});
//   at::Tensor judged = at::ones({1, 4}, at::kBool);
//   at::Tensor advantages = learner::group_advantages(rewards, judged, /*eps=*/1e-6);
//   // -> [[0.866, -0.866, -0.866, 0.866]]
//
// Unjudged samples (the verifier timed out or failed) never give a signal and never move their
// group's baseline, whatever their reward entry holds (NaN included). All functions are pure
// (thread-safe), return tensors without gradient, and treat wrong ranks, shapes or dtypes as
// bugs (CARAVAN_CHECK throws InternalError).
#pragma once

#include <ATen/ATen.h>

#include "core/status.h"
#include "learner/advantage_options.h"
#include "learner/sum_over_ranks.h"

namespace caravan::learner {

// GRPO: advantages[g][s] = (rewards[g][s] - mean_g) / (std_g + eps) where judged[g][s], else 0;
// mean_g and std_g are the mean and the UNBIASED standard deviation (divide by n - 1; torch's
// default, as in TRL's GRPOTrainer) of the judged entries of row g.
// `rewards`: [num_groups, group_size], floating point, any device; `judged`: bool, same shape
// and device. Returns a tensor shaped and typed like `rewards`. A group whose judged rewards
// are all identical carries no learning signal and gets all-zero advantages (r - mean = 0
// exactly). A group with fewer than 2 judged samples has no unbiased std; it gets zeros too.
// `eps` > 0 guards the division for near-identical rewards.
at::Tensor group_advantages(const at::Tensor& rewards, const at::Tensor& judged, double eps);

// Dr. GRPO: rewards[g][s] - mean_g over the judged entries of row g, 0 where unjudged. Same
// shapes and zero cases as group_advantages (a group of identical rewards or a single judged
// sample gives zeros).
at::Tensor centered_advantages(const at::Tensor& rewards, const at::Tensor& judged);

// RLOO: rewards[g][s] - (sum of the other judged rewards of row g) / (n_g - 1), which equals
// n_g / (n_g - 1) * (rewards[g][s] - mean_g); 0 where unjudged and for groups with n_g < 2.
at::Tensor leave_one_out_advantages(const at::Tensor& rewards, const at::Tensor& judged);

// (values - mean) / (std + eps) with mean and unbiased std over the cells where mask != 0;
// 0 outside the mask. Fewer than 2 cells: values - mean (nothing to scale by). `values` and
// `mask` share shape; mask is 0/1 of any dtype. With `sum_over_ranks` (learner/sum_over_ranks.h)
// the cells are those of every rank's `values` (its part of the batch, possibly no rows): the
// sum and count, then the squared deviations from the whole mean, are each summed over the ranks
// (two collectives), so every rank whitens by the whole batch's statistics. Without it no error
// can occur.
Result<at::Tensor> masked_whiten(const at::Tensor& values, const at::Tensor& mask, double eps,
                                 const SumOverRanks& sum_over_ranks = {});

// returns[b][t] = sum_{s >= t, mask} gamma^(s - t) token_rewards[b][s], 0 outside the mask.
// The completion cells of a row must be contiguous (as SequenceBatch's loss_mask is). [B,T].
at::Tensor discounted_returns(const at::Tensor& token_rewards, const at::Tensor& mask, double gamma);

struct GaeResult {
  // [B,T], 0 outside the mask.
  at::Tensor advantages;
  // advantages + values: the value model's regression target, [B,T], 0 outside the mask.
  at::Tensor returns;
};

// Generalised advantage estimation over the contiguous completion cells of each row:
//   delta_t = r_t + gamma * V_{t+1} - V_t        (V past the last completion token = 0)
//   A_t     = delta_t + gamma * lambda * A_{t+1}
// `token_rewards`, `values`, `mask`: [B,T], same floating dtype; gamma, lambda in [0, 1].
GaeResult gae(const at::Tensor& token_rewards, const at::Tensor& values, const at::Tensor& mask, double gamma,
              double lambda);

// What estimate_advantages reads. B = number of judged samples, in row-major order of the
// [G,S] tables (the order the trainer packs them in).
struct AdvantageInputs {
  // [G,S] outcome rewards from the verifiers; anything where !judged.
  at::Tensor rewards;
  // [G,S] bool.
  at::Tensor judged;
  // [B,T] 1 on the completion tokens of the judged samples, 0 elsewhere.
  at::Tensor mask;
  // [B,T] per-token rewards added to the outcome (-coef * kl with the KL penalty in the
  // reward), 0 outside the mask; undefined = none.
  at::Tensor token_rewards = {};
  // [B,T] the value model's V(s_t) per completion token (read from the hidden state that
  // predicts token t); required by gae, undefined for the other estimators.
  at::Tensor values = {};
  // With data-parallel ranks, each holding some of the batch's whole groups: how the batch-wide
  // whitening (reinforce_pp; gae with gae_whiten) sums its statistics over the ranks. Every rank
  // then calls estimate_advantages, with its own groups (none judged, B = 0, on a rank with
  // nothing to train). Empty = one learner with the whole batch.
  SumOverRanks sum_over_ranks = {};
};

struct AdvantageEstimate {
  // [B,T] float32, 0 outside the mask.
  at::Tensor advantages;
  // gae only: the value model's regression targets GaeResult::returns (unwhitened advantages +
  // values), [B,T] float32; undefined for the other estimators.
  at::Tensor returns = {};
};

// Per-token advantages for options.estimator. The outcome reward counts as the reward of a
// sample's last completion token. Group estimators (grpo, dr_grpo, rloo, reinforce_pp with
// group_baseline) see each sample's total reward (outcome plus the sum of its token rewards) and
// give every token of the sample the same advantage; reinforce_pp without the baseline uses the
// undiscounted per-token returns. reinforce_pp then whitens over all completion tokens of the
// batch. gae runs gae() on those per-token rewards and inputs.values with gae_gamma and
// gae_lambda, then whitens the advantages over the batch when gae_whiten (verl
// compute_gae_advantage_return). inputs.values must be defined exactly for gae (CARAVAN_CHECK).
// Errors: those of inputs.sum_over_ranks (none without it).
Result<AdvantageEstimate> estimate_advantages(const AdvantageInputs& inputs, const AdvantageOptions& options);

} // namespace caravan::learner
