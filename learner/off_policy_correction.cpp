#include "learner/off_policy_correction.h"

#include "core/status.h"

namespace caravan::learner {
namespace {

void check_shapes(const at::Tensor& learner_logprobs, const at::Tensor& rollout_logprobs, const at::Tensor& mask) {
  CARAVAN_CHECK(learner_logprobs.dim() == 2 && rollout_logprobs.sizes() == learner_logprobs.sizes() &&
                    mask.sizes() == learner_logprobs.sizes(),
                "learner logprobs ", learner_logprobs.sizes(), ", rollout logprobs ", rollout_logprobs.sizes(),
                " and mask ", mask.sizes(), " must share one [B,T] shape");
}

// x_learner - x_rollout where selected, else 0 (float32).
at::Tensor masked_gap(const at::Tensor& learner_logprobs, const at::Tensor& rollout_logprobs,
                        const at::Tensor& selected) {
  const at::Tensor gap = learner_logprobs.detach().to(at::kFloat) - rollout_logprobs.detach().to(at::kFloat);
  return at::where(selected, gap, at::zeros({}, gap.options()));
}

} // namespace

CorrectionWeights off_policy_correction(const at::Tensor& learner_logprobs, const at::Tensor& rollout_logprobs,
                                        const at::Tensor& mask, const OffPolicyCorrectionOptions& options) {
  check_shapes(learner_logprobs, rollout_logprobs, mask);
  at::NoGradGuard no_grad;
  const at::Tensor selected = mask != 0;
  const at::Tensor ones = at::ones(learner_logprobs.sizes(), learner_logprobs.options().dtype(at::kFloat));
  CorrectionWeights out{.weights = ones};
  if (!options.enabled()) return out;
  // The gap is zeroed outside the mask before exp(), so the ratio there is exactly 1.
  const at::Tensor ratio = at::exp(masked_gap(learner_logprobs, rollout_logprobs, selected));
  const at::Tensor count = selected.sum().clamp_min(1).to(at::kFloat);
  at::Tensor weights = ones;
  if (options.tis_cap > 0) {
    weights = at::clamp_max(ratio, options.tis_cap);
    out.truncated_fraction = (selected.logical_and(ratio > options.tis_cap).sum() / count).item<double>();
  }
  if (options.mask_high > 0) {
    const at::Tensor outside = selected.logical_and((ratio < options.mask_low).logical_or(ratio > options.mask_high));
    weights = at::where(outside, at::zeros({}, ones.options()), weights);
    out.masked_fraction = (outside.sum() / count).item<double>();
  }
  out.weights = weights;
  return out;
}

LogprobMismatch logprob_mismatch(const at::Tensor& learner_logprobs, const at::Tensor& rollout_logprobs,
                                 const at::Tensor& mask) {
  check_shapes(learner_logprobs, rollout_logprobs, mask);
  at::NoGradGuard no_grad;
  const at::Tensor selected = mask != 0;
  LogprobMismatch out;
  out.tokens = selected.sum().item<int64_t>();
  if (out.tokens == 0) return out;
  const at::Tensor gap = masked_gap(learner_logprobs, rollout_logprobs, selected).abs();
  out.max_abs = gap.max().item<double>();
  out.mean_abs = (gap.sum() / static_cast<double>(out.tokens)).item<double>();
  return out;
}

} // namespace caravan::learner
