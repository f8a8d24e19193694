#include "learner/advantages.h"

#include "core/status.h"

namespace caravan::learner {

at::Tensor group_advantages(const at::Tensor& rewards, double eps) {
  CARAVAN_CHECK(rewards.dim() == 2, "rewards must be [num_groups, group_size], got rank ", rewards.dim());
  CARAVAN_CHECK(at::isFloatingType(rewards.scalar_type()), "rewards must be floating point");
  CARAVAN_CHECK(eps > 0, "eps must be > 0, got ", eps);
  const at::Tensor r = rewards.detach();
  if (r.size(1) < 2) return at::zeros_like(r);
  const at::Tensor centered = r - r.mean(/*dim=*/{1}, /*keepdim=*/true);
  const at::Tensor std = r.std(/*dim=*/{1}, /*unbiased=*/true, /*keepdim=*/true);
  return centered / (std + eps);
}

} // namespace caravan::learner
