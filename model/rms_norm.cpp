#include "model/rms_norm.h"

namespace caravan::model {

RMSNormImpl::RMSNormImpl(int64_t width, double eps)
    : eps_(eps), weight_(register_parameter("weight", at::ones({width}))) {}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) const {
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  return weight_ * (x32 * at::rsqrt(variance + eps_)).to(x.scalar_type());
}

} // namespace caravan::model
