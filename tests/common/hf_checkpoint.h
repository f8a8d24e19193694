// File: tests/common/hf_checkpoint.h
// A small random Hugging Face checkpoint directory shaped like Qwen/Qwen3-0.6B, for tests of the
// model loader, runs on real checkpoints and the generate/eval commands: config.json with the
// keys transformers writes (including ones Caravan does not read), model.safetensors in the
// requested dtype, a byte-level BPE tokenizer.json with Qwen's special tokens, a
// tokenizer_config.json holding Qwen3's real chat template (tests/data/models/) and a
// generation_config.json listing two eos ids.
//
//   caravan::testing::TempDir dir;
//   caravan::testing::HfCheckpoint checkpoint = caravan::testing::write_qwen3_checkpoint(dir.path() / "m");
//   model::ModelSpec spec = model::open_model({.path = checkpoint.dir.string()}).value();
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/llama.h"
#include "model/safetensors.h"
#include "tests/common/bpe_fixture.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::testing {

// The special tokens of the fixture tokenizer (ids after the 256 byte symbols and 4 merges).
inline constexpr int32_t kQwenEndOfText = 260;  // <|endoftext|>: bos and pad
inline constexpr int32_t kQwenImStart = 261;    // <|im_start|>
inline constexpr int32_t kQwenImEnd = 262;      // <|im_end|>: eos, end of turn
inline constexpr int32_t kQwenThink = 263;      // <think>
inline constexpr int32_t kQwenEndThink = 264;   // </think>
// The embedding is padded beyond the tokenizer's 265 ids, as Qwen's is.
inline constexpr int64_t kQwenVocabSize = 272;

struct HfCheckpointOptions {
  at::ScalarType dtype = at::kBFloat16;
  uint64_t seed = 7;
  int64_t max_position_embeddings = 512;
};

struct HfCheckpoint {
  std::filesystem::path dir;
  core::TransformerConfig config;
  // config.json exactly as written.
  nlohmann::json config_json;
};

inline std::string read_source_file(const std::string& relative_path) {
  std::ifstream file(std::string(CARAVAN_SOURCE_DIR) + "/" + relative_path, std::ios::binary);
  EXPECT_TRUE(file.good()) << relative_path;
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

inline void write_json_file(const std::filesystem::path& path, const nlohmann::json& json) {
  std::ofstream(path) << json.dump(2);
}

// tokenizer.json of the fixture: GPT-2 byte-level BPE with four merges and Qwen's added tokens.
inline nlohmann::json qwen_tokenizer_json() {
  using nlohmann::json;
  const json merged = {{"Ġt", 256}, {"he", 257}, {"Ġthe", 258}, {"is", 259}};
  const json merges = json::array({"Ġ t", "h e", "Ġt he", "i s"});
  json added = json::array();
  const auto add = [&](int id, const char* content, bool special) {
    added.push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", special}});
  };
  add(kQwenEndOfText, "<|endoftext|>", true);
  add(kQwenImStart, "<|im_start|>", true);
  add(kQwenImEnd, "<|im_end|>", true);
  add(kQwenThink, "<think>", false);
  add(kQwenEndThink, "</think>", false);
  return byte_level_bpe_json(merged, merges, added);
}

// The tests' tiny Qwen3 shape with Qwen3-0.6B's RoPE base, norm epsilon, tied embeddings and ids.
inline core::TransformerConfig qwen3_fixture_config(int64_t max_position_embeddings) {
  core::TransformerConfig config = tiny_transformer_config(kQwenVocabSize, core::Architecture::kQwen3);
  config.max_position_embeddings = max_position_embeddings;
  config.rope_theta = 1000000.0;
  config.rms_norm_eps = 1e-6;
  config.tie_word_embeddings = true;
  config.bos_token_id = kQwenEndOfText;
  config.eos_token_ids = {kQwenImEnd};
  config.pad_token_id = std::nullopt;
  return config;
}

inline HfCheckpoint write_qwen3_checkpoint(const std::filesystem::path& dir, const HfCheckpointOptions& options = {}) {
  using nlohmann::json;
  std::filesystem::create_directories(dir);
  HfCheckpoint checkpoint{.dir = dir, .config = qwen3_fixture_config(options.max_position_embeddings), .config_json = {}};
  const core::TransformerConfig& c = checkpoint.config;
  const char* dtype_name = options.dtype == at::kBFloat16 ? "bfloat16" : options.dtype == at::kHalf ? "float16" : "float32";
  checkpoint.config_json = {
      {"architectures", {"Qwen3ForCausalLM"}}, {"attention_bias", false}, {"attention_dropout", 0.0},
      {"bos_token_id", kQwenEndOfText}, {"eos_token_id", kQwenImEnd}, {"head_dim", c.explicit_head_dim},
      {"hidden_act", "silu"}, {"hidden_size", c.hidden_size}, {"initializer_range", 0.02},
      {"intermediate_size", c.intermediate_size}, {"max_position_embeddings", c.max_position_embeddings},
      {"max_window_layers", c.num_layers}, {"model_type", "qwen3"}, {"num_attention_heads", c.num_heads},
      {"num_hidden_layers", c.num_layers}, {"num_key_value_heads", c.num_kv_heads}, {"rms_norm_eps", c.rms_norm_eps},
      {"rope_scaling", nullptr}, {"rope_theta", c.rope_theta}, {"sliding_window", nullptr},
      {"tie_word_embeddings", true}, {"torch_dtype", dtype_name}, {"transformers_version", "4.51.0"},
      {"use_cache", true}, {"use_sliding_window", false}, {"vocab_size", c.vocab_size}};
  write_json_file(dir / "config.json", checkpoint.config_json);

  at::manual_seed(options.seed);
  model::Llama llama(c);
  model::NamedTensors tensors;
  for (const auto& item : llama->named_parameters()) tensors.emplace_back(item.key(), item.value().to(options.dtype));
  EXPECT_TRUE(model::save_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}}).ok());

  write_json_file(dir / "tokenizer.json", qwen_tokenizer_json());
  write_json_file(dir / "tokenizer_config.json",
                  {{"add_bos_token", false}, {"add_prefix_space", false}, {"bos_token", nullptr},
                   {"chat_template", read_source_file("tests/data/models/qwen3_chat_template.jinja")},
                   {"clean_up_tokenization_spaces", false}, {"eos_token", "<|im_end|>"}, {"errors", "replace"},
                   {"model_max_length", 131072}, {"pad_token", "<|endoftext|>"}, {"split_special_tokens", false},
                   {"tokenizer_class", "Qwen2Tokenizer"}, {"unk_token", nullptr}});
  write_json_file(dir / "generation_config.json",
                  {{"bos_token_id", kQwenEndOfText}, {"do_sample", true}, {"eos_token_id", {kQwenImEnd, kQwenEndOfText}},
                   {"pad_token_id", kQwenEndOfText}, {"temperature", 0.6}, {"top_k", 20}, {"top_p", 0.95},
                   {"transformers_version", "4.51.0"}});
  return checkpoint;
}

} // namespace caravan::testing
