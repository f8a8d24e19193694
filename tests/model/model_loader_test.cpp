#include "model/model_loader.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/bpe_tokenizer.h"
#include "model/checkpoint_io.h"
#include "model/safetensors.h"
#include "tests/common/hf_checkpoint.h"
#include "tests/common/temp_dir.h"
#include "tests/common/tiny_transformer.h"
#include "tests/common/llama_rows.h"

namespace caravan::model {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using testing::kQwenEndOfText;
using testing::kQwenImEnd;
using testing::kQwenImStart;

model::ModelOptions path_options(const fs::path& dir) {
  model::ModelOptions options;
  options.path = dir.string();
  return options;
}

json read_json(const fs::path& path) {
  std::ifstream file(path);
  return json::parse(file);
}

// Logits of a fixed sequence, for bit-exact comparisons of two models.
at::Tensor probe_logits(Llama& model) {
  const at::Tensor tokens = at::tensor({kQwenImStart, 117, 115, 101, 114, 10, 50, 43, 50, 63}, at::kLong).unsqueeze(0);
  at::NoGradGuard no_grad;
  return caravan::testing::row_logits(*model, tokens);
}

class ModelLoaderTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST_F(ModelLoaderTest, OpensAQwen3CheckpointWithItsTemplateSpecialTokensAndStopIds) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  Result<ModelSpec> spec = open_model(path_options(checkpoint.dir));
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();
  EXPECT_TRUE(spec->pretrained());
  EXPECT_EQ(spec->config.architecture, core::Architecture::kQwen3);
  EXPECT_EQ(spec->config.head_dim(), 12);
  EXPECT_EQ(spec->checkpoint_dtype, at::kBFloat16);  // "auto": the dtype on disk
  EXPECT_EQ(spec->compute_dtype, at::kFloat);
  const PromptFormat& format = spec->prompts->format();
  ASSERT_TRUE(format.chat_format.has_value());
  EXPECT_EQ(*format.chat_format, ChatFormat::kQwen3);
  // tokenizer_config.json's eos_token first, then generation_config.json's list.
  EXPECT_EQ(format.stop_ids, (std::vector<int32_t>{kQwenImEnd, kQwenEndOfText}));
  EXPECT_EQ(spec->tokenizer->pad_id(), kQwenEndOfText);
  EXPECT_TRUE(format.text_prefix.empty());  // add_bos_token false, as Qwen's tokenizer

  // A chat prompt is the template's text with the generation prompt, encoded as one string.
  Result<std::vector<int32_t>> ids = spec->prompts->encode_chat(std::vector<core::ChatMessage>{{"user", "2+2?"}});
  ASSERT_TRUE(ids.ok()) << ids.status().to_string();
  EXPECT_EQ(*ids, spec->tokenizer->encode("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"));
  EXPECT_EQ(ids->front(), kQwenImStart);
}

TEST_F(ModelLoaderTest, EnableThinkingFalseRendersAnEmptyThinkBlock) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  model::ModelOptions options = path_options(checkpoint.dir);
  options.enable_thinking = false;
  const ModelSpec spec = open_model(options).value();
  Result<std::vector<int32_t>> ids = spec.prompts->encode_chat(std::vector<core::ChatMessage>{{"user", "Hi"}});
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, spec.tokenizer->encode(
                      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"));
}

TEST_F(ModelLoaderTest, LoadsTheWeightsAndSavesACheckpointWithTheInputsKeysDtypeAndTokenizer) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  const ModelSpec spec = open_model(path_options(checkpoint.dir)).value();
  Result<Llama> model = load_model(spec, /*seed=*/1);
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ((*model)->parameters().front().scalar_type(), at::kFloat);
  // The weights are the file's, whatever the seed.
  const NamedTensors stored = load_safetensors(checkpoint.dir / "model.safetensors").value();
  auto parameters = (*model)->named_parameters();
  for (const auto& [name, tensor] : stored) EXPECT_TRUE(at::equal(parameters[name], tensor.to(at::kFloat))) << name;

  const fs::path out = dir_.path() / "out";
  ASSERT_TRUE(save_model(out, *model, spec.config, save_options(spec)).ok());
  // Same config.json (keys and values: a save changes nothing but the dtype, bf16 again here).
  EXPECT_EQ(read_json(out / "config.json"), checkpoint.config_json);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
    EXPECT_TRUE(fs::exists(out / file)) << file;
  }
  const std::vector<TensorInfo> saved = read_safetensors_header(out / "model.safetensors").value();
  EXPECT_FALSE(saved.empty());
  for (const TensorInfo& info : saved) {
    EXPECT_EQ(info.dtype, "BF16") << info.name;
    EXPECT_NE(info.name, "lm_head.weight");  // tied embeddings stay tied
  }
  // bf16 values survive the float32 round trip exactly: the reloaded model computes the same logits.
  const ModelSpec reopened = open_model(path_options(out)).value();
  Llama reloaded = load_model(reopened, /*seed=*/2).value();
  EXPECT_TRUE(at::equal(probe_logits(reloaded), probe_logits(*model)));
}

TEST_F(ModelLoaderTest, CheckpointDtypeAndComputeDtypeAreConfigurable) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  model::ModelOptions options = path_options(checkpoint.dir);
  options.dtype = "bfloat16";
  options.checkpoint_dtype = "float32";
  const ModelSpec spec = open_model(options).value();
  Llama model = load_model(spec, 0).value();
  EXPECT_EQ(model->parameters().front().scalar_type(), at::kBFloat16);
  const fs::path out = dir_.path() / "out";
  ASSERT_TRUE(save_model(out, model, spec.config, save_options(spec)).ok());
  EXPECT_EQ(read_json(out / "config.json")["torch_dtype"], "float32");
  const std::vector<TensorInfo> saved = read_safetensors_header(out / "model.safetensors").value();
  for (const TensorInfo& info : saved) EXPECT_EQ(info.dtype, "F32");
}

TEST_F(ModelLoaderTest, MissingTokenizerIsNamed) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  fs::remove(checkpoint.dir / "tokenizer.json");
  Result<ModelSpec> spec = open_model(path_options(checkpoint.dir));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kNotFound);
  EXPECT_NE(spec.status().message().find((checkpoint.dir / "tokenizer.json").string() + ": missing"), std::string::npos)
      << spec.status().message();
}

TEST_F(ModelLoaderTest, TokenizerLargerThanTheEmbeddingNamesBothFilesAndTheKey) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  json config = checkpoint.config_json;
  config["vocab_size"] = 262;  // the tokenizer has 265 ids
  testing::write_json_file(checkpoint.dir / "config.json", config);
  Result<ModelSpec> spec = open_model(path_options(checkpoint.dir));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(spec.status().message().find("tokenizer.json: the tokenizer has 265 ids but " +
                                         (checkpoint.dir / "config.json").string() + " key 'vocab_size' is 262"),
            std::string::npos)
      << spec.status().message();
}

TEST_F(ModelLoaderTest, UnsupportedRopeTypeNamesTheFileAndKey) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  json config = checkpoint.config_json;
  config["rope_scaling"] = {{"rope_type", "fancy"}, {"factor", 2.0}};
  testing::write_json_file(checkpoint.dir / "config.json", config);
  Result<ModelSpec> spec = open_model(path_options(checkpoint.dir));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find((checkpoint.dir / "config.json").string()), std::string::npos)
      << spec.status().message();
  EXPECT_NE(spec.status().message().find("rope_scaling"), std::string::npos) << spec.status().message();
  EXPECT_NE(spec.status().message().find("fancy"), std::string::npos) << spec.status().message();
}

TEST_F(ModelLoaderTest, UnknownChatTemplateFailsUnlessConfigNamesAFamily) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  testing::write_json_file(checkpoint.dir / "tokenizer_config.json",
                           {{"chat_template", "[INST] {{ messages }} [/INST]"}, {"eos_token", "<|im_end|>"}});
  Result<ModelSpec> spec = open_model(path_options(checkpoint.dir));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("tokenizer_config.json: chat_template matches no known format"),
            std::string::npos)
      << spec.status().message();
  EXPECT_NE(spec.status().message().find("[model] chat_template"), std::string::npos) << spec.status().message();

  model::ModelOptions named = path_options(checkpoint.dir);
  named.chat_template = "chatml";
  Result<ModelSpec> chatml = open_model(named);
  ASSERT_TRUE(chatml.ok()) << chatml.status().to_string();
  EXPECT_EQ(*chatml->prompts->format().chat_format, ChatFormat::kChatMl);
  named.chat_template = "vicuna";
  EXPECT_NE(open_model(named).status().message().find("[model] chat_template: unknown chat format \"vicuna\""),
            std::string::npos);
}

TEST_F(ModelLoaderTest, GenerationEosOutsideTheVocabularyIsNamed) {
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  testing::write_json_file(checkpoint.dir / "generation_config.json", {{"eos_token_id", {kQwenImEnd, 5000}}});
  Result<ModelSpec> spec = open_model(path_options(checkpoint.dir));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("generation_config.json: key 'eos_token_id': id 5000 is outside"),
            std::string::npos)
      << spec.status().message();
}

TEST_F(ModelLoaderTest, MissingDirectoryAndMissingWeightsAreNotFound) {
  EXPECT_EQ(open_model(path_options(dir_.path() / "absent")).status().code(), StatusCode::kNotFound);
  const testing::HfCheckpoint checkpoint = testing::write_qwen3_checkpoint(dir_.path() / "qwen");
  fs::remove(checkpoint.dir / "model.safetensors");
  Result<ModelSpec> spec = open_model(path_options(checkpoint.dir));
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kNotFound);
  EXPECT_NE(spec.status().message().find("no weights"), std::string::npos) << spec.status().message();
}

TEST_F(ModelLoaderTest, InlineModelUsesTheByteTokenizerAndAnOptionalNamedTemplate) {
  model::ModelOptions options;
  options.inline_config = testing::tiny_transformer_config(/*vocab_size=*/259);
  const ModelSpec spec = open_model(options).value();
  EXPECT_FALSE(spec.pretrained());
  EXPECT_EQ(spec.prompts->encode_text("1+2="), (std::vector<int32_t>{256, '1', '+', '2', '='}));
  EXPECT_EQ(spec.prompts->encode_answer("3"), (std::vector<int32_t>{'3', 257}));
  EXPECT_EQ(spec.prompts->stop_ids(), (std::vector<int32_t>{257}));
  Result<std::vector<int32_t>> chat = spec.prompts->encode_chat(std::vector<core::ChatMessage>{{"user", "Hi"}});
  ASSERT_FALSE(chat.ok());
  EXPECT_EQ(chat.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(chat.status().message().find("set [model] chat_template"), std::string::npos) << chat.status().message();

  options.chat_template = "chatml";
  const ModelSpec chatml = open_model(options).value();
  EXPECT_EQ(chatml.prompts->encode_chat(std::vector<core::ChatMessage>{{"user", "Hi"}}).value(),
            chatml.tokenizer->encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
  // The same seed gives the same random weights.
  Llama a = load_model(spec, 3).value();
  Llama b = load_model(spec, 3).value();
  EXPECT_TRUE(at::equal(a->parameters().front(), b->parameters().front()));
}

TEST_F(ModelLoaderTest, TokenizerPostProcessorPrefixIsTheRawTextPrefix) {
  // A Llama-3-style post_processor puts <|begin_of_text|> before a single text.
  json tokenizer = testing::qwen_tokenizer_json();
  tokenizer["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       {{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}},
        {{"type", "TemplateProcessing"},
         {"single", {{{"SpecialToken", {{"id", "<|endoftext|>"}, {"type_id", 0}}}},
                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
         {"pair", json::array()},
         {"special_tokens", {{"<|endoftext|>", {{"id", "<|endoftext|>"}, {"ids", {kQwenEndOfText}},
                                                {"tokens", {"<|endoftext|>"}}}}}}}}}};
  const fs::path dir = dir_.path() / "tok";
  fs::create_directories(dir);
  testing::write_json_file(dir / "tokenizer.json", tokenizer);
  Result<std::shared_ptr<const PromptEncoder>> encoder = open_prompt_encoder(dir, model::ModelOptions{}, {});
  ASSERT_TRUE(encoder.ok()) << encoder.status().to_string();
  EXPECT_EQ((*encoder)->encode_text("hi"), (std::vector<int32_t>{kQwenEndOfText, 'h', 'i'}));
  // tokenizer_config.json's add_bos_token wins over the post-processor.
  testing::write_json_file(dir / "tokenizer_config.json", {{"add_bos_token", false}});
  EXPECT_EQ(open_prompt_encoder(dir, model::ModelOptions{}, {}).value()->encode_text("hi"),
            (std::vector<int32_t>{'h', 'i'}));
}

}  // namespace
}  // namespace caravan::model
