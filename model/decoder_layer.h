// File: model/decoder_layer.h
// One pre-norm Llama block:
//   h   = x + self_attn(input_layernorm(x))
//   out = h + mlp(post_attention_layernorm(h))
//
//   model::DecoderLayer layer(config, /*layer=*/0);
//   x = layer(x, rope, allowed, cache);
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "core/transformer_config.h"
#include "model/attention.h"
#include "model/kv_cache.h"
#include "model/mlp.h"
#include "model/rms_norm.h"
#include "model/rope.h"

namespace caravan::model {

// Registers self_attn, mlp, input_layernorm, post_attention_layernorm (Hugging Face names).
class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const core::TransformerConfig& config, int64_t layer);

  // Same contract as AttentionImpl::forward; returns [B, T, hidden].
  at::Tensor forward(const at::Tensor& x, const RopeTables& rope, const at::Tensor& allowed, KvCache* cache);

 private:
  Attention self_attn_{nullptr};
  Mlp mlp_{nullptr};
  RMSNorm input_layernorm_{nullptr};
  RMSNorm post_attention_layernorm_{nullptr};
};
TORCH_MODULE(DecoderLayer);

} // namespace caravan::model
