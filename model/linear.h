// File: model/linear.h
// The bias-free linear layer every Llama projection uses.
//
//   torch::nn::Linear q_proj = register_module("q_proj", model::linear_no_bias(128, 128));
#pragma once

#include <cstdint>

#include <torch/nn/modules/linear.h>

namespace caravan::model {

// y = x W^T with W [out_features, in_features]; default (Kaiming) init, which Llama overwrites.
inline torch::nn::Linear linear_no_bias(int64_t in_features, int64_t out_features) {
  return torch::nn::Linear(torch::nn::LinearOptions(in_features, out_features).bias(false));
}

} // namespace caravan::model
