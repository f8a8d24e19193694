#include "model/checkpoint_io.h"

#include <fstream>
#include <regex>
#include <set>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/generation_config.h"
#include "model/rope_config_json.h"
#include "model/safetensors.h"
#include "tests/common/temp_dir.h"
#include "tests/common/tiny_transformer.h"
#include "tests/common/llama_rows.h"

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
  EXPECT_TRUE(at::equal(caravan::testing::row_logits(*loaded, tokens), caravan::testing::row_logits(*saved, tokens)));
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

TEST(CheckpointIo, SavedConfigKeepsTheRopeKeysOfTheInput) {
  TempDir dir;
  const core::TransformerConfig config = small_config();  // head_dim 4
  at::manual_seed(1);
  Llama base(config);
  ASSERT_TRUE(save_model(dir.path() / "base", base, config).ok());
  const nlohmann::json base_json = read_json(dir.path() / "base" / "config.json");
  struct Case {
    nlohmann::json input;     // the RoPE keys of the input config.json
    nlohmann::json expected;  // the RoPE keys of the saved one
  };
  const std::vector<Case> cases = {
      // transformers 4 layout, Qwen2.5-style yarn with the older "type" key: saved with
      // "rope_type" beside it, as transformers itself saves it.
      {{{"rope_theta", 1e6},
        {"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32}}},
        {"partial_rotary_factor", 1.0}},
       {{"rope_theta", 1e6},
        {"rope_scaling",
         {{"type", "yarn"}, {"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32}}},
        {"partial_rotary_factor", 1.0}}},
      // transformers 5 layout, longrope with a top-level pre-training context.
      {{{"rope_parameters",
         {{"rope_type", "longrope"}, {"rope_theta", 10000.0}, {"short_factor", {1.0, 2.0}}, {"long_factor", {2.0, 4.0}},
          {"factor", 2.0}}},
        {"original_max_position_embeddings", 24}},
       {}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    nlohmann::json input = base_json;
    for (std::string_view key : kRopeConfigKeys) input.erase(std::string(key));
    input.update(cases[i].input);
    write_text(dir.path() / "base" / "config.json", input.dump());
    const Result<core::TransformerConfig> read = read_model_config(dir.path() / "base");
    ASSERT_TRUE(read.ok()) << read.status().to_string();
    Llama model(*read);
    const auto out = dir.path() / str_cat("out-", i);
    ASSERT_TRUE(save_model(out, model, *read).ok());
    const nlohmann::json saved = read_json(out / "config.json");
    const nlohmann::json& expected = cases[i].expected.is_null() ? cases[i].input : cases[i].expected;
    for (std::string_view name : kRopeConfigKeys) {
      const std::string key(name);
      EXPECT_EQ(saved.contains(key), expected.contains(key)) << "case " << i << ": " << key;
      if (expected.contains(key)) {
        EXPECT_EQ(saved[key], expected[key]) << "case " << i << ": " << key;
      }
    }
  }
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
  expect_message_has(read_model_config(dir.path()).status(),
                     "config.json: key 'rope_scaling.factor': required for rope_type \"llama3\"");

  write_text(path, R"({"model_type": "mistral", "vocab_size": 100})");
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

// config.json files as published on the Hub (Llama-3.2-1B-Instruct, Qwen2.5-0.5B-Instruct,
// Qwen3-0.6B, OLMo-2-0425-1B), keys and values verbatim.
constexpr const char* kLlama32Config = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 131072,
  "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 16,
  "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})";
constexpr const char* kQwen25Config = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2",
  "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";
constexpr const char* kQwen3Config = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
  "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 40960,
  "max_window_layers": 28, "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28,
  "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000,
  "sliding_window": null, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";
constexpr const char* kOlmo2Config = R"({
  "architectures": ["Olmo2ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": null, "eos_token_id": 100257, "hidden_act": "silu", "hidden_size": 2048,
  "initializer_range": 0.02, "intermediate_size": 8192, "max_position_embeddings": 4096, "model_type": "olmo2",
  "num_attention_heads": 16, "num_hidden_layers": 16, "num_key_value_heads": 16, "pad_token_id": 100277,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 500000, "tie_word_embeddings": false,
  "torch_dtype": "float32", "transformers_version": "4.48.0.dev0", "use_cache": true, "vocab_size": 100352})";

Result<core::TransformerConfig> read_config_text(const TempDir& dir, const std::string& text) {
  write_text(dir.path() / "config.json", text);
  return read_model_config(dir.path());
}

// `text` with `key`'s value replaced by `value` (a JSON text).
std::string with_key(const char* text, const std::string& key, const std::string& value) {
  nlohmann::json json = nlohmann::json::parse(text);
  json[key] = nlohmann::json::parse(value);
  return json.dump();
}

TEST(CheckpointIoArchitectures, ReadsLlama32Config) {
  TempDir dir;
  const Result<core::TransformerConfig> c = read_config_text(dir, kLlama32Config);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->architecture, core::Architecture::kLlama);
  EXPECT_EQ(c->head_dim(), 64);
  EXPECT_EQ(c->num_kv_heads, 8);
  EXPECT_EQ(c->rope_theta, 500000.0);
  EXPECT_EQ(c->rope_scaling.type, core::RopeScalingType::kLlama3);
  EXPECT_EQ(c->rope_scaling.factor, 32.0);
  EXPECT_EQ(c->rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c->rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->bos_token_id, 128000);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(c->pad_token_id, std::nullopt);
  EXPECT_FALSE(c->qkv_bias());
  EXPECT_EQ(c->qk_norm(), core::QkNorm::kNone);
}

TEST(CheckpointIoArchitectures, ReadsQwen25Config) {
  TempDir dir;
  const Result<core::TransformerConfig> c = read_config_text(dir, kQwen25Config);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->architecture, core::Architecture::kQwen2);
  EXPECT_TRUE(c->qkv_bias());
  EXPECT_EQ(c->head_dim(), 64);
  EXPECT_EQ(c->rope_theta, 1e6);
  EXPECT_EQ(c->rope_scaling.type, core::RopeScalingType::kDefault);
  EXPECT_EQ(c->rms_norm_eps, 1e-6);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{151645}));
}

TEST(CheckpointIoArchitectures, ReadsQwen3ConfigWithWideHeads) {
  TempDir dir;
  const Result<core::TransformerConfig> c = read_config_text(dir, kQwen3Config);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->architecture, core::Architecture::kQwen3);
  EXPECT_EQ(c->head_dim(), 128);  // hidden_size / heads would be 64
  EXPECT_EQ(c->qk_norm(), core::QkNorm::kPerHead);
  EXPECT_FALSE(c->qkv_bias());
  EXPECT_EQ(c->rope_theta, 1e6);
  EXPECT_EQ(c->max_position_embeddings, 40960);
}

TEST(CheckpointIoArchitectures, ReadsOlmo2Config) {
  TempDir dir;
  const Result<core::TransformerConfig> c = read_config_text(dir, kOlmo2Config);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->architecture, core::Architecture::kOlmo2);
  EXPECT_TRUE(c->post_norm());
  EXPECT_EQ(c->qk_norm(), core::QkNorm::kFull);
  EXPECT_EQ(c->bos_token_id, std::nullopt);
  EXPECT_EQ(c->pad_token_id, 100277);
  EXPECT_FALSE(c->tie_word_embeddings);
}

TEST(CheckpointIoArchitectures, ReadsTransformers5RopeParameters) {
  TempDir dir;
  nlohmann::json json = nlohmann::json::parse(kLlama32Config);
  json.erase("rope_theta");
  json.erase("rope_scaling");
  json["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 32.0},
                             {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                             {"original_max_position_embeddings", 8192}};
  Result<core::TransformerConfig> c = read_config_text(dir, json.dump());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->rope_theta, 500000.0);
  EXPECT_EQ(c->rope_scaling.type, core::RopeScalingType::kLlama3);
  EXPECT_EQ(c->rope_scaling.factor, 32.0);
  json["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e6}};
  c = read_config_text(dir, json.dump());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->rope_theta, 1e6);
  EXPECT_EQ(c->rope_scaling.type, core::RopeScalingType::kDefault);
}

TEST(CheckpointIoArchitectures, RejectsUnsupportedFeaturesNamingTheKey) {
  TempDir dir;
  const auto expect_rejected = [&](const std::string& text, const std::string& needle) {
    const Status status = read_config_text(dir, text).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << needle;
    expect_message_has(status, "config.json: " + needle);
  };
  expect_rejected(with_key(kLlama32Config, "rope_scaling", R"({"rope_type": "su", "factor": 4.0})"),
                  "key 'rope_scaling.rope_type': rope type \"su\" is not supported");
  expect_rejected(with_key(kLlama32Config, "rope_scaling", R"({"type": "yarn"})"),
                  "key 'rope_scaling.factor': required for rope_type \"yarn\"");
  expect_rejected(with_key(kLlama32Config, "rope_scaling", R"({"rope_type": "llama3", "factor": 8.0})"),
                  "key 'rope_scaling.low_freq_factor': required for rope_type \"llama3\"");
  expect_rejected(with_key(kLlama32Config, "rope_scaling",
                           R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 1,
                               "original_max_position_embeddings": 8192})"),
                  "key 'rope_scaling.high_freq_factor': must exceed low_freq_factor");
  expect_rejected(with_key(kQwen25Config, "use_sliding_window", "true"), "key 'use_sliding_window'");
  expect_rejected(with_key(kQwen3Config, "layer_types", R"(["full_attention", "sliding_attention"])"),
                  "key 'layer_types'");
  expect_rejected(with_key(kQwen3Config, "model_type", R"("qwen2")"), "key 'model_type': expected \"qwen3\"");
  expect_rejected(with_key(kOlmo2Config, "architectures", R"(["OlmoForCausalLM"])"), "key 'architectures'");
  expect_rejected(with_key(kLlama32Config, "hidden_act", R"("gelu")"), "key 'hidden_act'");
  expect_rejected(with_key(kLlama32Config, "attention_bias", "true"), "key 'attention_bias'");
  expect_rejected(with_key(kLlama32Config, "mlp_bias", "true"), "key 'mlp_bias'");
  expect_rejected(with_key(kQwen3Config, "head_dim", "127"), "key 'head_dim'");
  expect_rejected(with_key(kQwen3Config, "eos_token_id", R"("</s>")"), "key 'eos_token_id'");
  expect_rejected(with_key(kLlama32Config, "rope_scaling", R"({"rope_type": "default", "partial_rotary_factor": 0.5})"),
                  "key 'rope_scaling.partial_rotary_factor': transformers 4 reads partial_rotary_factor at the top");
}

// Tiny models of each architecture with every parameter non-trivial, saved and loaded again.
class ArchitectureRoundTrip : public ::testing::TestWithParam<core::Architecture> {};

TEST_P(ArchitectureRoundTrip, SaveLoadIsBitIdenticalAndKeepsTheConfig) {
  TempDir dir;
  core::TransformerConfig config = caravan::testing::tiny_transformer_config(/*vocab_size=*/40, GetParam());
  config.rope_theta = 500000.0;
  config.rms_norm_eps = 1e-6;
  config.bos_token_id = std::nullopt;
  config.eos_token_ids = {7, 9};
  config.pad_token_id = 3;
  if (GetParam() == core::Architecture::kLlama) {
    config.tie_word_embeddings = true;
    config.rope_scaling.type = core::RopeScalingType::kLlama3;
    config.rope_scaling.factor = 8.0;
    config.rope_scaling.low_freq_factor = 1.0;
    config.rope_scaling.high_freq_factor = 4.0;
    config.rope_scaling.original_max_position_embeddings = 16;
  }
  at::manual_seed(11);
  Llama saved(config);
  {
    at::NoGradGuard no_grad;
    for (auto& item : saved->named_parameters()) {
      if (item.value().dim() == 1) item.value().uniform_(-1.0, 1.0);
    }
  }
  ASSERT_TRUE(save_model(dir.path() / "out", saved, config).ok());

  const auto json = read_json(dir.path() / "out" / "config.json");
  EXPECT_EQ(json["architectures"], nlohmann::json::array({std::string(core::class_name(GetParam()))}));
  EXPECT_EQ(json["model_type"], std::string(core::enum_name(GetParam())));
  EXPECT_EQ(json["head_dim"], config.head_dim());
  EXPECT_TRUE(json["bos_token_id"].is_null());
  EXPECT_EQ(json["eos_token_id"], nlohmann::json::array({7, 9}));
  EXPECT_EQ(json["pad_token_id"], 3);

  const Result<core::TransformerConfig> read = read_model_config(dir.path() / "out");
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(read->architecture, config.architecture);
  EXPECT_EQ(read->head_dim(), config.head_dim());
  EXPECT_EQ(read->tie_word_embeddings, config.tie_word_embeddings);
  EXPECT_EQ(read->rope_scaling.type, config.rope_scaling.type);
  EXPECT_EQ(read->rope_scaling.original_max_position_embeddings, config.rope_scaling.original_max_position_embeddings);
  EXPECT_EQ(read->rope_theta, config.rope_theta);
  EXPECT_EQ(read->rms_norm_eps, config.rms_norm_eps);
  EXPECT_EQ(read->max_position_embeddings, config.max_position_embeddings);
  EXPECT_EQ(read->bos_token_id, config.bos_token_id);
  EXPECT_EQ(read->eos_token_ids, config.eos_token_ids);
  EXPECT_EQ(read->pad_token_id, config.pad_token_id);

  at::manual_seed(12);
  Llama loaded(*read);
  const Status status = load_model_weights(dir.path() / "out", loaded);
  ASSERT_TRUE(status.ok()) << status.to_string();
  expect_same_parameters(loaded, saved);
  const at::Tensor tokens = at::randint(0, 40, {2, 7}, at::kLong);
  EXPECT_TRUE(at::equal(caravan::testing::row_logits(*loaded, tokens), caravan::testing::row_logits(*saved, tokens)));
}

INSTANTIATE_TEST_SUITE_P(CheckpointIo, ArchitectureRoundTrip, ::testing::ValuesIn(core::kAllArchitectures),
                         [](const auto& info) { return std::string(core::enum_name(info.param)); });

TEST(GenerationConfig, AbsentFileLeavesEverythingUnset) {
  TempDir dir;
  const Result<GenerationConfig> config = read_generation_config(dir.path());
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_FALSE(config->temperature.has_value());
  EXPECT_FALSE(config->top_k.has_value());
  EXPECT_TRUE(config->token_ids.eos.empty());
  EXPECT_FALSE(config->token_ids.bos.has_value());
}

TEST(GenerationConfig, ReadsLlama31InstructFile) {
  TempDir dir;
  write_text(dir.path() / "generation_config.json",
             R"({"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009],
                 "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.45.0.dev0"})");
  const Result<GenerationConfig> config = read_generation_config(dir.path());
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->token_ids.bos, 128000);
  EXPECT_EQ(config->token_ids.eos, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_FALSE(config->token_ids.pad.has_value());
  EXPECT_EQ(config->temperature, 0.6);
  EXPECT_EQ(config->top_p, 0.9);
  EXPECT_FALSE(config->top_k.has_value());

  write_text(dir.path() / "generation_config.json",
             R"({"eos_token_id": 151645, "pad_token_id": 151643, "top_k": 20, "max_new_tokens": 512,
                 "max_length": 32768, "temperature": 0})");
  const Result<GenerationConfig> qwen = read_generation_config(dir.path());
  ASSERT_TRUE(qwen.ok()) << qwen.status().to_string();
  EXPECT_EQ(qwen->token_ids.eos, (std::vector<int64_t>{151645}));
  EXPECT_EQ(qwen->token_ids.pad, 151643);
  EXPECT_EQ(qwen->top_k, 20);
  EXPECT_EQ(qwen->max_new_tokens, 512);
  EXPECT_EQ(qwen->max_length, 32768);
  EXPECT_EQ(qwen->temperature, 0.0);
}

TEST(GenerationConfig, ErrorsNameFileAndKey) {
  TempDir dir;
  const auto path = dir.path() / "generation_config.json";
  const auto expect_error = [&](const std::string& text, const std::string& needle) {
    write_text(path, text);
    const Status status = read_generation_config(dir.path()).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << text;
    expect_message_has(status, "generation_config.json: " + needle);
  };
  expect_error("{\"top_p\": ", "invalid JSON");
  expect_error("[1, 2]", "not a JSON object");
  expect_error(R"({"top_p": 1.5})", "key 'top_p': expected a number in (0, 1], got 1.5");
  expect_error(R"({"temperature": "hot"})", "key 'temperature'");
  expect_error(R"({"top_k": 2.5})", "key 'top_k'");
  expect_error(R"({"max_new_tokens": 0})", "key 'max_new_tokens'");
  expect_error(R"({"eos_token_id": [1, -2]})", "key 'eos_token_id'");
  expect_error(R"({"bos_token_id": "<s>"})", "key 'bos_token_id'");
}

} // namespace
} // namespace caravan::model
