// File: model/rope.h
// Rotary position embedding (RoPE) with the rotate-half convention of Hugging Face Llama:
// the head dimension is split into two halves (x1, x2) and rotated as
//   out = x * cos + cat(-x2, x1) * sin,   angle[p, i] = p * theta^(-2i / head_dim).
// Positions come from the caller, so left-padded rows can start their real tokens at 0.
//
//   model::RopeTables rope = model::rope_tables(positions /*[B,T] int64*/, /*head_dim=*/32,
//                                               /*theta=*/10000.0, at::kFloat);
//   at::Tensor q_rotated = model::apply_rope(q /*[B,H,T,32]*/, rope);
#pragma once

#include <ATen/ATen.h>

namespace caravan::model {

// cos and sin of every (row, position, dimension), each [B, 1, T, head_dim], broadcastable
// over heads. Plain values; cheap to pass by const reference.
struct RopeTables {
  at::Tensor cos;
  at::Tensor sin;
};

// theta^(-2i / head_dim) for i in [0, head_dim / 2), float32 [head_dim / 2], on `device`.
// head_dim must be even (CARAVAN_CHECK).
at::Tensor rope_inv_freq(int64_t head_dim, double theta, at::Device device);

// Tables for `positions` [B, T] int64 (any values, negative ones included), computed in
// float32 as Hugging Face does and returned in `dtype` on positions' device.
RopeTables rope_tables(const at::Tensor& positions, int64_t head_dim, double theta, at::ScalarType dtype);

// Rotates x [B, H, T, head_dim] by the tables; same shape and dtype as x.
at::Tensor apply_rope(const at::Tensor& x, const RopeTables& tables);

} // namespace caravan::model
