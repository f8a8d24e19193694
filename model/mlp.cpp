#include "model/mlp.h"

#include "model/linear.h"

namespace caravan::model {

MlpImpl::MlpImpl(int64_t hidden_size, int64_t intermediate_size) {
  gate_proj_ = register_module("gate_proj", Linear(hidden_size, intermediate_size, /*bias=*/false));
  up_proj_ = register_module("up_proj", Linear(hidden_size, intermediate_size, /*bias=*/false));
  down_proj_ = register_module("down_proj", Linear(intermediate_size, hidden_size, /*bias=*/false));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  return down_proj_(at::silu(gate_proj_(x)) * up_proj_(x));
}

} // namespace caravan::model
