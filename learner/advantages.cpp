#include "learner/advantages.h"

#include <limits>

#include "core/status.h"

namespace caravan::learner {

at::Tensor group_advantages(const at::Tensor& rewards, const at::Tensor& judged, double eps) {
  CARAVAN_CHECK(rewards.dim() == 2, "rewards must be [num_groups, group_size], got rank ", rewards.dim());
  CARAVAN_CHECK(at::isFloatingType(rewards.scalar_type()), "rewards must be floating point");
  CARAVAN_CHECK(judged.sizes() == rewards.sizes() && judged.scalar_type() == at::kBool,
                "judged must be a bool tensor shaped like rewards ", rewards.sizes(), ", got ", judged.sizes());
  CARAVAN_CHECK(eps > 0, "eps must be > 0, got ", eps);
  const at::Tensor weight = judged.to(rewards.scalar_type());
  // Selected, not multiplied: an unjudged entry may hold anything, and NaN * 0 is NaN.
  const at::Tensor r = at::where(judged, rewards.detach(), at::zeros_like(rewards));
  const at::Tensor count = weight.sum(/*dim=*/{1}, /*keepdim=*/true);
  const at::Tensor centered = (r - r.sum(/*dim=*/{1}, /*keepdim=*/true) / count.clamp_min(1)) * weight;
  const at::Tensor variance = (centered * centered).sum(/*dim=*/{1}, /*keepdim=*/true) / (count - 1).clamp_min(1);
  const at::Tensor advantages = centered / (variance.sqrt() + eps);
  // Identical judged rewards give exact zeros, whatever the rounding of the mean.
  const double inf = std::numeric_limits<double>::infinity();
  const at::Tensor highest = at::where(judged, rewards, at::full_like(rewards, -inf)).amax(/*dim=*/{1}, /*keepdim=*/true);
  const at::Tensor lowest = at::where(judged, rewards, at::full_like(rewards, inf)).amin(/*dim=*/{1}, /*keepdim=*/true);
  const at::Tensor has_signal = (count >= 2).logical_and(highest > lowest);
  return at::where(has_signal, advantages, at::zeros_like(advantages)).detach();
}

} // namespace caravan::learner
