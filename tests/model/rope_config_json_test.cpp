// config.json's RoPE keys: read as the file states them (both transformers layouts) and written
// back with the same keys; errors name the key.
#include "model/rope_config_json.h"

#include <string>

#include <gtest/gtest.h>

namespace caravan::model {
namespace {

using nlohmann::json;

Result<core::TransformerConfig> read_keys(const json& keys) {
  core::TransformerConfig config;
  const Status status = read_rope_keys(keys, config);
  if (!status.ok()) return status;
  return config;
}

// The RoPE keys written for `config`.
json written(const core::TransformerConfig& config) {
  json out = json::object();
  write_rope_keys(config, out);
  return out;
}

void expect_rejected(const json& keys, const std::string& needle) {
  const Status status = read_keys(keys).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << needle;
  EXPECT_NE(status.message().find(needle), std::string::npos) << status.message();
}

TEST(RopeConfigJson, ReadsAndWritesTheTransformers4Layout) {
  const json keys = {{"rope_theta", 500000.0},
                     {"rope_scaling",
                      {{"rope_type", "llama3"}, {"factor", 32.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}}}};
  const Result<core::TransformerConfig> config = read_keys(keys);
  ASSERT_TRUE(config.ok()) << config.status().message();
  const core::RopeScaling& s = config->rope_scaling;
  EXPECT_EQ(s.layout, core::RopeLayout::kRopeScaling);
  EXPECT_EQ(s.type, core::RopeScalingType::kLlama3);
  EXPECT_EQ(config->rope_theta, 500000.0);
  EXPECT_EQ(s.factor, 32.0);
  EXPECT_EQ(s.original_max_position_embeddings, 8192);
  EXPECT_FALSE(s.attention_factor.has_value());
  EXPECT_EQ(written(*config), keys);

  // Plain RoPE: rope_scaling null (or absent), written as null.
  const Result<core::TransformerConfig> plain = read_keys({{"rope_theta", 1e6}, {"rope_scaling", nullptr}});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->rope_scaling.type, core::RopeScalingType::kDefault);
  EXPECT_EQ(written(*plain), json({{"rope_theta", 1e6}, {"rope_scaling", nullptr}}));
}

TEST(RopeConfigJson, ReadsAndWritesTheTransformers5Layout) {
  const json keys = {{"rope_parameters",
                      {{"rope_type", "yarn"}, {"rope_theta", 1e6}, {"factor", 4.0}, {"beta_fast", 16.0},
                       {"truncate", false}, {"partial_rotary_factor", 0.5}}},
                     {"original_max_position_embeddings", 4096}};
  const Result<core::TransformerConfig> config = read_keys(keys);
  ASSERT_TRUE(config.ok()) << config.status().message();
  const core::RopeScaling& s = config->rope_scaling;
  EXPECT_EQ(s.layout, core::RopeLayout::kRopeParameters);
  EXPECT_EQ(s.type, core::RopeScalingType::kYarn);
  EXPECT_EQ(config->rope_theta, 1e6);
  EXPECT_EQ(s.beta_fast, 16.0);
  EXPECT_EQ(s.truncate, false);
  EXPECT_EQ(s.partial_rotary_factor, 0.5);
  EXPECT_FALSE(config->partial_rotary_factor.has_value());
  EXPECT_EQ(config->original_max_position_embeddings, 4096);
  EXPECT_EQ(written(*config), keys);

  // rope_parameters without a type is the default RoPE (transformers 5's standardize_rope_params).
  const Result<core::TransformerConfig> plain = read_keys({{"rope_parameters", {{"rope_theta", 1e4}}}});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->rope_scaling.type, core::RopeScalingType::kDefault);
  EXPECT_EQ(written(*plain), json({{"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e4}}}}));
}

TEST(RopeConfigJson, OlderTypeKeyIsKeptBesideRopeType) {
  const Result<core::TransformerConfig> config =
      read_keys({{"rope_theta", 1e6}, {"rope_scaling", {{"type", "linear"}, {"factor", 2.0}}}});
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->rope_scaling.type, core::RopeScalingType::kLinear);
  EXPECT_TRUE(config->rope_scaling.legacy_type_key);
  EXPECT_EQ(written(*config)["rope_scaling"], json({{"type", "linear"}, {"rope_type", "linear"}, {"factor", 2.0}}));
}

TEST(RopeConfigJson, ErrorsNameTheKey) {
  expect_rejected({{"rope_scaling", {{"rope_type", "ntk-by-parts"}}}},
                  "key 'rope_scaling.rope_type': rope type \"ntk-by-parts\" is not supported (supported: \"default\", "
                  "\"linear\", \"dynamic\", \"yarn\", \"longrope\", \"llama3\")");
  expect_rejected({{"rope_scaling", {{"factor", 2.0}}}}, "key 'rope_scaling.rope_type': missing");
  expect_rejected({{"rope_scaling", {{"type", "linear"}, {"rope_type", "dynamic"}}}},
                  "key 'rope_scaling.type': \"linear\" disagrees with rope_scaling.rope_type \"dynamic\"");
  expect_rejected({{"rope_scaling", {{"rope_type", "linear"}, {"factor", "2"}}}},
                  "key 'rope_scaling.factor': expected a number, got \"2\"");
  expect_rejected({{"rope_parameters", {{"rope_type", "longrope"}, {"short_factor", {1, "2"}}}}},
                  "key 'rope_parameters.short_factor': expected a list of numbers");
  expect_rejected({{"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}, {"mrope_section", {16, 24, 24}}}}},
                  "key 'rope_scaling.mrope_section': not a RoPE key transformers reads");
  expect_rejected({{"rope_scaling", {{"rope_type", "default"}, {"rope_theta", 1e6}}}},
                  "key 'rope_scaling.rope_theta': transformers 4 reads rope_theta at the top level");
  expect_rejected({{"rope_scaling", {{"rope_type", "default"}}}, {"rope_parameters", {{"rope_type", "default"}}}},
                  "key 'rope_parameters': give either rope_scaling (transformers 4) or rope_parameters");
  expect_rejected({{"rope_parameters", {{"rope_type", "yarn"}, {"factor", 4.0}, {"truncate", nullptr}}}},
                  "key 'rope_parameters.truncate': expected true or false, got null");
  expect_rejected({{"rope_theta", -1}}, "key 'rope_theta': expected a positive number, got -1");
  expect_rejected({{"original_max_position_embeddings", 4096.5}},
                  "key 'original_max_position_embeddings': expected a positive integer, got 4096.5");
  expect_rejected({{"rope_scaling", "yarn"}}, "key 'rope_scaling': expected an object or null, got \"yarn\"");
}

} // namespace
} // namespace caravan::model
