// RoPE per rope_type against values derived by hand from transformers' modeling_rope_utils.py
// (the formulas are quoted in each test). Most tests use head_dim 8 and theta 10000, whose
// plain inverse frequencies are round numbers:
//   inv_freq[i] = theta^(-2i / 8) = 10000^(-i / 4) = {1, 0.1, 0.01, 0.001}.
// The implementation runs the same float32 tensor ops as transformers, so it agrees with the
// float64 derivations to float32 rounding (relative 2e-6 here).
#include "model/rope.h"

#include <cmath>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

namespace caravan::model {
namespace {

// head_dim 8 (hidden 32 / 4 heads), theta 10000, max_position_embeddings 16, the given scaling
// read as transformers 4 does.
core::TransformerConfig tiny(core::RopeScaling scaling = {}) {
  core::TransformerConfig config;
  config.hidden_size = 32;
  config.num_heads = 4;
  config.max_position_embeddings = 16;
  config.rope_theta = 10000.0;
  config.rope_scaling = std::move(scaling);
  return config;
}

core::RopeScaling of_type(core::RopeScalingType type) {
  core::RopeScaling scaling;
  scaling.type = type;
  return scaling;
}

core::RopeSpec spec_of(const core::TransformerConfig& config) {
  Result<core::RopeSpec> spec = core::resolve_rope(config);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  return *spec;
}

RopeFrequencies frequencies_of(const core::TransformerConfig& config, std::optional<int64_t> seq_len = std::nullopt) {
  return rope_frequencies(spec_of(config), seq_len);
}

void expect_inv_freq(const at::Tensor& inv_freq, const std::vector<double>& expected) {
  ASSERT_EQ(inv_freq.sizes(), (std::vector<int64_t>{static_cast<int64_t>(expected.size())}));
  EXPECT_EQ(inv_freq.scalar_type(), at::kFloat);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(inv_freq[i].item<double>(), expected[i], expected[i] * 2e-6) << "frequency " << i;
  }
}

at::Tensor positions_of(std::vector<int64_t> values) {
  return at::tensor(values, at::kLong).unsqueeze(0);  // [1, T]
}

TEST(Rope, Default) {
  // _compute_default_rope_parameters: 1.0 / (base ** (arange(0, dim, 2) / dim)).
  const RopeFrequencies f = frequencies_of(tiny());
  expect_inv_freq(f.inv_freq, {1.0, 0.1, 0.01, 0.001});
  EXPECT_EQ(f.attention_factor, 1.0);
}

TEST(Rope, Linear) {
  // _compute_linear_scaling_rope_parameters: inv_freq /= factor; factor 4.
  core::RopeScaling linear = of_type(core::RopeScalingType::kLinear);
  linear.factor = 4.0;
  const RopeFrequencies f = frequencies_of(tiny(linear));
  expect_inv_freq(f.inv_freq, {0.25, 0.025, 0.0025, 0.00025});
  EXPECT_EQ(f.attention_factor, 1.0);
}

TEST(Rope, DynamicBelowAndAboveMaxPositionEmbeddings) {
  // _compute_dynamic_ntk_parameters, factor 2, max_position_embeddings 16, dim 8:
  //   base' = base * ((factor * seq_len / max) - (factor - 1)) ** (dim / (dim - 2)).
  core::RopeScaling dynamic = of_type(core::RopeScalingType::kDynamic);
  dynamic.factor = 2.0;
  const core::TransformerConfig config = tiny(dynamic);
  // seq_len <= 16 keeps the construction frequencies, computed with seq_len = 16:
  // base' = 10000 * (2 * 16 / 16 - 1) ** (4 / 3) = 10000, the plain frequencies.
  for (std::optional<int64_t> seq_len : {std::optional<int64_t>{}, std::optional<int64_t>{10}, std::optional<int64_t>{16}}) {
    expect_inv_freq(frequencies_of(config, seq_len).inv_freq, {1.0, 0.1, 0.01, 0.001});
  }
  // seq_len 32: base' = 10000 * (2 * 32 / 16 - 1) ** (4 / 3) = 10000 * 3^(4/3), so
  // inv_freq[i] = 10000^(-i/4) * 3^(-i/3) = {1, 0.1 / 3^(1/3), 0.01 / 3^(2/3), 0.001 / 3}.
  const RopeFrequencies f = frequencies_of(config, 32);
  expect_inv_freq(f.inv_freq, {1.0, 0.06933612743506347, 0.004807498567691361, 0.0003333333333333333});
  EXPECT_EQ(f.attention_factor, 1.0);
}

TEST(Rope, Yarn) {
  // _compute_yarn_parameters, factor 4, original_max_position_embeddings 2048, dim 8, beta 32 / 1:
  //   find_correction_dim(r) = dim * ln(2048 / (2 pi r)) / (2 ln 10000)
  //   low = floor(correction_dim(32)) = floor(1.00800) = 1, high = ceil(correction_dim(1)) = ceil(2.51315) = 3
  //   ramp = clamp((i - 1) / (3 - 1), 0, 1) = {0, 0, 0.5, 1}; extrapolation_factor = 1 - ramp
  //   inv_freq = (plain / 4) * ramp + plain * (1 - ramp) = {1, 0.1, 0.5 * 0.0025 + 0.5 * 0.01, 0.00025}
  //   attention_factor = get_mscale(4) = 0.1 * ln 4 + 1 = 1.1386294361119891
  core::RopeScaling yarn = of_type(core::RopeScalingType::kYarn);
  yarn.factor = 4.0;
  yarn.original_max_position_embeddings = 2048;
  core::TransformerConfig config = tiny(yarn);
  config.max_position_embeddings = 8192;
  RopeFrequencies f = frequencies_of(config);
  expect_inv_freq(f.inv_freq, {1.0, 0.1, 0.00625, 0.00025});
  EXPECT_DOUBLE_EQ(f.attention_factor, 1.1386294361119891);
  // truncate false keeps low = 1.0080001056257721, high = 2.513150083945678:
  // ramp[2] = (2 - low) / (high - low) = 0.6590704638494087, so
  // inv_freq[2] = 0.0025 * 0.65907046 + 0.01 * 0.34092954 = 0.005056971521129435.
  config.rope_scaling.truncate = false;
  expect_inv_freq(frequencies_of(config).inv_freq, {1.0, 0.1, 0.005056971521129435, 0.00025});
  // Without original_max_position_embeddings transformers 4 uses max_position_embeddings (16):
  // low = floor(-1.0992) -> 0, high = ceil(0.4059) = 1, ramp = {0, 1, 1, 1}.
  yarn.original_max_position_embeddings.reset();
  expect_inv_freq(frequencies_of(tiny(yarn)).inv_freq, {1.0, 0.025, 0.0025, 0.00025});
}

TEST(Rope, LongropeShortAndLongFactors) {
  // _compute_longrope_parameters: inv_freq = 1.0 / (ext_factors * base ** (arange(0, dim, 2) / dim)),
  // ext_factors = long_factor when seq_len > original_max_position_embeddings, else short_factor.
  // Top-level original_max_position_embeddings 16 and max_position_embeddings 64 (transformers 4):
  // factor = 64 / 16 = 4, attention_factor = sqrt(1 + ln 4 / ln 16) = sqrt(1.5).
  core::RopeScaling longrope = of_type(core::RopeScalingType::kLongrope);
  longrope.short_factor = {1, 2, 4, 8};
  longrope.long_factor = {2, 4, 8, 16};
  core::TransformerConfig config = tiny(longrope);
  config.max_position_embeddings = 64;
  config.original_max_position_embeddings = 16;
  for (std::optional<int64_t> seq_len : {std::optional<int64_t>{}, std::optional<int64_t>{16}}) {
    const RopeFrequencies f = frequencies_of(config, seq_len);
    expect_inv_freq(f.inv_freq, {1.0, 0.05, 0.0025, 0.000125});  // plain / short_factor
    EXPECT_DOUBLE_EQ(f.attention_factor, std::sqrt(1.5));
  }
  const RopeFrequencies f = frequencies_of(config, 17);
  expect_inv_freq(f.inv_freq, {0.5, 0.025, 0.00125, 0.0000625});  // plain / long_factor
  EXPECT_DOUBLE_EQ(f.attention_factor, std::sqrt(1.5));
}

TEST(Rope, Llama3) {
  // _compute_llama3_parameters, factor 8, low_freq_factor 1, high_freq_factor 4, original 64:
  // wavelengths 2 pi / f = {6.28, 62.8, 628, 6283}; low_freq_wavelen = 64 / 1, high_freq_wavelen = 64 / 4.
  //   dim 0 (6.28 < 16): kept, 1.
  //   dim 1 (16 <= 62.8 <= 64): smooth = (64 / 62.83 - 1) / (4 - 1) = 0.0061972119,
  //          (1 - smooth) * 0.1 / 8 + smooth * 0.1 = 0.013042256043820465.
  //   dims 2, 3 (> 64): divided by 8.
  core::RopeScaling llama3 = of_type(core::RopeScalingType::kLlama3);
  llama3.factor = 8.0;
  llama3.low_freq_factor = 1.0;
  llama3.high_freq_factor = 4.0;
  llama3.original_max_position_embeddings = 64;
  const RopeFrequencies f = frequencies_of(tiny(llama3));
  expect_inv_freq(f.inv_freq, {1.0, 0.013042256043820465, 0.00125, 0.000125});
  EXPECT_EQ(f.attention_factor, 1.0);
  // Llama 3.2's numbers (factor 32, original 8192, theta 500000, head_dim 16), from an
  // independent float64 evaluation of the same formula: 4 dims kept, dim 4 (wavelength 4443)
  // blended, dims 5-7 divided by 32.
  core::TransformerConfig llama32 = tiny(llama3);
  llama32.hidden_size = 64;
  llama32.rope_theta = 500000.0;
  llama32.rope_scaling.factor = 32.0;
  llama32.rope_scaling.original_max_position_embeddings = 8192;
  expect_inv_freq(frequencies_of(llama32).inv_freq,
                  {1.0, 1.9392274475e-01, 3.7606030931e-02, 7.2926647372e-03, 4.2955679656e-04, 8.5702554899e-06,
                   1.6619674678e-06, 3.2229329304e-07});
}

TEST(Rope, PartialRotaryFactorRotatesTheFirstDimsOnly) {
  // partial_rotary_factor 0.5: dim = int(8 * 0.5) = 4, inv_freq = 10000^(-{0, 2} / 4) = {1, 0.01}.
  core::TransformerConfig config = tiny();
  config.partial_rotary_factor = 0.5;
  const RopeFrequencies f = frequencies_of(config);
  expect_inv_freq(f.inv_freq, {1.0, 0.01});
  const RopeTables tables = rope_tables(positions_of({0, 1, 2}), f, at::kFloat);
  ASSERT_EQ(tables.cos.sizes(), (std::vector<int64_t>{1, 1, 3, 4}));
  // x = [1, 0, 0, 0 | 5, 6, 7, 8]: the rotary part's halves are x1 = [1, 0], x2 = [0, 0], so
  // out = x * cos + cat(-x2, x1) * sin = [cos p, 0, sin p, 0]; the last four dims pass through.
  const at::Tensor x = at::tensor({1.0f, 0.0f, 0.0f, 0.0f, 5.0f, 6.0f, 7.0f, 8.0f}).expand({1, 2, 3, 8});
  const at::Tensor y = apply_rope(x, tables);
  ASSERT_EQ(y.sizes(), x.sizes());
  for (int p = 0; p < 3; ++p) {
    const at::Tensor row = y[0][1][p];
    EXPECT_NEAR(row[0].item<float>(), std::cos(p), 1e-6);
    EXPECT_NEAR(row[1].item<float>(), 0.0, 1e-6);
    EXPECT_NEAR(row[2].item<float>(), std::sin(p), 1e-6);
    EXPECT_NEAR(row[3].item<float>(), 0.0, 1e-6);
    EXPECT_TRUE(at::equal(row.slice(0, 4), at::tensor({5.0f, 6.0f, 7.0f, 8.0f})));
  }
}

TEST(Rope, AttentionFactorScalesCosAndSin) {
  // `cos = emb.cos() * self.attention_scaling` (yarn factor 4: 1.1386294361119891).
  core::RopeScaling yarn = of_type(core::RopeScalingType::kYarn);
  yarn.factor = 4.0;
  const RopeFrequencies f = frequencies_of(tiny(yarn));
  const RopeTables scaled = rope_tables(positions_of({0, 3}), f, at::kFloat);
  RopeFrequencies unscaled;
  unscaled.inv_freq = f.inv_freq;
  const RopeTables plain = rope_tables(positions_of({0, 3}), unscaled, at::kFloat);
  EXPECT_TRUE(at::allclose(scaled.cos, plain.cos * 1.1386294361119891));
  EXPECT_TRUE(at::allclose(scaled.sin, plain.sin * 1.1386294361119891));
  EXPECT_NEAR(scaled.cos[0][0][0][0].item<float>(), 1.1386294361119891, 1e-6);  // cos 0 = 1
}

TEST(Rope, RotaryEmbeddingFollowsTheBatchLength) {
  // dynamic (factor 2, max 16): positions up to 15 use the plain frequencies, a batch reaching
  // position 31 (seq_len 32) the NTK-scaled ones of DynamicBelowAndAboveMaxPositionEmbeddings.
  core::RopeScaling dynamic = of_type(core::RopeScalingType::kDynamic);
  dynamic.factor = 2.0;
  const core::TransformerConfig config = tiny(dynamic);
  const RotaryEmbedding rotary(spec_of(config));
  auto angle_of = [&](const RotaryEmbedding& embedding, const at::Tensor& positions, int64_t t, int64_t i) {
    return std::asin(embedding.tables(positions, at::kFloat).sin[0][0][t][i].item<double>());
  };
  // Position 1, frequency 1: the angle is the frequency.
  EXPECT_NEAR(angle_of(rotary, positions_of({0, 1, 15}), 1, 1), 0.1, 1e-7);
  EXPECT_NEAR(angle_of(rotary, positions_of({0, 1, 31}), 1, 1), 0.06933612743506347, 1e-7);
  // longrope switches to the long factors once the batch passes original_max_position_embeddings.
  core::RopeScaling longrope = of_type(core::RopeScalingType::kLongrope);
  longrope.short_factor = {1, 2, 4, 8};
  longrope.long_factor = {2, 4, 8, 16};
  longrope.attention_factor = 1.0;
  core::TransformerConfig long_config = tiny(longrope);
  long_config.original_max_position_embeddings = 8;
  const RotaryEmbedding long_rotary(spec_of(long_config));
  EXPECT_NEAR(angle_of(long_rotary, positions_of({1, 7}), 0, 0), 1.0, 1e-6);  // 1 / short_factor[0]
  EXPECT_NEAR(angle_of(long_rotary, positions_of({1, 8}), 0, 0), 0.5, 1e-6);  // 1 / long_factor[0]
}

TEST(Rope, RotatesHalvesByPositionTimesFrequency) {
  // head_dim 2: one frequency (1), x = [1, 0] at position p becomes [cos p, sin p].
  core::TransformerConfig config = tiny();
  config.hidden_size = 8;  // head_dim 2
  const RopeTables tables = rope_tables(positions_of({0, 1, 2}), frequencies_of(config), at::kFloat);
  ASSERT_EQ(tables.cos.sizes(), (std::vector<int64_t>{1, 1, 3, 2}));
  const at::Tensor x = at::tensor({1.0f, 0.0f}).expand({1, 1, 3, 2});
  const at::Tensor y = apply_rope(x, tables);
  for (int p = 0; p < 3; ++p) {
    EXPECT_NEAR(y[0][0][p][0].item<float>(), std::cos(p), 1e-6);
    EXPECT_NEAR(y[0][0][p][1].item<float>(), std::sin(p), 1e-6);
  }
  // x = [0, 1]: rotate_half gives [-1, 0], so y = [-sin p, cos p].
  const at::Tensor y2 = apply_rope(at::tensor({0.0f, 1.0f}).expand({1, 1, 3, 2}), tables);
  EXPECT_NEAR(y2[0][0][2][0].item<float>(), -std::sin(2.0), 1e-6);
  EXPECT_NEAR(y2[0][0][2][1].item<float>(), std::cos(2.0), 1e-6);
}

TEST(Rope, PositionZeroIsIdentityAndNormsArePreserved) {
  const RopeFrequencies f = frequencies_of(tiny());
  const at::Tensor x = at::randn({2, 3, 4, 8});  // [B, H, T, D]
  EXPECT_TRUE(at::allclose(apply_rope(x, rope_tables(at::zeros({2, 4}, at::kLong), f, at::kFloat)), x));
  const at::Tensor positions = at::randint(0, 1000, {2, 4}, at::kLong);
  const at::Tensor y = apply_rope(x, rope_tables(positions, f, at::kFloat));
  EXPECT_TRUE(at::allclose(y.norm(2, -1), x.norm(2, -1), 1e-4, 1e-5));
}

TEST(Rope, DotProductDependsOnlyOnRelativePosition) {
  core::TransformerConfig config = tiny();
  config.hidden_size = 64;  // head_dim 16
  const RopeFrequencies f = frequencies_of(config);
  const at::Tensor q = at::randn({1, 1, 1, 16});
  const at::Tensor k = at::randn({1, 1, 1, 16});
  auto score = [&](int64_t m, int64_t n) {
    const at::Tensor qm = apply_rope(q, rope_tables(positions_of({m}), f, at::kFloat));
    const at::Tensor kn = apply_rope(k, rope_tables(positions_of({n}), f, at::kFloat));
    return (qm * kn).sum().item<float>();
  };
  EXPECT_NEAR(score(5, 3), score(12, 10), 1e-4);
  EXPECT_NEAR(score(0, 7), score(20, 27), 1e-4);
  EXPECT_GT(std::abs(score(5, 3) - score(5, 4)), 1e-4);
}

} // namespace
} // namespace caravan::model
