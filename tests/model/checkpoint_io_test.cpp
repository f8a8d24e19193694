#include "model/checkpoint_io.h"

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "tests/common/temp_dir.h"

namespace caravan::model {
namespace {

using caravan::testing::TempDir;

core::TransformerConfig small_config() {
  core::TransformerConfig config;
  config.vocab_size = 40;
  config.hidden_size = 16;
  config.intermediate_size = 24;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.max_position_embeddings = 48;
  config.rope_theta = 500000.0;
  config.rms_norm_eps = 1e-6;
  return config;
}

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

void expect_message_has(const Status& status, const std::string& needle) {
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(needle), std::string::npos) << "'" << needle << "' not in: " << status.message();
}

TEST(CheckpointIo, SaveAndLoadRoundTrip) {
  TempDir dir;
  const core::TransformerConfig config = small_config();
  at::manual_seed(1);
  Llama saved(config);
  ASSERT_TRUE(save_model(dir.path() / "step-1", saved, config).ok());

  const Result<core::TransformerConfig> read = read_model_config(dir.path() / "step-1");
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(read->vocab_size, 40);
  EXPECT_EQ(read->hidden_size, 16);
  EXPECT_EQ(read->intermediate_size, 24);
  EXPECT_EQ(read->num_layers, 2);
  EXPECT_EQ(read->num_heads, 4);
  EXPECT_EQ(read->num_kv_heads, 2);
  EXPECT_EQ(read->max_position_embeddings, 48);
  EXPECT_EQ(read->rope_theta, 500000.0);
  EXPECT_EQ(read->rms_norm_eps, 1e-6);
  EXPECT_FALSE(read->tie_word_embeddings);

  at::manual_seed(2);
  Llama loaded(*read);
  ASSERT_TRUE(load_model_weights(dir.path() / "step-1", loaded).ok());
  auto expected = saved->named_parameters();
  for (const auto& item : loaded->named_parameters()) {
    EXPECT_TRUE(at::equal(item.value(), expected[item.key()])) << item.key();
  }
  const at::Tensor tokens = at::randint(0, 40, {1, 5}, at::kLong);
  const at::Tensor mask = at::ones({1, 5}, at::kBool);
  const at::Tensor positions = at::arange(5, at::kLong).unsqueeze(0);
  EXPECT_TRUE(at::equal(loaded->forward(tokens, positions, mask), saved->forward(tokens, positions, mask)));
}

TEST(CheckpointIo, WritesHuggingFaceConfig) {
  TempDir dir;
  const core::TransformerConfig config = small_config();
  Llama model(config);
  ASSERT_TRUE(save_model(dir.path(), model, config).ok());
  std::ifstream file(dir.path() / "config.json");
  const auto json = nlohmann::json::parse(file);
  EXPECT_EQ(json["architectures"], nlohmann::json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(json["model_type"], "llama");
  EXPECT_EQ(json["num_hidden_layers"], 2);
  EXPECT_EQ(json["num_key_value_heads"], 2);
  EXPECT_EQ(json["torch_dtype"], "float32");
  EXPECT_EQ(json["bos_token_id"], 256);
  EXPECT_EQ(json["eos_token_id"], 257);
  EXPECT_EQ(json["pad_token_id"], 258);
  EXPECT_EQ(json["tie_word_embeddings"], false);
  // The weights file holds exactly the parameters, under their names.
  const Result<NamedTensors> tensors = load_safetensors(dir.path() / "model.safetensors");
  ASSERT_TRUE(tensors.ok());
  EXPECT_EQ(tensors->size(), model->named_parameters().size());
  EXPECT_EQ(tensors->back().first, "lm_head.weight");
}

TEST(CheckpointIo, ShapeMismatchNamesTheTensor) {
  TempDir dir;
  core::TransformerConfig config = small_config();
  Llama model(config);
  ASSERT_TRUE(save_model(dir.path(), model, config).ok());
  config.intermediate_size = 32;
  Llama wider(config);
  const Status status = load_model_weights(dir.path(), wider);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  expect_message_has(status, "model.safetensors");
  expect_message_has(status, "tensor 'model.layers.0.mlp.gate_proj.weight'");
  expect_message_has(status, "shape");
}

TEST(CheckpointIo, MissingAndUnexpectedTensors) {
  TempDir tied_dir;
  TempDir untied_dir;
  core::TransformerConfig tied = small_config();
  tied.tie_word_embeddings = true;
  Llama tied_model(tied);
  ASSERT_TRUE(save_model(tied_dir.path(), tied_model, tied).ok());
  EXPECT_TRUE(read_model_config(tied_dir.path())->tie_word_embeddings);
  const core::TransformerConfig untied = small_config();
  Llama untied_model(untied);
  ASSERT_TRUE(save_model(untied_dir.path(), untied_model, untied).ok());

  const Status missing = load_model_weights(tied_dir.path(), untied_model);
  expect_message_has(missing, "tensor 'lm_head.weight': missing");
  const Status unexpected = load_model_weights(untied_dir.path(), tied_model);
  expect_message_has(unexpected, "tensor 'lm_head.weight' is not a parameter");
  EXPECT_EQ(load_model_weights(tied_dir.path() / "nowhere", tied_model).code(), StatusCode::kNotFound);
}

TEST(CheckpointIo, ReadConfigAppliesHuggingFaceDefaults) {
  TempDir dir;
  write_text(dir.path() / "config.json",
             R"({"vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3,
                 "num_attention_heads": 8, "rope_scaling": null})");
  const Result<core::TransformerConfig> config = read_model_config(dir.path());
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->num_kv_heads, 8);
  EXPECT_EQ(config->rope_theta, 10000.0);
  EXPECT_FALSE(config->tie_word_embeddings);
}

TEST(CheckpointIo, ReadConfigErrorsNameFileAndKey) {
  TempDir dir;
  const auto path = dir.path() / "config.json";
  EXPECT_EQ(read_model_config(dir.path()).status().code(), StatusCode::kNotFound);

  write_text(path, "{\"vocab_size\": 10,");
  expect_message_has(read_model_config(dir.path()).status(), "config.json: invalid JSON");

  write_text(path, R"({"vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 8})");
  expect_message_has(read_model_config(dir.path()).status(), "config.json: missing key 'num_hidden_layers'");

  write_text(path, R"({"vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                      "num_attention_heads": 8, "num_key_value_heads": 3})");
  expect_message_has(read_model_config(dir.path()).status(), "key 'num_key_value_heads'");

  write_text(path, R"({"vocab_size": 100, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                      "num_attention_heads": 8, "rope_scaling": {"rope_type": "llama3"}})");
  expect_message_has(read_model_config(dir.path()).status(), "key 'rope_scaling'");

  write_text(path, R"({"model_type": "qwen2", "vocab_size": 100})");
  expect_message_has(read_model_config(dir.path()).status(), "key 'model_type'");
}

} // namespace
} // namespace caravan::model
