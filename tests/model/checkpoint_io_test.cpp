#include "model/checkpoint_io.h"

#include <fstream>
#include <regex>
#include <set>

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

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(read_text(path)); }

// Every parameter of `a` equals (bit for bit) the same-named one of `b`.
void expect_same_parameters(Llama& a, Llama& b) {
  auto expected = b->named_parameters();
  for (const auto& item : a->named_parameters()) {
    EXPECT_TRUE(at::equal(item.value(), expected[item.key()])) << item.key();
  }
}

// Small enough that the ~21 KB small_config() model needs 3+ shards.
constexpr int64_t kSmallShardBytes = 4096;

SaveModelOptions shard_options(int64_t max_shard_bytes) {
  SaveModelOptions options;
  options.max_shard_bytes = max_shard_bytes;
  return options;
}

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

  write_text(path, R"({"architectures": ["MistralForCausalLM"], "vocab_size": 100, "hidden_size": 64,
                      "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 8})");
  const Status architecture = read_model_config(dir.path()).status();
  EXPECT_EQ(architecture.code(), StatusCode::kInvalidArgument);
  expect_message_has(architecture, "config.json: key 'architectures'");
  expect_message_has(architecture, "MistralForCausalLM");
}

TEST(CheckpointIo, ShardedRoundTripIsBitIdentical) {
  TempDir dir;
  const auto out = dir.path() / "ckpt";
  const core::TransformerConfig config = small_config();
  at::manual_seed(3);
  Llama saved(config);
  ASSERT_TRUE(save_model(out, saved, config, shard_options(kSmallShardBytes)).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "ckpt.staging"));
  EXPECT_FALSE(std::filesystem::exists(out / "model.safetensors"));

  const auto index = read_json(out / "model.safetensors.index.json");
  int64_t total = 0;
  std::set<std::string> names;
  for (const auto& item : saved->named_parameters()) {
    total += static_cast<int64_t>(item.value().nbytes());
    names.insert(item.key());
  }
  EXPECT_EQ(index["metadata"]["total_size"], total);
  ASSERT_EQ(index["weight_map"].size(), names.size());
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    EXPECT_EQ(names.count(tensor), 1U) << tensor;
    shards.insert(shard.get<std::string>());
  }
  ASSERT_GE(shards.size(), 3U);
  const std::string count = str_cat(shards.size());
  for (const std::string& shard : shards) {
    EXPECT_TRUE(std::regex_match(shard, std::regex("model-000\\d\\d-of-" + std::string(5 - count.size(), '0') + count +
                                                     "\\.safetensors")))
        << shard;
    // Each shard holds exactly the tensors the index maps to it, within the size limit.
    const Result<NamedTensors> tensors = load_safetensors(out / shard);
    ASSERT_TRUE(tensors.ok()) << tensors.status().to_string();
    int64_t bytes = 0;
    for (const auto& [name, tensor] : *tensors) {
      EXPECT_EQ(index["weight_map"][name], shard) << name;
      bytes += static_cast<int64_t>(tensor.nbytes());
    }
    EXPECT_LE(bytes, kSmallShardBytes) << shard;
  }

  at::manual_seed(4);
  Llama loaded(config);
  const Status status = load_model_weights(out, loaded);
  ASSERT_TRUE(status.ok()) << status.to_string();
  expect_same_parameters(loaded, saved);
  // Saving to a directory that already exists refuses nothing and leaves one layout.
  ASSERT_TRUE(save_model(out, saved, config).ok());
  EXPECT_TRUE(std::filesystem::exists(out / "model.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(out / "model.safetensors.index.json"));
  EXPECT_FALSE(std::filesystem::exists(out / *shards.begin()));
}

TEST(CheckpointIo, EverythingInOneShardWritesNoIndex) {
  TempDir dir;
  const core::TransformerConfig config = small_config();
  Llama model(config);
  ASSERT_TRUE(save_model(dir.path() / "a" / "b", model, config, shard_options(1'000'000)).ok());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "a" / "b" / "model.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "a" / "b" / "model.safetensors.index.json"));
  EXPECT_EQ(save_model(dir.path() / "c", model, config, shard_options(0)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "c"));
}

TEST(CheckpointIo, CopiesTokenizerFilesThatExist) {
  TempDir source;
  TempDir dir;
  write_text(source.path() / "tokenizer.json", R"({"model": {"type": "BPE"}})");
  write_text(source.path() / "generation_config.json", R"({"eos_token_id": 2})");
  write_text(source.path() / "unrelated.txt", "not copied");
  const core::TransformerConfig config = small_config();
  Llama model(config);
  ASSERT_TRUE(save_model(dir.path() / "out", model, config, {.copy_tokenizer_from = source.path()}).ok());
  EXPECT_EQ(read_text(dir.path() / "out" / "tokenizer.json"), R"({"model": {"type": "BPE"}})");
  EXPECT_EQ(read_text(dir.path() / "out" / "generation_config.json"), R"({"eos_token_id": 2})");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out" / "tokenizer_config.json"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out" / "unrelated.txt"));

  const Status status =
      save_model(dir.path() / "out2", model, config, {.copy_tokenizer_from = source.path() / "nowhere"});
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  expect_message_has(status, "nowhere");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out2"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out2.staging"));
}

TEST(CheckpointIo, ConvertsHalfPrecisionWeightsOnLoad) {
  TempDir dir;
  const core::TransformerConfig config = small_config();
  at::manual_seed(5);
  Llama source(config);
  ASSERT_TRUE(save_model(dir.path(), source, config).ok());
  // Rewrite the weights as alternating BF16 and F16, as Hub checkpoints store them.
  NamedTensors half;
  for (const auto& item : source->named_parameters()) {
    half.emplace_back(item.key(), item.value().to(half.size() % 2 == 0 ? at::kBFloat16 : at::kHalf));
  }
  ASSERT_TRUE(save_safetensors(dir.path() / "model.safetensors", half, {}).ok());

  Llama loaded(config);
  const Status status = load_model_weights(dir.path(), loaded);
  ASSERT_TRUE(status.ok()) << status.to_string();
  auto parameters = loaded->named_parameters();
  for (const auto& [name, tensor] : half) {
    EXPECT_EQ(parameters[name].scalar_type(), at::kFloat) << name;
    EXPECT_TRUE(at::equal(parameters[name], tensor.to(at::kFloat))) << name;
  }
}

// A sharded checkpoint of small_config() to corrupt, and a model to load it into.
class ShardedCheckpointErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(save_model(dir_, model_, small_config(), shard_options(kSmallShardBytes)).ok());
    index_ = read_json(dir_ / "model.safetensors.index.json");
    shard1_ = index_["weight_map"]["model.embed_tokens.weight"].get<std::string>();
    shard2_ = index_["weight_map"]["model.layers.1.mlp.down_proj.weight"].get<std::string>();
  }
  void write_index() { write_text(dir_ / "model.safetensors.index.json", index_.dump()); }
  Status load() { return load_model_weights(dir_, model_); }

  TempDir temp_;
  std::filesystem::path dir_ = temp_.path() / "ckpt";
  Llama model_{small_config()};
  nlohmann::json index_;
  // The shard holding model.embed_tokens.weight (the first), and a later one.
  std::string shard1_;
  std::string shard2_;
};

TEST_F(ShardedCheckpointErrors, IntactCheckpointLoads) {
  EXPECT_TRUE(std::regex_match(shard1_, std::regex(R"(model-00001-of-\d{5}\.safetensors)"))) << shard1_;
  EXPECT_NE(shard1_, shard2_);
  EXPECT_TRUE(load().ok());
}

TEST_F(ShardedCheckpointErrors, TensorMappedButMissingFromShard) {
  Result<NamedTensors> tensors = load_safetensors(dir_ / shard1_);
  ASSERT_TRUE(tensors.ok());
  const std::string dropped = tensors->back().first;
  tensors->pop_back();
  ASSERT_TRUE(save_safetensors(dir_ / shard1_, *tensors, {}).ok());
  const Status status = load();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  expect_message_has(status, str_cat(shard1_, ": tensor '", dropped, "' is missing from the shard"));
}

TEST_F(ShardedCheckpointErrors, ShardFileMissing) {
  std::filesystem::remove(dir_ / shard1_);
  const Status status = load();
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  expect_message_has(status, str_cat(shard1_, ": shard file missing"));
  expect_message_has(status, "tensor '");
}

TEST_F(ShardedCheckpointErrors, TensorInShardNotInMap) {
  index_["weight_map"].erase("model.embed_tokens.weight");
  write_index();
  const Status status = load();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  expect_message_has(status, str_cat(shard1_, ": tensor 'model.embed_tokens.weight' is not mapped to this shard"));
}

TEST_F(ShardedCheckpointErrors, TensorMappedToAnotherShard) {
  index_["weight_map"]["model.embed_tokens.weight"] = shard2_;
  write_index();
  const Status status = load();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  expect_message_has(status, "tensor 'model.embed_tokens.weight'");
}

TEST_F(ShardedCheckpointErrors, ParameterMissingFromIndexAndShards) {
  Result<NamedTensors> tensors = load_safetensors(dir_ / shard1_);
  ASSERT_TRUE(tensors.ok());
  ASSERT_EQ(tensors->front().first, "model.embed_tokens.weight");
  tensors->erase(tensors->begin());
  ASSERT_TRUE(save_safetensors(dir_ / shard1_, *tensors, {}).ok());
  index_["weight_map"].erase("model.embed_tokens.weight");
  write_index();
  const Status status = load();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  expect_message_has(status, "model.safetensors.index.json: tensor 'model.embed_tokens.weight': missing");
}

TEST_F(ShardedCheckpointErrors, TruncatedShard) {
  const auto path = dir_ / shard1_;
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 100);
  const Status status = load();
  EXPECT_FALSE(status.ok());
  expect_message_has(status, shard1_);
  expect_message_has(status, "tensor '");
}

TEST_F(ShardedCheckpointErrors, ShapeMismatch) {
  core::TransformerConfig wider = small_config();
  wider.intermediate_size = 32;
  Llama model(wider);
  const Status status = load_model_weights(dir_, model);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  expect_message_has(status, "tensor 'model.layers.0.mlp.gate_proj.weight': shape");
  expect_message_has(status, ".safetensors");
}

TEST_F(ShardedCheckpointErrors, InvalidIndex) {
  write_text(dir_ / "model.safetensors.index.json", "{\"weight_map\": ");
  expect_message_has(load(), "model.safetensors.index.json: invalid JSON");
  write_text(dir_ / "model.safetensors.index.json", R"({"metadata": {}})");
  expect_message_has(load(), "model.safetensors.index.json: missing object 'weight_map'");
  index_["weight_map"]["model.norm.weight"] = "../elsewhere.safetensors";
  write_index();
  const Status status = load();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  expect_message_has(status, "tensor 'model.norm.weight': shard must be a file name");
}

} // namespace
} // namespace caravan::model
