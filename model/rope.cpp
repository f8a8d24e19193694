#include "model/rope.h"

#include "core/status.h"

namespace caravan::model {
namespace {

// cat(-x2, x1) where x1, x2 are the halves of the last dimension.
at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

} // namespace

at::Tensor rope_inv_freq(int64_t head_dim, double theta, at::Device device) {
  CARAVAN_CHECK(head_dim > 0 && head_dim % 2 == 0, "RoPE needs an even head_dim, got ", head_dim);
  const at::Tensor exponents =
      at::arange(0, head_dim, 2, at::TensorOptions().dtype(at::kLong).device(device)).to(at::kFloat) /
      static_cast<double>(head_dim);
  return 1.0 / at::pow(theta, exponents);
}

RopeTables rope_tables(const at::Tensor& positions, int64_t head_dim, double theta, at::ScalarType dtype) {
  CARAVAN_CHECK(positions.dim() == 2, "positions must be [B, T], got ", positions.sizes());
  const at::Tensor inv_freq = rope_inv_freq(head_dim, theta, positions.device());
  // [B, T, 1] * [head_dim / 2] -> [B, T, head_dim / 2]; duplicated to cover both halves.
  const at::Tensor angles = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;
  const at::Tensor full = at::cat({angles, angles}, -1).unsqueeze(1);
  return RopeTables{.cos = full.cos().to(dtype), .sin = full.sin().to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const RopeTables& tables) {
  return x * tables.cos + rotate_half(x) * tables.sin;
}

} // namespace caravan::model
