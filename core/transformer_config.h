// File: core/transformer_config.h
// Architecture of a decoder-only transformer of the Llama family: Llama 2/3/3.1/3.2,
// Qwen2/Qwen2.5, Qwen3 and OLMo 2, with any of transformers' RoPE types (core/rope_scaling.h).
// Plain data shared by the config reader (apps/run_config_reader.cpp) and the model (model/llama.h);
// checkpoints store it as Hugging Face config.json keys (model/checkpoint_io.h). The
// variant-specific layers (q/k/v biases, q/k norms, post-norm blocks) follow from
// `architecture`; they are not separate switches, so a config can never describe a model no
// Hugging Face class implements.
//
//   core::TransformerConfig config;           // the embedded tiny Llama default
//   config.num_layers = 4;
//   config.architecture = core::Architecture::kQwen3;
//   config.explicit_head_dim = 64;            // Qwen3: head_dim need not be hidden / heads
//   model::Llama model(config);
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/rope_scaling.h"

namespace caravan::core {

// The Hugging Face model class a config describes (config.json "architectures"/"model_type").
enum class Architecture {
  // LlamaForCausalLM / "llama": pre-norm blocks, no biases, no q/k norms.
  kLlama,
  // Qwen2ForCausalLM / "qwen2": Llama plus biases on the q, k and v projections.
  kQwen2,
  // Qwen3ForCausalLM / "qwen3": Llama plus an RMSNorm of width head_dim on every query and key
  // head (q_norm, k_norm), applied before RoPE.
  kQwen3,
  // Olmo2ForCausalLM / "olmo2": RMSNorm over the whole projected q and k (q_norm, k_norm) before
  // the head split; post-norm blocks (post_attention_layernorm on the attention output and
  // post_feedforward_layernorm on the MLP output, each before its residual add).
  kOlmo2,
};
inline constexpr std::array<Architecture, 4> kAllArchitectures = {Architecture::kLlama, Architecture::kQwen2,
                                                                  Architecture::kQwen3, Architecture::kOlmo2};

// How the queries and keys are normalised before RoPE.
enum class QkNorm {
  kNone,
  // One RMSNorm [head_dim] shared by all heads, applied per head (Qwen3).
  kPerHead,
  // One RMSNorm over the full projection: [num_heads * head_dim] for q, [num_kv_heads * head_dim]
  // for k (OLMo 2).
  kFull,
};

struct TransformerConfig {
  Architecture architecture = Architecture::kLlama;
  // Number of token ids the embedding and the output head cover.
  int64_t vocab_size = 259;
  // Width of the residual stream.
  int64_t hidden_size = 128;
  // Width of the SwiGLU MLP's gate/up projections.
  int64_t intermediate_size = 352;
  int64_t num_layers = 4;
  // Query heads.
  int64_t num_heads = 4;
  // Key/value heads for grouped-query attention; must divide num_heads.
  int64_t num_kv_heads = 2;
  // Width of one attention head; 0 means hidden_size / num_heads (then hidden_size must be a
  // multiple of num_heads). Qwen3 and Llama 3.2 checkpoints state it (config.json "head_dim").
  // The effective value (head_dim()) must be even for RoPE.
  int64_t explicit_head_dim = 0;
  // Longest sequence (prompt + completion) the model and its KV cache handle, in tokens.
  int64_t max_position_embeddings = 64;
  // RoPE base frequency ("rope_theta"; inside "rope_parameters" in the transformers 5 layout).
  double rope_theta = 10000.0;
  // The rope_scaling / rope_parameters dict; core/rope_spec.h resolves it with the two keys below.
  RopeScaling rope_scaling;
  // Top-level "partial_rotary_factor": RoPE rotates the first int(head_dim * factor) dims of each
  // head and passes the rest through (nullopt: the whole head, unless rope_scaling says otherwise).
  std::optional<double> partial_rotary_factor;
  // Top-level "original_max_position_embeddings" (the Phi-3 layout; core/rope_spec.h says which
  // RoPE types read it).
  std::optional<int64_t> original_max_position_embeddings;
  // RMSNorm epsilon.
  double rms_norm_eps = 1e-5;
  // Share the embedding matrix with the output head.
  bool tie_word_embeddings = false;
  // Special token ids config.json records (bos_token_id, eos_token_id, pad_token_id), carried
  // from a loaded checkpoint to the saved one; the model itself never reads them. nullopt /
  // empty = null in config.json. eos may list several ids (Llama 3.1 Instruct). Not TOML keys:
  // the defaults are model::ByteTokenizer's ids, the embedded tiny model's tokenizer.
  std::optional<int64_t> bos_token_id = 256;
  std::vector<int64_t> eos_token_ids = {257};
  std::optional<int64_t> pad_token_id = 258;

  int64_t head_dim() const { return explicit_head_dim > 0 ? explicit_head_dim : hidden_size / num_heads; }

  // Biases on q_proj, k_proj and v_proj (o_proj and the MLP never have one).
  bool qkv_bias() const {
    switch (architecture) {
      case Architecture::kQwen2: return true;
      case Architecture::kLlama:
      case Architecture::kQwen3:
      case Architecture::kOlmo2: return false;
    }
    return false;
  }

  QkNorm qk_norm() const {
    switch (architecture) {
      case Architecture::kQwen3: return QkNorm::kPerHead;
      case Architecture::kOlmo2: return QkNorm::kFull;
      case Architecture::kLlama:
      case Architecture::kQwen2: return QkNorm::kNone;
    }
    return QkNorm::kNone;
  }

  // True for OLMo 2's norm-after-sublayer blocks, false for Llama's pre-norm blocks.
  bool post_norm() const { return architecture == Architecture::kOlmo2; }
};

// The Hugging Face model_type of `architecture`: "llama", "qwen2", "qwen3", "olmo2" (also its
// [model] architecture name in config.toml).
constexpr std::string_view enum_name(Architecture architecture) {
  switch (architecture) {
    case Architecture::kLlama: return "llama";
    case Architecture::kQwen2: return "qwen2";
    case Architecture::kQwen3: return "qwen3";
    case Architecture::kOlmo2: return "olmo2";
  }
  return "unknown";
}

// The Hugging Face class name: "LlamaForCausalLM", "Qwen2ForCausalLM", ...
constexpr std::string_view class_name(Architecture architecture) {
  switch (architecture) {
    case Architecture::kLlama: return "LlamaForCausalLM";
    case Architecture::kQwen2: return "Qwen2ForCausalLM";
    case Architecture::kQwen3: return "Qwen3ForCausalLM";
    case Architecture::kOlmo2: return "Olmo2ForCausalLM";
  }
  return "unknown";
}

// Inverse of enum_name; nullopt for an unknown name.
inline std::optional<Architecture> parse_architecture(std::string_view name) {
  for (Architecture architecture : kAllArchitectures) {
    if (enum_name(architecture) == name) return architecture;
  }
  return std::nullopt;
}

} // namespace caravan::core
