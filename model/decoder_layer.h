// File: model/decoder_layer.h
// One transformer block, pre-norm (Llama, Qwen2, Qwen3) or post-norm (OLMo 2):
//   pre-norm:  h = x + self_attn(input_layernorm(x));   out = h + mlp(post_attention_layernorm(h))
//   post-norm: h = x + post_attention_layernorm(self_attn(x));
//              out = h + post_feedforward_layernorm(mlp(h))
//
//   model::DecoderLayer layer(config, /*layer=*/0);
//   x = layer(x /*[N, hidden]*/, rope, layout, &cache);
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "core/transformer_config.h"
#include "model/attention.h"
#include "model/batch_layout.h"
#include "model/kv_memory.h"
#include "model/mlp.h"
#include "model/rms_norm.h"
#include "model/rope.h"

namespace caravan::model {

// Registers self_attn, mlp, post_attention_layernorm and either input_layernorm (pre-norm) or
// post_feedforward_layernorm (config.post_norm()), as Hugging Face names them.
class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const core::TransformerConfig& config, int64_t layer);

  // Same contract as AttentionImpl::forward; returns [N, hidden].
  at::Tensor forward(const at::Tensor& x, const RopeTables& rope, const BatchLayout& layout, KvMemory* memory);

 private:
  Attention self_attn_{nullptr};
  Mlp mlp_{nullptr};
  RMSNorm input_layernorm_{nullptr};             // pre-norm only
  RMSNorm post_attention_layernorm_{nullptr};
  RMSNorm post_feedforward_layernorm_{nullptr};  // post-norm only
};
TORCH_MODULE(DecoderLayer);

} // namespace caravan::model
