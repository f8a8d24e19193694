// File: model/attention.h
// Grouped-query self-attention of a Llama-family block: q/k/v projections (with biases for
// Qwen2), the q/k RMSNorms of Qwen3 (per head) or OLMo 2 (over the whole projection), RoPE on q
// and k (on the first rope.cos.size(-1) dims of each head: partial_rotary_factor), scaled
// dot-product attention (scale 1/sqrt(head_dim)) under a boolean mask, output
// projection. Each group of num_heads / num_kv_heads query heads shares one key/value head
// (Hugging Face repeat_kv, computed without copying the keys). head_dim need not equal
// hidden_size / num_heads (Qwen3). Tokens come flattened as a model::BatchLayout describes them;
// each attention group of the layout is one batched product (scores and softmax in float32).
//
//   model::Attention attention(config, /*layer=*/0);
//   at::Tensor y = attention(x /*[N,hidden]*/, rope, layout, &cache);
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "core/transformer_config.h"
#include "model/batch_layout.h"
#include "model/kv_memory.h"
#include "model/linear.h"
#include "model/rms_norm.h"
#include "model/rope.h"

namespace caravan::model {

// Registers q_proj, k_proj, v_proj, o_proj (".weight" each; ".bias" on q/k/v when
// config.qkv_bias()) and, when config.qk_norm() is not kNone, q_norm and k_norm (".weight":
// [head_dim] per head, or [num_heads * head_dim] / [num_kv_heads * head_dim] for kFull).
// Forward is not thread-safe when a memory is passed (it writes to it).
class AttentionImpl : public torch::nn::Module {
 public:
  // `layer` is the index of this block: the layer of its keys/values in a KvMemory.
  AttentionImpl(const core::TransformerConfig& config, int64_t layer);

  // x: [N, hidden], the layout's tokens. rope: tables for the layout's positions, cos and sin
  // [N, 1, rotary_dim]. memory: nullable (then no sequence may have past > 0); between the
  // model's begin_forward and end_forward it receives this layer's new keys/values and supplies
  // every group's keys. Returns [N, hidden].
  at::Tensor forward(const at::Tensor& x, const RopeTables& rope, const BatchLayout& layout, KvMemory* memory);

 private:
  int64_t layer_;
  int64_t num_heads_;
  int64_t num_kv_heads_;
  int64_t head_dim_;
  core::QkNorm qk_norm_kind_;
  Linear q_proj_{nullptr};
  Linear k_proj_{nullptr};
  Linear v_proj_{nullptr};
  Linear o_proj_{nullptr};
  RMSNorm q_norm_{nullptr};  // empty when qk_norm_kind_ is kNone
  RMSNorm k_norm_{nullptr};
};
TORCH_MODULE(Attention);

} // namespace caravan::model
