#include "model/linear.h"

#include <vector>

#include <ATen/autocast_mode.h>

namespace caravan::model {

at::Tensor project(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t in_features = weight.size(1);
  const bool one_row = x.dim() >= 1 && x.numel() == in_features && x.size(-1) == in_features;
  if (!one_row || !x.device().is_cpu() || at::autocast::is_cpu_enabled()) return at::linear(x, weight, bias);
  at::Tensor y = at::mv(weight, x.reshape({in_features}));
  if (bias.defined()) y = y + bias;
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = weight.size(0);
  return y.view(shape);
}

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool bias)
    : weight_(register_parameter("weight", at::empty({out_features, in_features}))) {
  if (bias) bias_ = register_parameter("bias", at::empty({out_features}));
}

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t dim)
    : weight_(register_parameter("weight", at::empty({num_embeddings, dim}))) {}

} // namespace caravan::model
