#include "learner/grpo_loss.h"

#include "core/status.h"

namespace caravan::learner {

GrpoLossOutput grpo_loss(const GrpoLossInputs& inputs, const GrpoLossOptions& options) {
  const at::Tensor& logprobs = inputs.logprobs;
  CARAVAN_CHECK(logprobs.dim() == 2, "logprobs must be [B,T], got rank ", logprobs.dim());
  for (const at::Tensor* t : {&inputs.old_logprobs, &inputs.ref_logprobs, &inputs.mask}) {
    CARAVAN_CHECK(t->sizes() == logprobs.sizes(), "GRPO inputs disagree in shape: ", t->sizes(), " vs ",
                  logprobs.sizes());
  }
  CARAVAN_CHECK(inputs.advantages.dim() == 1 && inputs.advantages.size(0) == logprobs.size(0),
                "advantages must be [B]=[", logprobs.size(0), "], got ", inputs.advantages.sizes());
  CARAVAN_CHECK(!inputs.weights.defined() || (inputs.weights.dim() == 1 && inputs.weights.size(0) == logprobs.size(0)),
                "weights must be [B]=[", logprobs.size(0), "], got ", inputs.weights.sizes());

  const at::Tensor old_logprobs = inputs.old_logprobs.detach();
  const at::Tensor ref_logprobs = inputs.ref_logprobs.detach();
  const at::Tensor mask = inputs.mask.detach().to(logprobs.scalar_type());
  const at::Tensor advantages = inputs.advantages.detach().to(logprobs.scalar_type()).unsqueeze(1);
  const at::Tensor weights = inputs.weights.defined() ? inputs.weights.detach().to(logprobs.scalar_type()).unsqueeze(1)
                                                      : at::ones({logprobs.size(0), 1}, logprobs.options());

  // Log-ratios are zeroed outside the mask before exp(): a prompt or padding cell may hold any
  // gap (a pad token's logprob is meaningless), and exp() of a large one is inf, which neither
  // `* mask` nor at::where() can undo (inf * 0 is NaN, in the loss and in its gradient).
  const at::Tensor selected = mask != 0;
  const at::Tensor zero = at::zeros({}, logprobs.options());
  const at::Tensor log_ratio = at::where(selected, logprobs - old_logprobs, zero);
  const at::Tensor ratio = at::exp(log_ratio);
  const at::Tensor unclipped = ratio * advantages;
  const at::Tensor clipped = at::clamp(ratio, 1.0 - options.clip_low, 1.0 + options.clip_high) * advantages;
  const at::Tensor policy_loss = -at::minimum(unclipped, clipped);

  const at::Tensor log_ref_over_policy = at::where(selected, ref_logprobs - logprobs, zero);
  const at::Tensor k3 = at::exp(log_ref_over_policy) - log_ref_over_policy - 1.0;

  const at::Tensor token_loss = policy_loss + options.kl_coef * k3;
  const at::Tensor denominator = mask.sum().clamp_min(1.0);

  GrpoLossOutput output;
  output.loss = (token_loss * weights * mask).sum() / denominator;
  {
    at::NoGradGuard no_grad;
    const at::Tensor clip_active = (clipped < unclipped).to(mask.scalar_type());
    output.kl_mean = ((k3 * mask).sum() / denominator).item<double>();
    output.clip_fraction = ((clip_active * mask).sum() / denominator).item<double>();
  }
  return output;
}

} // namespace caravan::learner
