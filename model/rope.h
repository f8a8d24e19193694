// File: model/rope.h
// Rotary position embedding (RoPE) as Hugging Face transformers computes it, for every rope_type
// (default, linear, dynamic, yarn, longrope, llama3) and partial_rotary_factor. core/rope_spec.h
// resolves a config into a core::RopeSpec; this file turns it into inverse frequencies and an
// attention factor (transformers' rope_init_fn, op for op in float32), cos/sin tables, and the
// rotation, with the rotate-half convention of Hugging Face Llama:
//   out = x * cos + cat(-x2, x1) * sin,   angle[p, i] = p * inv_freq[i],
// over the first rotary_dim dims of each head (x1, x2 being their halves); the remaining
// head_dim - rotary_dim dims pass through unrotated, as in transformers' partial-rotary models
// (Phi-3, GPT-NeoX). transformers' Llama/Qwen2/Qwen3/OLMo 2 classes do not apply a
// partial_rotary_factor < 1 at all (their apply_rotary_pos_emb rotates the whole head), so such
// a config has no transformers counterpart for these architectures. cos and sin are multiplied
// by the attention factor (yarn, longrope). Positions come from the caller, so left-padded rows
// can start their real tokens at 0.
//
//   CARAVAN_ASSIGN_OR_RETURN(core::RopeSpec spec, core::resolve_rope(config));
//   model::RotaryEmbedding rotary(spec);
//   model::RopeTables rope = rotary.tables(positions /*[B,T] int64*/, at::kFloat);
//   at::Tensor q_rotated = model::apply_rope(q /*[B,H,T,head_dim]*/, rope);
#pragma once

#include <cstdint>
#include <optional>

#include <ATen/ATen.h>

#include "core/rope_spec.h"

namespace caravan::model {

// What transformers' rope_init_fn returns. A plain value.
struct RopeFrequencies {
  // float32 [rotary_dim / 2], on the CPU (where transformers computes them at construction).
  at::Tensor inv_freq;
  // cos and sin are multiplied by this (transformers' attention_scaling).
  double attention_factor = 1.0;
};

// The frequencies transformers' rotary embedding uses, computed with the same float32 tensor ops
// in the same order (and Python's float64 arithmetic for the scalars). seq_len: nullopt = at
// construction (rope_init_fn(config, device)); otherwise for a forward whose largest position is
// seq_len - 1, as dynamic_rope_update leaves them on a freshly constructed embedding:
//  - dynamic: for seq_len > max_position_embeddings, theta * ((factor * seq_len / max) -
//    (factor - 1)) ^ (dim / (dim - 2)) evaluated in float32 tensor arithmetic, as transformers
//    does with its tensor seq_len; otherwise the construction frequencies (seq_len = max, in
//    float64). transformers also keeps the frequencies of the longest length seen until a
//    forward falls below max_position_embeddings; this function has no such memory, which
//    agrees with transformers within one generation (lengths only grow) and on a fresh model.
//  - longrope: long_factor for seq_len > original_max_position_embeddings, else short_factor.
//  - the other types ignore seq_len.
RopeFrequencies rope_frequencies(const core::RopeSpec& spec, std::optional<int64_t> seq_len = std::nullopt);

// cos and sin of every (row, position, rotary dimension), each [B, 1, T, rotary_dim],
// broadcastable over heads, already multiplied by the attention factor. Plain values; cheap to
// pass by const reference.
struct RopeTables {
  at::Tensor cos;
  at::Tensor sin;
};

// Tables for `positions` [B, T] int64 (any values, negative ones included), computed in float32
// as transformers does and returned in `dtype` on positions' device.
RopeTables rope_tables(const at::Tensor& positions, const RopeFrequencies& frequencies, at::ScalarType dtype);

// Rotates the first rotary_dim = tables.cos.size(-1) dims of x [B, H, T, head_dim] (rotary_dim <=
// head_dim) and passes the rest through; same shape and dtype as x.
at::Tensor apply_rope(const at::Tensor& x, const RopeTables& tables);

// The rotary embedding of one model (transformers' *RotaryEmbedding module): the construction
// frequencies, kept, and the length-dependent ones of dynamic and longrope, recomputed per call.
// Immutable between to() calls, so tables() is thread-safe.
class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(core::RopeSpec spec);

  // Moves the kept construction frequencies to `device`, so that tables() for positions there
  // copies nothing from the host (a forward captured in a CUDA graph may not). The model's to()
  // calls it. Not thread-safe.
  void to(at::Device device);

  // Tables for positions [B, T] int64. For dynamic and longrope the frequencies follow the
  // batch's current length, max(positions) + 1 (one device-to-host read of that maximum); the
  // other types never read the positions' values here.
  RopeTables tables(const at::Tensor& positions, at::ScalarType dtype) const;

  const core::RopeSpec& spec() const { return spec_; }

 private:
  core::RopeSpec spec_;
  RopeFrequencies at_construction_;
};

} // namespace caravan::model
