// File: model/gguf_export.h
// Exports a Caravan model as a GGUF file that llama.cpp loads (model/gguf_writer.h for the
// format), so llama.cpp can run the very weights Caravan runs (bench/bench_rollout_cpu.cpp).
// Qwen3 only, float32, plain RoPE: llama.cpp's "qwen3" architecture applies RoPE to the halves
// of each head (NEOX style), as Hugging Face's rotate_half does, so the q/k weights need no
// permutation (Llama's would). Parameters are renamed to llama.cpp's names
// (model.layers.{i}.self_attn.q_proj.weight -> blk.{i}.attn_q.weight, ...); a tied embedding is
// written once, as token_embd.weight, and llama.cpp reuses it as the output head.
//
//   CARAVAN_RETURN_IF_ERROR(model::export_gguf(dir / "model.gguf", *llama,
//                                              model::placeholder_vocabulary(llama->config())));
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/transformer_config.h"
#include "model/llama.h"

namespace caravan::model {

// llama.cpp's token types (tokenizer.ggml.token_type).
inline constexpr int32_t kGgufTokenNormal = 1;
inline constexpr int32_t kGgufTokenControl = 3;

// The tokenizer.ggml.* metadata llama.cpp's loader requires: a byte-level BPE ("gpt2") vocabulary
// with Qwen2's pre-tokenizer. tokens and token_types have one entry per token id.
struct GgufVocabulary {
  std::vector<std::string> tokens;
  std::vector<int32_t> token_types;
  // "A B" merge rules, highest priority first; may be empty.
  std::vector<std::string> merges;
};

// A vocabulary of config.vocab_size ids for models whose tokens are given as ids (random
// weights, benchmarks): ids 0..255 are the byte-level symbols of the 256 bytes (llama.cpp looks
// up the newline's), config's bos/eos/pad ids are control tokens and every other id a distinct
// placeholder "<|id_N|>". config.vocab_size must be >= 256 and the special ids < vocab_size
// (CARAVAN_CHECK).
GgufVocabulary placeholder_vocabulary(const core::TransformerConfig& config);

// Writes `model` to `file` as GGUF v3: general.* and qwen3.* hyperparameters from its config,
// the vocabulary and special token ids (tokenizer.ggml.*), and every parameter as float32.
// Errors: kInvalidArgument for an architecture other than Qwen3, RoPE scaling or a partial
// rotary factor (llama.cpp would read them differently), or a vocabulary whose size is not
// config.vocab_size; kUnavailable for I/O failures (naming the file). Blocks on disk I/O.
Status export_gguf(const std::filesystem::path& file, LlamaImpl& model, const GgufVocabulary& vocabulary);

} // namespace caravan::model
