#include "model/gguf_export.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "model/gguf_writer.h"
#include "model/pretokenizer.h"
#include "tests/common/temp_dir.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::model {
namespace {

// An independent reader of what the writer produced, following the GGUF v3 layout of
// model/gguf_writer.h. Fails the test (ADD_FAILURE) on anything it cannot parse.
using GgufValue = std::variant<uint32_t, int32_t, float, std::string, std::vector<std::string>, std::vector<int32_t>>;

struct GgufTensorInfo {
  std::vector<uint64_t> dims;
  uint32_t type = 0;
  uint64_t offset = 0;
};

struct ParsedGguf {
  uint32_t magic = 0;
  uint32_t version = 0;
  std::map<std::string, GgufValue> metadata;
  std::vector<std::string> metadata_order;
  std::vector<std::pair<std::string, GgufTensorInfo>> tensors;
  uint64_t data_start = 0;
  std::string bytes;
};

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T read() {
    T value{};
    if (at_ + sizeof(T) > bytes_.size()) {
      ADD_FAILURE() << "read past the end at " << at_;
      return value;
    }
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  std::string string() {
    const auto size = read<uint64_t>();
    if (at_ + size > bytes_.size()) {
      ADD_FAILURE() << "string past the end at " << at_;
      return {};
    }
    std::string value = bytes_.substr(at_, size);
    at_ += size;
    return value;
  }
  uint64_t at() const { return at_; }

 private:
  const std::string& bytes_;
  uint64_t at_ = 0;
};

GgufValue read_value(Reader& reader, uint32_t type) {
  switch (static_cast<GgufType>(type)) {
    case GgufType::kUint32: return reader.read<uint32_t>();
    case GgufType::kInt32: return reader.read<int32_t>();
    case GgufType::kFloat32: return reader.read<float>();
    case GgufType::kString: return reader.string();
    case GgufType::kArray: {
      const auto element = static_cast<GgufType>(reader.read<uint32_t>());
      const auto count = reader.read<uint64_t>();
      if (element == GgufType::kString) {
        std::vector<std::string> values;
        for (uint64_t i = 0; i < count; ++i) values.push_back(reader.string());
        return values;
      }
      if (element == GgufType::kInt32) {
        std::vector<int32_t> values;
        for (uint64_t i = 0; i < count; ++i) values.push_back(reader.read<int32_t>());
        return values;
      }
      ADD_FAILURE() << "unexpected array element type " << static_cast<uint32_t>(element);
      return 0u;
    }
    default: ADD_FAILURE() << "unexpected value type " << type; return 0u;
  }
}

ParsedGguf parse(const std::filesystem::path& file) {
  ParsedGguf gguf;
  std::ifstream in(file, std::ios::binary);
  gguf.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  Reader reader(gguf.bytes);
  gguf.magic = reader.read<uint32_t>();
  gguf.version = reader.read<uint32_t>();
  const auto tensor_count = reader.read<uint64_t>();
  const auto metadata_count = reader.read<uint64_t>();
  for (uint64_t i = 0; i < metadata_count; ++i) {
    std::string key = reader.string();
    const auto type = reader.read<uint32_t>();
    gguf.metadata[key] = read_value(reader, type);
    gguf.metadata_order.push_back(key);
  }
  for (uint64_t i = 0; i < tensor_count; ++i) {
    std::string name = reader.string();
    GgufTensorInfo info;
    const auto dims = reader.read<uint32_t>();
    for (uint32_t d = 0; d < dims; ++d) info.dims.push_back(reader.read<uint64_t>());
    info.type = reader.read<uint32_t>();
    info.offset = reader.read<uint64_t>();
    gguf.tensors.emplace_back(std::move(name), info);
  }
  gguf.data_start = (reader.at() + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment;
  return gguf;
}

TEST(GgufWriterTest, WritesHeaderMetadataTensorInfosAndAlignedData) {
  testing::TempDir dir;
  GgufWriter writer;
  writer.add_string("general.architecture", "qwen3");
  writer.add_uint32("qwen3.block_count", 7);
  writer.add_float32("qwen3.rope.freq_base", 1e6f);
  writer.add_string_array("tokenizer.ggml.tokens", {"a", "", "\xC4\x8A"});
  writer.add_int32_array("tokenizer.ggml.token_type", {1, 3, -2});
  writer.add_string_array("tokenizer.ggml.merges", {});
  const at::Tensor matrix = at::arange(6, at::kFloat).reshape({2, 3});  // 24 bytes: padded to 32
  const at::Tensor vector = at::tensor({5.f, -1.5f});
  // A transposed view: written in its logical (row-major) order.
  const at::Tensor transposed = at::arange(6, at::kFloat).reshape({3, 2}).t();
  writer.add_tensor("m", matrix);
  writer.add_tensor("v", vector);
  writer.add_tensor("t", transposed);
  ASSERT_TRUE(writer.write(dir.path() / "x.gguf").ok());

  const ParsedGguf gguf = parse(dir.path() / "x.gguf");
  EXPECT_EQ(gguf.magic, kGgufMagic);
  EXPECT_EQ(gguf.bytes.substr(0, 4), "GGUF");
  EXPECT_EQ(gguf.version, 3u);
  EXPECT_EQ(gguf.metadata_order,
            (std::vector<std::string>{"general.architecture", "qwen3.block_count", "qwen3.rope.freq_base",
                                      "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"}));
  EXPECT_EQ(std::get<std::string>(gguf.metadata.at("general.architecture")), "qwen3");
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("qwen3.block_count")), 7u);
  EXPECT_EQ(std::get<float>(gguf.metadata.at("qwen3.rope.freq_base")), 1e6f);
  EXPECT_EQ(std::get<std::vector<std::string>>(gguf.metadata.at("tokenizer.ggml.tokens")),
            (std::vector<std::string>{"a", "", "\xC4\x8A"}));
  EXPECT_EQ(std::get<std::vector<int32_t>>(gguf.metadata.at("tokenizer.ggml.token_type")),
            (std::vector<int32_t>{1, 3, -2}));
  EXPECT_TRUE(std::get<std::vector<std::string>>(gguf.metadata.at("tokenizer.ggml.merges")).empty());

  ASSERT_EQ(gguf.tensors.size(), 3u);
  EXPECT_EQ(gguf.tensors[0].first, "m");
  EXPECT_EQ(gguf.tensors[0].second.dims, (std::vector<uint64_t>{3, 2}));  // fastest-varying first
  EXPECT_EQ(gguf.tensors[0].second.type, kGgmlTypeF32);
  EXPECT_EQ(gguf.tensors[0].second.offset, 0u);
  EXPECT_EQ(gguf.tensors[1].second.dims, (std::vector<uint64_t>{2}));
  EXPECT_EQ(gguf.tensors[1].second.offset, 32u);
  EXPECT_EQ(gguf.tensors[2].second.dims, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(gguf.tensors[2].second.offset, 64u);
  EXPECT_EQ(gguf.data_start % kGgufAlignment, 0u);
  EXPECT_EQ(gguf.bytes.size(), gguf.data_start + 64 + 32);
  for (size_t i = 0; i < 3; ++i) {
    const at::Tensor expected = std::vector<at::Tensor>{matrix, vector, transposed.contiguous()}[i];
    const std::string stored = gguf.bytes.substr(gguf.data_start + gguf.tensors[i].second.offset, expected.nbytes());
    EXPECT_EQ(std::memcmp(stored.data(), expected.data_ptr(), expected.nbytes()), 0) << gguf.tensors[i].first;
  }
}

core::TransformerConfig qwen3_config() {
  core::TransformerConfig config = testing::tiny_transformer_config(300, core::Architecture::kQwen3);
  config.tie_word_embeddings = true;
  return config;
}

TEST(GgufExportTest, Qwen3ModelHasLlamaCppNamesHyperparametersAndWeights) {
  testing::TempDir dir;
  at::manual_seed(0);
  const core::TransformerConfig config = qwen3_config();
  Llama llama(config);
  ASSERT_TRUE(export_gguf(dir.path() / "m.gguf", *llama, placeholder_vocabulary(config)).ok());
  const ParsedGguf gguf = parse(dir.path() / "m.gguf");

  EXPECT_EQ(std::get<std::string>(gguf.metadata.at("general.architecture")), "qwen3");
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("qwen3.block_count")), 2u);
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("qwen3.embedding_length")), 32u);
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("qwen3.feed_forward_length")), 48u);
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("qwen3.attention.head_count")), 4u);
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("qwen3.attention.head_count_kv")), 2u);
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("qwen3.attention.key_length")), 12u);
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("qwen3.context_length")), 32u);
  EXPECT_EQ(std::get<float>(gguf.metadata.at("qwen3.rope.freq_base")), static_cast<float>(config.rope_theta));
  EXPECT_EQ(std::get<std::string>(gguf.metadata.at("tokenizer.ggml.model")), "gpt2");
  EXPECT_EQ(std::get<uint32_t>(gguf.metadata.at("tokenizer.ggml.eos_token_id")), 257u);
  const auto& tokens = std::get<std::vector<std::string>>(gguf.metadata.at("tokenizer.ggml.tokens"));
  const auto& types = std::get<std::vector<int32_t>>(gguf.metadata.at("tokenizer.ggml.token_type"));
  ASSERT_EQ(tokens.size(), 300u);
  ASSERT_EQ(types.size(), 300u);
  EXPECT_EQ(tokens[10], byte_level_table()[10]);  // the newline's symbol, which llama.cpp looks up
  EXPECT_EQ(tokens[299], "<|id_299|>");
  EXPECT_EQ(types[257], kGgufTokenControl);
  EXPECT_EQ(types[42], kGgufTokenNormal);

  // Every parameter once (the tied embedding has no output.weight), renamed, dims reversed,
  // its float32 bytes at its offset.
  std::map<std::string, at::Tensor> expected;
  for (const auto& p : llama->named_parameters()) expected[p.key()] = p.value();
  const std::map<std::string, std::string> renamed = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight"},
      {"blk.1.attn_k_norm.weight", "model.layers.1.self_attn.k_norm.weight"},
      {"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"},
      {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"},
      {"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight"},
  };
  ASSERT_EQ(gguf.tensors.size(), expected.size());
  std::map<std::string, GgufTensorInfo> infos(gguf.tensors.begin(), gguf.tensors.end());
  EXPECT_EQ(infos.count("output.weight"), 0u);
  for (const auto& [gguf_name, hf_name] : renamed) {
    ASSERT_EQ(infos.count(gguf_name), 1u) << gguf_name;
    const at::Tensor& parameter = expected.at(hf_name);
    const GgufTensorInfo& info = infos.at(gguf_name);
    std::vector<uint64_t> dims;
    for (int64_t d = parameter.dim() - 1; d >= 0; --d) dims.push_back(static_cast<uint64_t>(parameter.size(d)));
    EXPECT_EQ(info.dims, dims) << gguf_name;
    EXPECT_EQ(info.offset % kGgufAlignment, 0u) << gguf_name;
    at::Tensor stored = at::empty_like(parameter);
    std::memcpy(stored.data_ptr(), gguf.bytes.data() + gguf.data_start + info.offset, stored.nbytes());
    EXPECT_TRUE(at::equal(stored, parameter.detach())) << gguf_name;
  }
}

TEST(GgufExportTest, RejectsOtherArchitecturesAndAMismatchedVocabulary) {
  testing::TempDir dir;
  core::TransformerConfig llama_config = testing::tiny_transformer_config(300);
  Llama llama(llama_config);
  const Status other = export_gguf(dir.path() / "l.gguf", *llama, placeholder_vocabulary(llama_config));
  EXPECT_EQ(other.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.message().find("Qwen3 only"), std::string::npos) << other.message();

  const core::TransformerConfig config = qwen3_config();
  Llama qwen3(config);
  GgufVocabulary short_vocabulary = placeholder_vocabulary(config);
  short_vocabulary.tokens.pop_back();
  const Status mismatched = export_gguf(dir.path() / "q.gguf", *qwen3, short_vocabulary);
  EXPECT_EQ(mismatched.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatched.message().find("299 tokens"), std::string::npos) << mismatched.message();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "q.gguf"));
}

}  // namespace
}  // namespace caravan::model
