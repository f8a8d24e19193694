// File: learner/dpo_loss.h
// Direct Preference Optimization (Rafailov et al. 2023), sigmoid loss, with the length-normalised
// variant Tülu 3 trained with (open-instruct's "dpo_norm"). For a pair (chosen c, rejected r)
// of responses to one prompt, with sequence log-probabilities under the policy (pi) and the
// frozen reference (ref):
//
//   reward_c = beta * (log pi(c) - log ref(c))        reward_r = beta * (log pi(r) - log ref(r))
//   loss     = -log sigmoid(reward_c - reward_r)      (mean over pairs)
//
// DpoLossType::kSum ("dpo") takes log pi(y) as the sum of the response's token log-probabilities;
// kMean ("dpo_norm") as their mean per response token (open-instruct dpo_utils.py:
// _get_batch_logps(average_log_prob=True) for both policy and reference, then the same
// dpo_loss), which removes the sum's bias toward longer responses (as SimPO argues).
//
//   at::Tensor lp = model::token_logprobs(logits, batch.targets, 1.0);            // [2B, T]
//   at::Tensor seq = learner::sequence_logprobs(lp, batch.loss_mask, DpoLossType::kMean);
//   DpoLossTerms terms = learner::dpo_loss(seq.slice(0, 0, B), seq.slice(0, B), ref.slice(0, 0, B), ref.slice(0, B), 5.0);
//   terms.loss.backward();
#pragma once

#include <array>
#include <string_view>

#include <ATen/ATen.h>

#include "core/status.h"

namespace caravan::learner {

enum class DpoLossType {
  // Sequence log-probability = sum over the response tokens ("dpo").
  kSum,
  // Sequence log-probability = mean over the response tokens ("dpo_norm").
  kMean,
};
inline constexpr std::array<DpoLossType, 2> kAllDpoLossTypes = {DpoLossType::kSum, DpoLossType::kMean};

// "dpo" or "dpo_norm" (the [dpo] loss spelling). kInvalidArgument naming the value otherwise.
Result<DpoLossType> dpo_loss_type_from_name(std::string_view name);
std::string_view dpo_loss_type_name(DpoLossType type);

// Per-sequence log-probability of the masked tokens: [B] from token_logprobs [B, T] and mask
// [B, T] (1 = response token). kMean divides by the mask's row sum (a row without response
// tokens is a bug: CARAVAN_CHECK). Differentiable with respect to token_logprobs.
at::Tensor sequence_logprobs(const at::Tensor& token_logprobs, const at::Tensor& mask, DpoLossType type);

struct DpoLossTerms {
  // Scalar: mean over pairs of -log sigmoid(chosen_rewards - rejected_rewards). Differentiable
  // with respect to the policy inputs.
  at::Tensor loss;
  // [B], detached: beta * (policy - reference) log-probability of each response.
  at::Tensor chosen_rewards;
  at::Tensor rejected_rewards;
};

// All inputs [B] sequence log-probabilities (sequence_logprobs); the reference ones carry no
// gradient (they are detached here). beta > 0. Shape mismatches are bugs (CARAVAN_CHECK).
DpoLossTerms dpo_loss(const at::Tensor& policy_chosen, const at::Tensor& policy_rejected,
                      const at::Tensor& reference_chosen, const at::Tensor& reference_rejected, double beta);

} // namespace caravan::learner
