#include "learner/dpo_loss.h"

namespace caravan::learner {

Result<DpoLossType> dpo_loss_type_from_name(std::string_view name) {
  for (DpoLossType type : kAllDpoLossTypes) {
    if (dpo_loss_type_name(type) == name) return type;
  }
  return Status::invalid_argument(str_cat("unknown DPO loss \"", name, "\" (expected \"dpo\" or \"dpo_norm\")"));
}

std::string_view dpo_loss_type_name(DpoLossType type) {
  switch (type) {
    case DpoLossType::kSum:
      return "dpo";
    case DpoLossType::kMean:
      return "dpo_norm";
  }
  CARAVAN_CHECK(false, "bad DpoLossType ", static_cast<int>(type));
  return {};
}

at::Tensor sequence_logprobs(const at::Tensor& token_logprobs, const at::Tensor& mask, DpoLossType type) {
  CARAVAN_CHECK(token_logprobs.dim() == 2 && mask.sizes() == token_logprobs.sizes(), "sequence_logprobs shapes: ",
                token_logprobs.sizes(), " vs mask ", mask.sizes());
  const at::Tensor weights = mask.detach().to(token_logprobs.scalar_type());
  const at::Tensor sums = (token_logprobs * weights).sum(/*dim=*/1);
  switch (type) {
    case DpoLossType::kSum:
      return sums;
    case DpoLossType::kMean: {
      const at::Tensor counts = weights.sum(/*dim=*/1);
      CARAVAN_CHECK(counts.min().item<double>() > 0, "sequence_logprobs: a sequence has no response tokens");
      return sums / counts;
    }
  }
  CARAVAN_CHECK(false, "bad DpoLossType ", static_cast<int>(type));
  return {};
}

DpoLossTerms dpo_loss(const at::Tensor& policy_chosen, const at::Tensor& policy_rejected,
                      const at::Tensor& reference_chosen, const at::Tensor& reference_rejected, double beta) {
  CARAVAN_CHECK(beta > 0, "DPO beta must be > 0, got ", beta);
  CARAVAN_CHECK(policy_chosen.dim() == 1 && policy_rejected.sizes() == policy_chosen.sizes() &&
                    reference_chosen.sizes() == policy_chosen.sizes() &&
                    reference_rejected.sizes() == policy_chosen.sizes(),
                "dpo_loss shapes: ", policy_chosen.sizes(), " ", policy_rejected.sizes(), " ", reference_chosen.sizes(),
                " ", reference_rejected.sizes());
  const at::Tensor chosen_log_ratio = policy_chosen - reference_chosen.detach();
  const at::Tensor rejected_log_ratio = policy_rejected - reference_rejected.detach();
  const at::Tensor logits = beta * (chosen_log_ratio - rejected_log_ratio);
  return DpoLossTerms{.loss = -at::log_sigmoid(logits).mean(),
                      .chosen_rewards = (beta * chosen_log_ratio).detach(),
                      .rejected_rewards = (beta * rejected_log_ratio).detach()};
}

} // namespace caravan::learner
