// File: model/linear.h
// The linear layers of the decoder's projections (bias-free everywhere except Qwen2's q/k/v) and
// the output head: y = x W^T (+ b), W [out_features, in_features], b [out_features], registered
// as "weight" and "bias" like torch::nn::Linear so Hugging Face names match. Unlike
// torch::nn::Linear the parameters are created uninitialised: the model that owns them draws
// them once (model::Llama's random init) or loads them from a checkpoint, and a load never pays
// for a random init it throws away.
//
//   model::Linear q_proj = register_module("q_proj", model::Linear(128, 128, /*bias=*/true));
//   at::Tensor y = q_proj(x);
#pragma once

#include <cstdint>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace caravan::model {

// y = x W^T (+ b) over x's last dimension, the same function as at::linear (bias may be
// undefined). One row on the CPU (batch-1 decode) goes through a matrix-vector product instead:
// for a single row OpenBLAS's sgemm still packs the whole weight matrix, reading it twice where
// sgemv streams it once, and decode at batch 1 is bound by reading the weights (2-3x at the
// 151936 x 1024 output head here). Under CPU autocast it stays at::linear, which autocast casts.
at::Tensor project(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

class LinearImpl : public torch::nn::Module {
 public:
  // Parameters of the default dtype on the CPU, contents unspecified until initialised.
  LinearImpl(int64_t in_features, int64_t out_features, bool bias);

  at::Tensor forward(const at::Tensor& x) { return project(x, weight_, bias_); }
  const at::Tensor& weight() const { return weight_; }

 private:
  at::Tensor weight_;
  at::Tensor bias_;  // undefined without bias
};
TORCH_MODULE(Linear);

// A token embedding table [num_embeddings, dim] registered as "weight"; uninitialised like Linear.
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t dim);

  // ids [...] int64 -> [..., dim].
  at::Tensor forward(const at::Tensor& ids) { return at::embedding(weight_, ids); }
  const at::Tensor& weight() const { return weight_; }

 private:
  at::Tensor weight_;
};
TORCH_MODULE(Embedding);

} // namespace caravan::model
