// File: model/attention.h
// Grouped-query self-attention of a Llama-family block: q/k/v projections (with biases for
// Qwen2), the q/k RMSNorms of Qwen3 (per head) or OLMo 2 (over the whole projection), RoPE on q
// and k (on the first rope.cos.size(-1) dims of each head: partial_rotary_factor), scaled
// dot-product attention (scale 1/sqrt(head_dim)) under a boolean mask, output
// projection. Each group of num_heads / num_kv_heads query heads shares one key/value head
// (Hugging Face repeat_kv). head_dim need not equal hidden_size / num_heads (Qwen3).
//
//   model::Attention attention(config, /*layer=*/0);
//   at::Tensor y = attention(x /*[B,T,hidden]*/, rope, allowed /*[B,1,T,S] bool*/, &cache);
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "core/transformer_config.h"
#include "model/kv_cache.h"
#include "model/linear.h"
#include "model/rms_norm.h"
#include "model/rope.h"

namespace caravan::model {

// Registers q_proj, k_proj, v_proj, o_proj (".weight" each; ".bias" on q/k/v when
// config.qkv_bias()) and, when config.qk_norm() is not kNone, q_norm and k_norm (".weight":
// [head_dim] per head, or [num_heads * head_dim] / [num_kv_heads * head_dim] for kFull).
// Forward is not thread-safe when a cache is passed (it writes to it).
class AttentionImpl : public torch::nn::Module {
 public:
  // `layer` is the index of this block: the slot of its keys/values in a KvCache.
  AttentionImpl(const core::TransformerConfig& config, int64_t layer);

  // x: [B, T, hidden]. allowed: [B, 1, T, S] bool, true where query t may attend key slot s,
  // with S = past + T and past = cache ? cache->length() : 0. A query row with no allowed key
  // attends uniformly (finite output, never NaN). cache: nullable; receives this layer's new
  // keys/values (the caller advances it). Returns [B, T, hidden].
  at::Tensor forward(const at::Tensor& x, const RopeTables& rope, const at::Tensor& allowed, KvCache* cache);

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
