#include "model/llama.h"

#include <utility>

#include "core/status.h"
#include "model/activation_checkpoint.h"
#include "model/decoder_layer.h"
#include "model/linear.h"

namespace caravan::model {
namespace {

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

void LlamaModelImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  rotary_emb_.to(device);
}

void LlamaModelImpl::to(torch::Device device, bool non_blocking) {
  torch::nn::Module::to(device, non_blocking);
  rotary_emb_.to(device);
}

at::Tensor LlamaModelImpl::forward(const at::Tensor& tokens, const BatchLayout& layout, KvMemory* memory) {
  CARAVAN_CHECK(tokens.dim() == 1 && tokens.scalar_type() == at::kLong && tokens.size(0) == layout.num_tokens(),
                "tokens must be int64 [", layout.num_tokens(), "] as the layout says, got ", tokens.scalar_type(), " ",
                tokens.sizes());
  CARAVAN_CHECK(memory != nullptr || !layout.reads_memory(), "forward: the layout reads past keys but no KV memory was given");
  at::Tensor hidden = embed_tokens_(tokens);
  // One table for every layer, [N, 1, rotary_dim]; dynamic and longrope frequencies follow the
  // batch's max position.
  RopeTables rope = rotary_emb_.tables(layout.positions().unsqueeze(0), hidden.scalar_type());
  rope.cos = rope.cos.squeeze(0).transpose(0, 1);
  rope.sin = rope.sin.squeeze(0).transpose(0, 1);
  if (memory != nullptr) memory->begin_forward(layout);
  for (size_t layer = 0; layer < layers_->size(); ++layer) {
    const std::shared_ptr<DecoderLayerImpl> block = layers_->ptr<DecoderLayerImpl>(layer);
    if (gradient_checkpointing_ && memory == nullptr) {
      // The layer reruns in the backward pass, after this call returns: capture by value.
      hidden = checkpointed(
          [block, rope, layout](const at::Tensor& x) { return block->forward(x, rope, layout, nullptr); }, hidden);
    } else {
      hidden = block->forward(hidden, rope, layout, memory);
    }
  }
  if (memory != nullptr) memory->end_forward();
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

at::Tensor LlamaImpl::forward(const at::Tensor& tokens, const BatchLayout& layout, KvMemory* memory, LogitRows rows) {
  at::Tensor hidden = model_(tokens, layout, memory);
  switch (rows) {
    case LogitRows::kAllTokens: break;
    case LogitRows::kLastOfEachSequence: hidden = hidden.index_select(0, layout.last_tokens()); break;
  }
  return logits(hidden);
}

at::Tensor LlamaImpl::logits(const at::Tensor& hidden) {
  const at::Tensor logits = lm_head_ ? lm_head_(hidden) : project(hidden, model_->embed_tokens()->weight(), {});
  return logits.to(at::kFloat);
}

int64_t LlamaImpl::parameter_count() const {
  int64_t count = 0;
  for (const at::Tensor& parameter : parameters()) count += parameter.numel();
  return count;
}

} // namespace caravan::model
