#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "core/status.h"

namespace caravan::model {
namespace {

// The comments quote transformers' modeling_rope_utils.py. Python's `scalar / tensor` is
// tensor.reciprocal() * scalar (torch.Tensor.__rtruediv__), written so here for bit-equality;
// `tensor op python_float` rounds the float to float32, as ATen's Scalar overloads do.

// cat(-x2, x1) where x1, x2 are the halves of the last dimension.
at::Tensor rotate_half(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

// torch.arange(0, dim, 2, dtype=torch.int64).float() / dim
at::Tensor frequency_exponents(int64_t dim) {
  return at::arange(0, dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(dim);
}

// base ** (torch.arange(0, dim, 2).float() / dim), for a Python float base.
at::Tensor position_frequencies(double base, int64_t dim) { return at::pow(base, frequency_exponents(dim)); }

// 1.0 / (base ** (...)): _compute_default_rope_parameters.
at::Tensor default_inv_freq(double base, int64_t dim) { return position_frequencies(base, dim).reciprocal(); }

// _compute_dynamic_ntk_parameters. At construction (and for lengths up to max_position_embeddings,
// where dynamic_rope_update keeps those frequencies) seq_len is the Python int
// max_position_embeddings and the new base is a Python float; beyond, dynamic_rope_update passes
// the tensor torch.max(position_ids) + 1 and every step is a float32 tensor op.
at::Tensor dynamic_inv_freq(const core::RopeSpec& spec, std::optional<int64_t> seq_len) {
  const double factor = spec.factor;
  const auto max_positions = static_cast<double>(spec.max_position_embeddings);
  const auto dim = static_cast<double>(spec.rotary_dim);
  const double exponent = dim / (dim - 2);  // Python's int / int
  if (!seq_len || *seq_len <= spec.max_position_embeddings) {
    const double base = spec.theta * std::pow((factor * max_positions / max_positions) - (factor - 1), exponent);
    return default_inv_freq(base, spec.rotary_dim);
  }
  const auto longs = at::TensorOptions().dtype(at::kLong);
  // seq_len = torch.maximum(seq_len, torch.tensor(max_position_embeddings))
  const at::Tensor length = at::maximum(at::scalar_tensor(*seq_len, longs),
                                        at::scalar_tensor(spec.max_position_embeddings, longs));
  // base = base * ((factor * seq_len / max_position_embeddings) - (factor - 1)) ** (dim / (dim - 2))
  const at::Tensor base =
      ((length * factor / static_cast<double>(spec.max_position_embeddings)) - (factor - 1)).pow(exponent) * spec.theta;
  // 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
  return at::pow(base, frequency_exponents(spec.rotary_dim)).reciprocal();
}

// _compute_yarn_parameters (the attention factor is resolved in core/rope_spec.cpp).
at::Tensor yarn_inv_freq(const core::RopeSpec& spec) {
  const int64_t dim = spec.rotary_dim;
  const double base = spec.theta;
  // find_correction_dim: (dim * math.log(max_pos / (num_rotations * 2 * math.pi))) / (2 * math.log(base))
  auto correction_dim = [&](double rotations) {
    return (static_cast<double>(dim) *
            std::log(static_cast<double>(spec.original_max_position_embeddings) / (rotations * 2 * std::numbers::pi))) /
           (2 * std::log(base));
  };
  // find_correction_range
  double low = correction_dim(spec.beta_fast);
  double high = correction_dim(spec.beta_slow);
  if (spec.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  // linear_ramp_factor(low, high, dim // 2)
  if (low == high) high += 0.001;  // "Prevent singularity"
  const at::Tensor ramp = ((at::arange(dim / 2, at::TensorOptions().dtype(at::kFloat)) - low) / (high - low)).clamp(0, 1);

  const at::Tensor pos_freqs = position_frequencies(base, dim);
  const at::Tensor extrapolation = pos_freqs.reciprocal();                 // 1.0 / pos_freqs
  const at::Tensor interpolation = (pos_freqs * spec.factor).reciprocal();  // 1.0 / (factor * pos_freqs)
  const at::Tensor extrapolation_factor = 1 - ramp;
  return interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor;
}

// _compute_longrope_parameters: 1.0 / (ext_factors * base**inv_freq_shape), ext_factors the
// long factors for seq_len > original_max_position_embeddings, the short ones otherwise.
at::Tensor longrope_inv_freq(const core::RopeSpec& spec, std::optional<int64_t> seq_len) {
  const bool long_context = seq_len && *seq_len > spec.original_max_position_embeddings;
  const at::Tensor ext_factors = at::tensor(long_context ? spec.long_factor : spec.short_factor).to(at::kFloat);
  return (ext_factors * position_frequencies(spec.theta, spec.rotary_dim)).reciprocal();
}

// _compute_llama3_parameters.
at::Tensor llama3_inv_freq(const core::RopeSpec& spec) {
  const at::Tensor inv_freq = default_inv_freq(spec.theta, spec.rotary_dim);
  // old_context_len is a Python int; the divisions are Python floats.
  const auto old_context_len = static_cast<double>(spec.original_max_position_embeddings);
  const double low_freq_wavelen = old_context_len / spec.low_freq_factor;
  const double high_freq_wavelen = old_context_len / spec.high_freq_factor;
  // wavelen = 2 * math.pi / inv_freq
  const at::Tensor wavelen = inv_freq.reciprocal() * (2 * std::numbers::pi);
  const at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / spec.factor, inv_freq);
  // smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
  const at::Tensor smooth_factor = (wavelen.reciprocal() * old_context_len - spec.low_freq_factor) /
                                   (spec.high_freq_factor - spec.low_freq_factor);
  const at::Tensor smoothed = (1 - smooth_factor) * scaled / spec.factor + smooth_factor * scaled;
  const at::Tensor is_medium_freq = (wavelen < high_freq_wavelen).logical_not() & (wavelen > low_freq_wavelen).logical_not();
  return at::where(is_medium_freq, smoothed, scaled);
}

// The longest sequence that keeps the construction frequencies, for the types whose frequencies
// depend on the length (dynamic_rope_update); nullopt for the others.
std::optional<int64_t> construction_length_limit(const core::RopeSpec& spec) {
  switch (spec.type) {
    case core::RopeScalingType::kDynamic: return spec.max_position_embeddings;
    case core::RopeScalingType::kLongrope: return spec.original_max_position_embeddings;
    case core::RopeScalingType::kDefault:
    case core::RopeScalingType::kLinear:
    case core::RopeScalingType::kYarn:
    case core::RopeScalingType::kLlama3: return std::nullopt;
  }
  return std::nullopt;
}

} // namespace

RopeFrequencies rope_frequencies(const core::RopeSpec& spec, std::optional<int64_t> seq_len) {
  CARAVAN_CHECK(spec.rotary_dim >= 2 && spec.rotary_dim % 2 == 0, "RoPE needs an even rotary_dim >= 2, got ",
                spec.rotary_dim);
  RopeFrequencies frequencies;
  frequencies.attention_factor = spec.attention_factor;
  switch (spec.type) {
    case core::RopeScalingType::kDefault: frequencies.inv_freq = default_inv_freq(spec.theta, spec.rotary_dim); break;
    case core::RopeScalingType::kLinear:
      // inv_freq /= factor
      frequencies.inv_freq = default_inv_freq(spec.theta, spec.rotary_dim) / spec.factor;
      break;
    case core::RopeScalingType::kDynamic: frequencies.inv_freq = dynamic_inv_freq(spec, seq_len); break;
    case core::RopeScalingType::kYarn: frequencies.inv_freq = yarn_inv_freq(spec); break;
    case core::RopeScalingType::kLongrope: frequencies.inv_freq = longrope_inv_freq(spec, seq_len); break;
    case core::RopeScalingType::kLlama3: frequencies.inv_freq = llama3_inv_freq(spec); break;
  }
  return frequencies;
}

RopeTables rope_tables(const at::Tensor& positions, const RopeFrequencies& frequencies, at::ScalarType dtype) {
  const at::Tensor& inv_freq = frequencies.inv_freq;
  CARAVAN_CHECK(positions.dim() == 2, "positions must be [B, T], got ", positions.sizes());
  CARAVAN_CHECK(inv_freq.dim() == 1 && inv_freq.scalar_type() == at::kFloat, "inv_freq must be float32 [rotary_dim / 2], got ",
                inv_freq.scalar_type(), " ", inv_freq.sizes());
  // [B, T, 1] * [rotary_dim / 2] -> [B, T, rotary_dim / 2]; duplicated to cover both halves.
  const at::Tensor angles = positions.to(at::kFloat).unsqueeze(-1) * inv_freq.to(positions.device());
  const at::Tensor full = at::cat({angles, angles}, -1).unsqueeze(1);
  at::Tensor cos = full.cos();
  at::Tensor sin = full.sin();
  if (frequencies.attention_factor != 1.0) {  // `emb.cos() * self.attention_scaling`; * 1.0 is the identity
    cos = cos * frequencies.attention_factor;
    sin = sin * frequencies.attention_factor;
  }
  return RopeTables{.cos = cos.to(dtype), .sin = sin.to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const RopeTables& tables) {
  const int64_t rotary_dim = tables.cos.size(-1);
  CARAVAN_CHECK(rotary_dim <= x.size(-1), "RoPE tables for ", rotary_dim, " dims, but heads have ", x.size(-1));
  if (rotary_dim == x.size(-1)) return x * tables.cos + rotate_half(x) * tables.sin;
  const at::Tensor rotated = x.slice(-1, 0, rotary_dim);
  return at::cat({rotated * tables.cos + rotate_half(rotated) * tables.sin, x.slice(-1, rotary_dim)}, -1);
}

RotaryEmbedding::RotaryEmbedding(core::RopeSpec spec)
    : spec_(std::move(spec)), at_construction_(rope_frequencies(spec_)) {}

void RotaryEmbedding::to(at::Device device) { at_construction_.inv_freq = at_construction_.inv_freq.to(device); }

RopeTables RotaryEmbedding::tables(const at::Tensor& positions, at::ScalarType dtype) const {
  if (const std::optional<int64_t> limit = construction_length_limit(spec_); limit && positions.numel() > 0) {
    // seq_len = torch.max(position_ids) + 1
    const int64_t seq_len = positions.max().item<int64_t>() + 1;
    if (seq_len > *limit) return rope_tables(positions, rope_frequencies(spec_, seq_len), dtype);
  }
  return rope_tables(positions, at_construction_, dtype);
}

} // namespace caravan::model
