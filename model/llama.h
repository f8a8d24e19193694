// File: model/llama.h
// A Llama-family decoder in LibTorch, built from core::TransformerConfig: Llama 2/3/3.1/3.2
// (TinyLlama, SmolLM, ...), Qwen2/2.5, Qwen3 and OLMo 2, chosen by config.architecture. Its
// parameters carry exactly the Hugging Face names of the matching *ForCausalLM class, so
// checkpoints load by name:
//   model.embed_tokens.weight
//   model.layers.{i}.self_attn.{q,k,v,o}_proj.weight
//   model.layers.{i}.self_attn.{q,k,v}_proj.bias             (Qwen2 only)
//   model.layers.{i}.self_attn.{q,k}_norm.weight             (Qwen3: [head_dim]; OLMo 2: full width)
//   model.layers.{i}.mlp.{gate,up,down}_proj.weight
//   model.layers.{i}.{input,post_attention}_layernorm.weight (pre-norm: Llama, Qwen2, Qwen3)
//   model.layers.{i}.post_{attention,feedforward}_layernorm.weight (post-norm: OLMo 2)
//   model.norm.weight
//   lm_head.weight                      (absent when tie_word_embeddings)
//
//   torch::manual_seed(0);
//   model::Llama llama(config);          // weights ~ N(0, 0.02), norms = 1
//   // Two prompts of 5 and 3 tokens, flattened to [8], prefilled into a cache:
//   model::KvCache cache(config, /*rows=*/2, max_len, at::kFloat, at::kCPU);
//   model::BatchLayout layout({{.new_tokens = 5, .memory_slot = 0}, {.new_tokens = 3, .memory_slot = 1}}, at::kCPU);
//   at::Tensor next = llama->forward(tokens, layout, &cache, model::LogitRows::kLastOfEachSequence);  // [2, V]
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "core/transformer_config.h"
#include "model/batch_layout.h"
#include "model/kv_memory.h"
#include "model/linear.h"
#include "model/rms_norm.h"
#include "model/rope.h"

namespace caravan::model {

// The body (Hugging Face LlamaModel): embed_tokens, layers, norm. Registered as "model".
class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const core::TransformerConfig& config);

  // Same contract as LlamaImpl::forward; returns the final-normed hidden states [N, hidden]
  // in the parameters' dtype.
  at::Tensor forward(const at::Tensor& tokens, const BatchLayout& layout, KvMemory* memory);

  const Embedding& embed_tokens() const { return embed_tokens_; }

  // torch::nn::Module::to, which also moves the RoPE frequencies to the device (a forward then
  // copies nothing from the host: CUDA graph capture needs that).
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;
  using torch::nn::Module::to;

  // On: a forward without a KV cache under grad mode keeps only each decoder layer's input and
  // reruns the layer in the backward pass (model/activation_checkpoint.h); same values and
  // gradients, less memory, one more forward per layer. Off by default.
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }

 private:
  bool gradient_checkpointing_ = false;
  core::TransformerConfig config_;
  RotaryEmbedding rotary_emb_;
  Embedding embed_tokens_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  RMSNorm norm_{nullptr};
};
TORCH_MODULE(LlamaModel);

// Which tokens LlamaImpl::forward returns logits for.
enum class LogitRows {
  kAllTokens,           // [N, V]: every token of the layout (teacher forcing)
  kLastOfEachSequence,  // [S, V]: each sequence's last token (generation; skips the head elsewhere)
};

// What the constructor puts into the linear and embedding parameters.
enum class WeightInit {
  // N(0, 0.02) from the global LibTorch generator (seed it with at::manual_seed); biases 0.
  kRandom,
  // Nothing: their contents are unspecified until the caller fills them (load_model_weights).
  kNone,
};

// The causal language model (Hugging Face LlamaForCausalLM). Owns its parameters; not
// thread-safe (forward with a cache mutates the cache; training mutates parameters).
class LlamaImpl : public torch::nn::Module {
 public:
  // Linear and embedding weights per `init`; norm weights are 1 either way. An inconsistent
  // config (hidden_size not a multiple of num_heads, ...) is a bug: validate configs when
  // reading them.
  explicit LlamaImpl(const core::TransformerConfig& config, WeightInit init = WeightInit::kRandom);

  // tokens: [N] int64 token ids in [0, vocab_size), flattened as `layout` says (on the
  //         model's device, like the layout).
  // layout: the sequences and their positions (model/batch_layout.h). With dynamic or longrope
  //         RoPE the frequencies of this call follow the batch's length max(position) + 1, as
  //         transformers' dynamic_rope_update does; keys already in memory keep the rotation
  //         they were stored with (transformers' behaviour too).
  // memory: nullable. When given, each sequence's new keys/values are stored after its `past`
  //         ones and attended with them; without it no sequence may have past > 0. A memory
  //         that does not hold what the layout says is a CARAVAN_CHECK failure.
  // Token t of sequence i attends that sequence's keys at positions <= past + t, nothing else.
  // Returns float32 logits (whatever the parameters' dtype): [N, vocab_size] for kAllTokens,
  // [S, vocab_size] for kLastOfEachSequence.
  at::Tensor forward(const at::Tensor& tokens, const BatchLayout& layout, KvMemory* memory = nullptr,
                     LogitRows rows = LogitRows::kAllTokens);

  // The output head alone: float32 logits [..., vocab_size] of final-normed hidden states
  // [..., hidden] (the body's output, as forward computes them). A trainer that needs logits of
  // some positions only (each sequence's targets) runs the head on those rows alone.
  at::Tensor logits(const at::Tensor& hidden);

  const core::TransformerConfig& config() const { return config_; }

  // See LlamaModelImpl::set_gradient_checkpointing.
  void set_gradient_checkpointing(bool on) { model_->set_gradient_checkpointing(on); }

  // Number of scalar parameters (a tied embedding counts once).
  int64_t parameter_count() const;

 private:
  core::TransformerConfig config_;
  LlamaModel model_{nullptr};
  Linear lm_head_{nullptr};  // empty when tie_word_embeddings
};
TORCH_MODULE(Llama);

} // namespace caravan::model
