#include "model/decoder_layer.h"

namespace caravan::model {

DecoderLayerImpl::DecoderLayerImpl(const core::TransformerConfig& config, int64_t layer)
    : self_attn_(register_module("self_attn", Attention(config, layer))),
      mlp_(register_module("mlp", Mlp(config.hidden_size, config.intermediate_size))) {
  // Registration order is Hugging Face's module order, which is also the order save_model
  // writes the tensors in.
  if (config.post_norm()) {
    const RmsNormWeighting weighting = RmsNormWeighting::kBeforeCast;  // Olmo2RMSNorm
    post_attention_layernorm_ = register_module(
        "post_attention_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps, weighting));
    post_feedforward_layernorm_ = register_module(
        "post_feedforward_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps, weighting));
  } else {
    input_layernorm_ = register_module("input_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps));
    post_attention_layernorm_ =
        register_module("post_attention_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps));
  }
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const RopeTables& rope, const BatchLayout& layout,
                                     KvMemory* memory) {
  if (post_feedforward_layernorm_) {
    const at::Tensor h = x + post_attention_layernorm_(self_attn_(x, rope, layout, memory));
    return h + post_feedforward_layernorm_(mlp_(h));
  }
  const at::Tensor h = x + self_attn_(input_layernorm_(x), rope, layout, memory);
  return h + mlp_(post_attention_layernorm_(h));
}

} // namespace caravan::model
