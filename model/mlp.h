// File: model/mlp.h
// The SwiGLU feed-forward network of a Llama block: down(silu(gate(x)) * up(x)), no biases.
//
//   model::Mlp mlp(/*hidden=*/128, /*intermediate=*/352);
//   at::Tensor y = mlp(x);   // x, y: [..., 128]
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "model/linear.h"

namespace caravan::model {

// Registers gate_proj, up_proj, down_proj (".weight" each). Forward is stateless.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t hidden_size, int64_t intermediate_size);

  at::Tensor forward(const at::Tensor& x);

 private:
  Linear gate_proj_{nullptr};
  Linear up_proj_{nullptr};
  Linear down_proj_{nullptr};
};
TORCH_MODULE(Mlp);

} // namespace caravan::model
