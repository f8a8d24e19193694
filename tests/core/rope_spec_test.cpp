// core::resolve_rope: transformers' defaults and fallbacks per rope_type and layout, and the
// errors naming the key. The formulas quoted are those of transformers' modeling_rope_utils.py
// (4.57 for the rope_scaling layout, 5.x for rope_parameters).
#include "core/rope_spec.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

namespace caravan::core {
namespace {

// head_dim 8 (hidden 32 / 4 heads), max_position_embeddings 64, theta 10000.
TransformerConfig config_with(RopeScaling scaling) {
  TransformerConfig config;
  config.hidden_size = 32;
  config.num_heads = 4;
  config.max_position_embeddings = 64;
  config.rope_theta = 10000.0;
  config.rope_scaling = std::move(scaling);
  return config;
}

RopeScaling of_type(RopeScalingType type, RopeLayout layout = RopeLayout::kRopeScaling) {
  RopeScaling scaling;
  scaling.type = type;
  scaling.layout = layout;
  return scaling;
}

RopeSpec resolved(const TransformerConfig& config) {
  Result<RopeSpec> spec = resolve_rope(config);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  return spec.ok() ? *spec : RopeSpec{};
}

void expect_error(const TransformerConfig& config, const std::string& needle) {
  const Status status = resolve_rope(config).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << needle;
  EXPECT_NE(status.message().find(needle), std::string::npos) << status.message();
}

TEST(RopeSpec, DefaultRotatesTheWholeHead) {
  const RopeSpec spec = resolved(config_with(RopeScaling{}));
  EXPECT_EQ(spec.type, RopeScalingType::kDefault);
  EXPECT_EQ(spec.rotary_dim, 8);
  EXPECT_EQ(spec.theta, 10000.0);
  EXPECT_EQ(spec.attention_factor, 1.0);
}

TEST(RopeSpec, PartialRotaryFactorTruncatesLikePythonInt) {
  TransformerConfig config = config_with(RopeScaling{});
  config.partial_rotary_factor = 0.5;  // int(8 * 0.5) = 4
  EXPECT_EQ(resolved(config).rotary_dim, 4);
  config.explicit_head_dim = 12;
  config.partial_rotary_factor = 0.4;  // int(12 * 0.4) = int(4.800000000000001) = 4
  EXPECT_EQ(resolved(config).rotary_dim, 4);
  config.partial_rotary_factor = 0.25;  // int(12 * 0.25) = 3: odd
  expect_error(config, "key 'partial_rotary_factor': head_dim 12 * partial_rotary_factor 0.25 gives 3 rotary dims");
  config.partial_rotary_factor = 1.5;
  expect_error(config, "key 'partial_rotary_factor': expected 0 < x <= 1, got 1.5");
}

TEST(RopeSpec, PartialRotaryFactorPlacePerLayout) {
  // transformers 5: the top-level key wins over rope_parameters' (standardize_rope_params).
  RopeScaling parameters = of_type(RopeScalingType::kDefault, RopeLayout::kRopeParameters);
  parameters.partial_rotary_factor = 0.5;
  TransformerConfig config = config_with(parameters);
  EXPECT_EQ(resolved(config).rotary_dim, 4);
  config.partial_rotary_factor = 0.25;  // int(8 * 0.25) = 2
  EXPECT_EQ(resolved(config).rotary_dim, 2);
  // transformers 4 reads the top-level key only.
  RopeScaling scaling = of_type(RopeScalingType::kDefault);
  scaling.partial_rotary_factor = 0.5;
  expect_error(config_with(scaling), "key 'rope_scaling.partial_rotary_factor': transformers 4 reads");
}

TEST(RopeSpec, LinearAndDynamicRequireFactor) {
  expect_error(config_with(of_type(RopeScalingType::kLinear)),
               "key 'rope_scaling.factor': required for rope_type \"linear\"");
  expect_error(config_with(of_type(RopeScalingType::kDynamic, RopeLayout::kRopeParameters)),
               "key 'rope_parameters.factor': required for rope_type \"dynamic\"");
  RopeScaling dynamic = of_type(RopeScalingType::kDynamic);
  dynamic.factor = 2.0;
  const RopeSpec spec = resolved(config_with(dynamic));
  EXPECT_EQ(spec.factor, 2.0);
  EXPECT_EQ(spec.max_position_embeddings, 64);
  EXPECT_EQ(spec.attention_factor, 1.0);
  // dim / (dim - 2) needs rotary_dim > 2.
  TransformerConfig narrow = config_with(dynamic);
  narrow.partial_rotary_factor = 0.25;
  expect_error(narrow, "needs an even number >= 4");
}

TEST(RopeSpec, YarnDefaults) {
  RopeScaling yarn = of_type(RopeScalingType::kYarn);
  expect_error(config_with(yarn), "key 'rope_scaling.factor': required for rope_type \"yarn\"");
  yarn.factor = 4.0;
  const RopeSpec spec = resolved(config_with(yarn));
  // original_max_position_embeddings: rope_scaling.get(...) or max_position_embeddings.
  EXPECT_EQ(spec.original_max_position_embeddings, 64);
  // get_mscale(4) = 0.1 * ln 4 + 1 = 1.1386294361119891.
  EXPECT_DOUBLE_EQ(spec.attention_factor, 1.1386294361119891);
  EXPECT_EQ(spec.beta_fast, 32.0);
  EXPECT_EQ(spec.beta_slow, 1.0);
  EXPECT_TRUE(spec.truncate);
}

TEST(RopeSpec, YarnAttentionFactor) {
  RopeScaling yarn = of_type(RopeScalingType::kYarn);
  yarn.factor = 4.0;
  // Both mscales: get_mscale(4, 1) / get_mscale(4, 0.5) = (0.1 ln 4 + 1) / (0.05 ln 4 + 1)
  //   = 1.1386294361 / 1.0693147181 = 1.0648216253695715.
  yarn.mscale = 1.0;
  yarn.mscale_all_dim = 0.5;
  EXPECT_DOUBLE_EQ(resolved(config_with(yarn)).attention_factor, 1.0648216253695715);
  // `if mscale and mscale_all_dim`: a zero falls back to get_mscale(factor).
  yarn.mscale_all_dim = 0.0;
  EXPECT_DOUBLE_EQ(resolved(config_with(yarn)).attention_factor, 1.1386294361119891);
  // A stated attention_factor wins; factor <= 1 gives get_mscale = 1.
  yarn.attention_factor = 0.75;
  EXPECT_EQ(resolved(config_with(yarn)).attention_factor, 0.75);
  yarn.attention_factor.reset();
  yarn.mscale.reset();
  yarn.mscale_all_dim.reset();
  yarn.factor = 1.0;
  EXPECT_EQ(resolved(config_with(yarn)).attention_factor, 1.0);
}

TEST(RopeSpec, YarnOriginalContextPerLayout) {
  RopeScaling yarn = of_type(RopeScalingType::kYarn);
  yarn.factor = 4.0;
  yarn.original_max_position_embeddings = 16;
  TransformerConfig config = config_with(yarn);
  config.original_max_position_embeddings = 32;
  // transformers 4 ignores the top-level key for yarn.
  EXPECT_EQ(resolved(config).original_max_position_embeddings, 16);
  // transformers 5 gives it priority (standardize_rope_params).
  config.rope_scaling.layout = RopeLayout::kRopeParameters;
  EXPECT_EQ(resolved(config).original_max_position_embeddings, 32);
  config.original_max_position_embeddings.reset();
  EXPECT_EQ(resolved(config).original_max_position_embeddings, 16);
  config.rope_scaling.original_max_position_embeddings.reset();
  EXPECT_EQ(resolved(config).original_max_position_embeddings, 64);
}

TEST(RopeSpec, Llama3RequiredKeysPerLayout) {
  RopeScaling llama3 = of_type(RopeScalingType::kLlama3);
  llama3.factor = 8.0;
  expect_error(config_with(llama3), "key 'rope_scaling.low_freq_factor': required for rope_type \"llama3\"");
  llama3.low_freq_factor = 1.0;
  llama3.high_freq_factor = 4.0;
  expect_error(config_with(llama3), "key 'rope_scaling.original_max_position_embeddings': required");
  // transformers 5 falls back to max_position_embeddings.
  llama3.layout = RopeLayout::kRopeParameters;
  EXPECT_EQ(resolved(config_with(llama3)).original_max_position_embeddings, 64);
  llama3.original_max_position_embeddings = 16;
  const RopeSpec spec = resolved(config_with(llama3));
  EXPECT_EQ(spec.original_max_position_embeddings, 16);
  EXPECT_EQ(spec.factor, 8.0);
  EXPECT_EQ(spec.attention_factor, 1.0);
  llama3.high_freq_factor = 1.0;
  expect_error(config_with(llama3), "key 'rope_parameters.high_freq_factor': must exceed low_freq_factor (1), got 1");
}

TEST(RopeSpec, LongropeFactorAndContextPerLayout) {
  RopeScaling longrope = of_type(RopeScalingType::kLongrope);
  longrope.short_factor = {1, 2, 4, 8};
  longrope.long_factor = {2, 4, 8, 16};
  // transformers 4, top-level original_max_position_embeddings 16: factor = 64 / 16 = 4 (even
  // over a stated factor), attention = sqrt(1 + ln 4 / ln 16) = sqrt(1.5) = 1.224744871391589.
  longrope.factor = 2.0;
  TransformerConfig config = config_with(longrope);
  config.original_max_position_embeddings = 16;
  RopeSpec spec = resolved(config);
  EXPECT_EQ(spec.original_max_position_embeddings, 16);
  EXPECT_EQ(spec.factor, 4.0);
  EXPECT_DOUBLE_EQ(spec.attention_factor, 1.224744871391589);
  EXPECT_EQ(spec.short_factor, longrope.short_factor);
  // transformers 5 keeps the stated factor: sqrt(1 + ln 2 / ln 16) = sqrt(1.25).
  config.rope_scaling.layout = RopeLayout::kRopeParameters;
  spec = resolved(config);
  EXPECT_EQ(spec.factor, 2.0);
  EXPECT_DOUBLE_EQ(spec.attention_factor, std::sqrt(1.25));
  // ... and derives it from the context ratio when absent: rope_parameters' 32 -> 64 / 32 = 2.
  config.original_max_position_embeddings.reset();
  config.rope_scaling.factor.reset();
  config.rope_scaling.original_max_position_embeddings = 32;
  spec = resolved(config);
  EXPECT_EQ(spec.original_max_position_embeddings, 32);
  EXPECT_EQ(spec.factor, 2.0);
  EXPECT_DOUBLE_EQ(spec.attention_factor, std::sqrt(1.0 + std::log(2.0) / std::log(32.0)));
  // transformers 4 ignores rope_scaling's original_max_position_embeddings for longrope: the
  // context is max_position_embeddings, and without a factor the attention factor is undefined.
  config.rope_scaling.layout = RopeLayout::kRopeScaling;
  expect_error(config, "key 'rope_scaling.factor': required for rope_type \"longrope\" without attention_factor");
  config.rope_scaling.attention_factor = 1.5;
  spec = resolved(config);
  EXPECT_EQ(spec.original_max_position_embeddings, 64);
  EXPECT_EQ(spec.attention_factor, 1.5);
}

TEST(RopeSpec, LongropeLists) {
  RopeScaling longrope = of_type(RopeScalingType::kLongrope);
  longrope.factor = 4.0;
  longrope.long_factor = {2, 4, 8, 16};
  expect_error(config_with(longrope), "key 'rope_scaling.short_factor': required for rope_type \"longrope\"");
  longrope.short_factor = {1, 2, 4};
  expect_error(config_with(longrope), "key 'rope_scaling.short_factor': expected rotary_dim / 2 = 4 numbers, got 3");
  longrope.short_factor = {1, 2, 4, 0};
  expect_error(config_with(longrope), "key 'rope_scaling.short_factor': expected positive numbers, got 0");
}

TEST(RopeSpec, RejectsKeysTheTypeDoesNotReadAndBadNumbers) {
  RopeScaling llama3 = of_type(RopeScalingType::kLlama3);
  llama3.factor = 8.0;
  llama3.low_freq_factor = 1.0;
  llama3.high_freq_factor = 4.0;
  llama3.original_max_position_embeddings = 16;
  llama3.beta_fast = 32.0;
  expect_error(config_with(llama3), "key 'rope_scaling.beta_fast': not read by rope_type \"llama3\"");
  RopeScaling plain = of_type(RopeScalingType::kDefault);
  plain.factor = 2.0;
  expect_error(config_with(plain), "key 'rope_scaling.factor': not read by rope_type \"default\"");
  RopeScaling linear = of_type(RopeScalingType::kLinear);
  linear.factor = -2.0;
  expect_error(config_with(linear), "key 'rope_scaling.factor': expected a positive number, got -2");
  // config.toml spells the keys rope_scaling_<key>.
  linear.factor.reset();
  const Status toml = resolve_rope(config_with(linear), "rope_scaling_").status();
  EXPECT_NE(toml.message().find("key 'rope_scaling_factor': required"), std::string::npos) << toml.message();
}

} // namespace
} // namespace caravan::core
