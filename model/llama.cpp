#include "model/llama.h"

#include <utility>

#include "core/status.h"
#include "model/activation_checkpoint.h"
#include "model/decoder_layer.h"
#include "model/linear.h"

namespace caravan::model {
namespace {

// [B, 1, T, past + T] bool: query slot past + i may attend key slot j iff j <= past + i and
// key_mask[b, j].
at::Tensor attention_mask(const at::Tensor& key_mask, int64_t past, int64_t steps) {
  const int64_t keys = past + steps;
  const auto options = at::TensorOptions().dtype(at::kLong).device(key_mask.device());
  const at::Tensor causal = at::arange(keys, options).unsqueeze(0) <= (at::arange(steps, options) + past).unsqueeze(1);
  return (causal.unsqueeze(0) & key_mask.unsqueeze(1)).unsqueeze(1);
}

// The resolved RoPE of a validated config (read_model_config and load_run_config validate it).
core::RopeSpec checked_rope_spec(const core::TransformerConfig& config) {
  Result<core::RopeSpec> spec = core::resolve_rope(config);
  CARAVAN_CHECK(spec.ok(), "invalid RoPE config: ", spec.status().message());
  return std::move(spec).value();
}

} // namespace

LlamaModelImpl::LlamaModelImpl(const core::TransformerConfig& config)
    : config_(config),
      rotary_emb_(checked_rope_spec(config)),
      embed_tokens_(register_module("embed_tokens", Embedding(config.vocab_size, config.hidden_size))),
      layers_(register_module("layers", torch::nn::ModuleList())),
      norm_(register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps,
                                            config.post_norm() ? RmsNormWeighting::kBeforeCast
                                                               : RmsNormWeighting::kAfterCast))) {
  for (int64_t layer = 0; layer < config.num_layers; ++layer) layers_->push_back(DecoderLayer(config, layer));
}

at::Tensor LlamaModelImpl::forward(const at::Tensor& tokens, const at::Tensor& positions, const at::Tensor& key_mask,
                                   KvCache* cache) {
  CARAVAN_CHECK(tokens.dim() == 2 && tokens.scalar_type() == at::kLong, "tokens must be int64 [B, T], got ",
                tokens.scalar_type(), " ", tokens.sizes());
  CARAVAN_CHECK(positions.sizes() == tokens.sizes() && positions.scalar_type() == at::kLong,
                "positions must be int64 ", tokens.sizes(), ", got ", positions.scalar_type(), " ", positions.sizes());
  const int64_t batch = tokens.size(0);
  const int64_t steps = tokens.size(1);
  const int64_t past = cache != nullptr ? cache->length() : 0;
  CARAVAN_CHECK(key_mask.dim() == 2 && key_mask.scalar_type() == at::kBool && key_mask.size(0) == batch &&
                    key_mask.size(1) == past + steps,
                "key_mask must be bool [", batch, ", ", past + steps, "] (past ", past, " + ", steps,
                " new), got ", key_mask.scalar_type(), " ", key_mask.sizes());
  CARAVAN_CHECK(cache == nullptr || cache->batch_size() == batch, "KvCache holds ", cache->batch_size(),
                " rows but the batch has ", batch);

  at::Tensor hidden = embed_tokens_(tokens);
  // One table for every layer; dynamic and longrope frequencies follow the batch's max position.
  const RopeTables rope = rotary_emb_.tables(positions, hidden.scalar_type());
  const at::Tensor allowed = attention_mask(key_mask, past, steps);
  for (size_t layer = 0; layer < layers_->size(); ++layer) {
    const std::shared_ptr<DecoderLayerImpl> block = layers_->ptr<DecoderLayerImpl>(layer);
    if (gradient_checkpointing_ && cache == nullptr) {
      hidden = checkpointed([block, rope, allowed](const at::Tensor& x) { return block->forward(x, rope, allowed, nullptr); },
                            hidden);
    } else {
      hidden = block->forward(hidden, rope, allowed, cache);
    }
  }
  if (cache != nullptr) cache->advance(steps);
  return norm_(hidden);
}

LlamaImpl::LlamaImpl(const core::TransformerConfig& config, WeightInit init)
    : config_(config), model_(register_module("model", LlamaModel(config))) {
  if (!config.tie_word_embeddings) {
    lm_head_ = register_module("lm_head", Linear(config.hidden_size, config.vocab_size, /*bias=*/false));
  }
  switch (init) {
    case WeightInit::kRandom: break;
    case WeightInit::kNone: return;
  }
  at::NoGradGuard no_grad;
  // Every matrix is a linear or embedding weight; the vectors are norm weights (already 1) or
  // q/k/v biases (zeroed, as transformers' _init_weights does).
  for (auto& item : named_parameters()) {
    at::Tensor& parameter = item.value();
    if (parameter.dim() == 2) parameter.normal_(0.0, 0.02);
    if (item.key().ends_with(".bias")) parameter.zero_();
  }
}

at::Tensor LlamaImpl::forward(const at::Tensor& tokens, const at::Tensor& positions, const at::Tensor& key_mask,
                              KvCache* cache) {
  const at::Tensor hidden = model_(tokens, positions, key_mask, cache);
  const at::Tensor logits = lm_head_ ? lm_head_(hidden) : at::linear(hidden, model_->embed_tokens()->weight());
  return logits.to(at::kFloat);
}

int64_t LlamaImpl::parameter_count() const {
  int64_t count = 0;
  for (const at::Tensor& parameter : parameters()) count += parameter.numel();
  return count;
}

} // namespace caravan::model
