#include "model/decoder_layer.h"

namespace caravan::model {

DecoderLayerImpl::DecoderLayerImpl(const core::TransformerConfig& config, int64_t layer)
    : self_attn_(register_module("self_attn", Attention(config, layer))),
      mlp_(register_module("mlp", Mlp(config.hidden_size, config.intermediate_size))),
      input_layernorm_(register_module("input_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps))),
      post_attention_layernorm_(
          register_module("post_attention_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps))) {}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const RopeTables& rope, const at::Tensor& allowed,
                                     KvCache* cache) {
  const at::Tensor h = x + self_attn_(input_layernorm_(x), rope, allowed, cache);
  return h + mlp_(post_attention_layernorm_(h));
}

} // namespace caravan::model
