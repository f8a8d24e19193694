// End-to-end tests of `caravan tokenize`, `caravan detokenize` and `caravan inspect`: a tiny
// model directory (a saved tiny Llama plus a GPT-2-style tokenizer.json) is written into a
// TempDir and the real binary is run with stdin/stdout/stderr redirected through files.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/bpe_tokenizer.h"
#include "model/chat_template.h"
#include "model/checkpoint_io.h"
#include "model/llama.h"
#include "model/pretokenizer.h"
#include "tests/common/bpe_fixture.h"
#include "tests/common/caravan_cli.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int32_t kIdEndOfText = 300;
constexpr int32_t kIdImEnd = 301;
constexpr int32_t kIdImStart = 302;

// A GPT-2-style tokenizer.json with a few merges and ChatML's special tokens.
json tokenizer_fixture() {
  json added = json::array();
  added.push_back({{"id", kIdEndOfText}, {"content", "<|endoftext|>"}, {"special", true}});
  added.push_back({{"id", kIdImEnd}, {"content", "<|im_end|>"}, {"special", true}});
  added.push_back({{"id", kIdImStart}, {"content", "<|im_start|>"}, {"special", true}});
  return caravan::testing::byte_level_bpe_json({{"Ġt", 256}, {"he", 257}, {"Ġthe", 258}},
                                               json::array({"Ġ t", "h e", "Ġt he"}), added);
}

core::TransformerConfig tiny_config() {
  core::TransformerConfig config;
  config.vocab_size = 303;
  config.hidden_size = 16;
  config.intermediate_size = 24;
  config.num_layers = 2;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.max_position_embeddings = 48;
  config.rope_theta = 500000.0;
  return config;
}


using testing::read_text;
using testing::write_text;
using Outcome = testing::CliOutcome;

class ModelToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_dir_ = dir_.path() / "model";
    const core::TransformerConfig config = tiny_config();
    model::Llama llama(config);
    ASSERT_TRUE(model::save_model(model_dir_, llama, config).ok());
    for (const auto& parameter : llama->parameters()) parameters_ += parameter.numel();
    write_text(model_dir_ / "tokenizer.json", tokenizer_fixture().dump());
    write_text(model_dir_ / "tokenizer_config.json",
               json{{"chat_template", "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                                      "{% endfor %}"},
                    {"add_bos_token", true}}
                   .dump());
    Result<std::shared_ptr<const model::BpeTokenizer>> tokenizer = model::BpeTokenizer::load(model_dir_ / "tokenizer.json");
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().message();
    tokenizer_ = *tokenizer;
  }

  // Runs `caravan ARGS < stdin_text` and collects the exit code, stdout and stderr.
  Outcome run(const std::string& args, const std::string& stdin_text = "") {
    return testing::run_caravan(args, dir_.path(), stdin_text);
  }

  std::string model_flag() const { return "--model '" + model_dir_.string() + "'"; }

  std::vector<int32_t> ids_of(const Outcome& outcome) {
    EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
    return json::parse(outcome.out).get<std::vector<int32_t>>();
  }

  testing::TempDir dir_;
  fs::path model_dir_;
  int64_t parameters_ = 0;
  std::shared_ptr<const model::BpeTokenizer> tokenizer_;
};

TEST_F(ModelToolsTest, TokenizeThenDetokenizeGivesTheExactBytes) {
  const std::string text = "the cat saw the héllo wörld → 日本語\n\ttabs  and\r\nend";
  const std::vector<int32_t> ids = ids_of(run("tokenize " + model_flag(), text));
  EXPECT_EQ(ids, tokenizer_->encode(text));
  EXPECT_NE(std::find(ids.begin(), ids.end(), 258), ids.end());  // " the" merged
  const Outcome back = run("detokenize " + model_flag(), json(ids).dump());
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, text);
}

// --add-special encodes as tokenizer(text) does: this tokenizer's config says add_bos_token.
TEST_F(ModelToolsTest, AddSpecialPrependsBos) {
  const std::string text = "the end";
  const std::vector<int32_t> plain = ids_of(run("tokenize " + model_flag(), text));
  EXPECT_EQ(plain, tokenizer_->encode(text));
  const std::vector<int32_t> with_bos = ids_of(run("tokenize --add-special " + model_flag(), text));
  ASSERT_EQ(with_bos.size(), plain.size() + 1);
  EXPECT_EQ(with_bos[0], tokenizer_->bos_id());
  EXPECT_EQ(std::vector<int32_t>(with_bos.begin() + 1, with_bos.end()), plain);
}

TEST_F(ModelToolsTest, ChatAppliesTheTemplate) {
  const json messages = json::array({{{"role", "system"}, {"content", "be brief"}},
                                     {{"role", "user"}, {"content", "the sum?"}},
                                     {{"role", "assistant"}, {"content", "4"}}});
  const std::vector<model::ChatMessage> chat = {{"system", "be brief"}, {"user", "the sum?"}, {"assistant", "4"}};
  Result<model::RenderedChat> rendered = model::render_chat(model::ChatFormat::kChatMl, chat, {});
  ASSERT_TRUE(rendered.ok()) << rendered.status().message();
  const std::vector<int32_t> expected = tokenizer_->encode(rendered->text);
  EXPECT_EQ(ids_of(run("tokenize --chat " + model_flag(), messages.dump())), expected);
  EXPECT_EQ(expected.front(), kIdImStart);
  // The template carries its specials: --add-special adds nothing with --chat.
  EXPECT_EQ(ids_of(run("tokenize --chat --add-special " + model_flag(), messages.dump())), expected);
  // A malformed message names its index.
  const Outcome bad = run("tokenize --chat " + model_flag(), R"([{"role": "user"}])");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("[0]"), std::string::npos) << bad.err;
}

TEST_F(ModelToolsTest, InspectPrintsSizesAndKvCacheBytes) {
  // 2 (K, V) * 2 layers * 2 KV heads * head_dim 4 * 4 bytes (F32).
  const int64_t kv_bytes = 2 * 2 * 2 * 4 * 4;
  const Outcome text = run("inspect '" + model_dir_.string() + "'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("architecture:             LlamaForCausalLM\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("parameters:               " + std::to_string(parameters_) + "\n"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("dtype:                    F32\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("context_length:           48\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("rope_theta:               500000\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("rope_scaling:             none\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("kv_cache_bytes_per_token: " + std::to_string(kv_bytes) + " (F32)\n"), std::string::npos)
      << text.out;

  const Outcome as_json = run("inspect --json '" + model_dir_.string() + "'");
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const json summary = json::parse(as_json.out);
  EXPECT_EQ(summary["parameters"].get<int64_t>(), parameters_);
  EXPECT_EQ(summary["kv_cache_bytes_per_token"].get<int64_t>(), kv_bytes);
  EXPECT_EQ(summary["dtype"], "F32");
  EXPECT_EQ(summary["context_length"].get<int64_t>(), 48);
  EXPECT_EQ(summary["rope_theta"].get<double>(), 500000.0);
  EXPECT_TRUE(summary["rope_scaling"].is_null());
}

TEST_F(ModelToolsTest, InspectReadsShardedCheckpoints) {
  const core::TransformerConfig config = tiny_config();
  model::Llama llama(config);
  const fs::path sharded = dir_.path() / "sharded";
  model::SaveModelOptions options;
  options.max_shard_bytes = 20000;
  ASSERT_TRUE(model::save_model(sharded, llama, config, options).ok());
  ASSERT_TRUE(fs::exists(sharded / model::kModelWeightsIndexFile));
  const Outcome outcome = run("inspect --json '" + sharded.string() + "'");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(json::parse(outcome.out)["parameters"].get<int64_t>(), parameters_);
}

// The frequencies of rope_test.cpp's DynamicBelowAndAboveMaxPositionEmbeddings: head_dim 8,
// theta 10000, dynamic factor 2, max_position_embeddings 16; at construction 10000^(-i/4), for
// seq_len 32 the base is 10000 * 3^(4/3), i.e. 10000^(-i/4) * 3^(-i/3).
TEST_F(ModelToolsTest, RopeJsonNeedsOnlyTheRopeKeysOfConfigJson) {
  const fs::path rope_dir = dir_.path() / "rope-only";
  fs::create_directories(rope_dir);
  write_text(rope_dir / "config.json",
             json{{"hidden_size", 32}, {"num_attention_heads", 4}, {"max_position_embeddings", 16},
                  {"rope_parameters", {{"rope_type", "dynamic"}, {"rope_theta", 10000.0}, {"factor", 2.0}}}}
                 .dump());
  auto inv_freq_of = [&](const std::string& flags, const std::vector<double>& expected) {
    const Outcome outcome = run("inspect --rope-json " + flags + " '" + rope_dir.string() + "'");
    ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
    const json rope = json::parse(outcome.out);
    EXPECT_EQ(rope["attention_factor"].get<double>(), 1.0);
    const std::vector<double> inv_freq = rope["inv_freq"].get<std::vector<double>>();
    ASSERT_EQ(inv_freq.size(), expected.size()) << outcome.out;
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(inv_freq[i], expected[i], expected[i] * 2e-6) << i;
  };
  inv_freq_of("", {1.0, 0.1, 0.01, 0.001});
  inv_freq_of("--seq-len 16", {1.0, 0.1, 0.01, 0.001});
  inv_freq_of("--seq-len 32", {1.0, 0.06933612743506347, 0.004807498567691361, 0.0003333333333333333});

  // yarn's attention factor: 0.1 * ln 4 + 1.
  write_text(rope_dir / "config.json", json{{"hidden_size", 32}, {"num_attention_heads", 4}, {"rope_theta", 10000.0},
                                            {"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}}}}
                                           .dump());
  const Outcome yarn = run("inspect --rope-json '" + rope_dir.string() + "'");
  ASSERT_EQ(yarn.exit_code, 0) << yarn.err;
  EXPECT_DOUBLE_EQ(json::parse(yarn.out)["attention_factor"].get<double>(), 1.1386294361119891);

  // Errors name config.json and the key; --seq-len belongs to --rope-json.
  write_text(rope_dir / "config.json", json{{"hidden_size", 32}, {"num_attention_heads", 4},
                                            {"rope_scaling", {{"rope_type", "yarn"}}}}
                                           .dump());
  const Outcome missing = run("inspect --rope-json '" + rope_dir.string() + "'");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("config.json: key 'rope_scaling.factor': required for rope_type \"yarn\""),
            std::string::npos)
      << missing.err;
  EXPECT_EQ(run("inspect --seq-len 8 '" + model_dir_.string() + "'").exit_code, 2);
  EXPECT_EQ(run("inspect --rope-json --seq-len 0 '" + model_dir_.string() + "'").exit_code, 2);
}

TEST_F(ModelToolsTest, MissingModelDirFailsNamingIt) {
  const std::string missing = (dir_.path() / "no_such_model").string();
  for (const std::string command : {"tokenize --model", "detokenize --model", "inspect"}) {
    const Outcome outcome = run(command + " '" + missing + "'", "[1]");
    EXPECT_EQ(outcome.exit_code, 1) << command;
    EXPECT_NE(outcome.err.find(missing), std::string::npos) << command << ": " << outcome.err;
  }
  // A directory without tokenizer.json names the file.
  const Outcome no_tokenizer = run("tokenize --model '" + dir_.path().string() + "'", "x");
  EXPECT_EQ(no_tokenizer.exit_code, 1);
  EXPECT_NE(no_tokenizer.err.find("tokenizer.json"), std::string::npos) << no_tokenizer.err;
}

TEST_F(ModelToolsTest, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(run("tokenize").exit_code, 2);
  EXPECT_EQ(run("detokenize").exit_code, 2);
  EXPECT_EQ(run("inspect").exit_code, 2);
  EXPECT_EQ(run("tokenize --add-special=yes " + model_flag()).exit_code, 2);
  const Outcome help = run("tokenize --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--add-special\n"), std::string::npos) << help.out;
}

TEST_F(ModelToolsTest, DetokenizeRejectsBadInput) {
  const Outcome not_array = run("detokenize " + model_flag(), "{\"a\": 1}");
  EXPECT_EQ(not_array.exit_code, 1);
  EXPECT_NE(not_array.err.find("stdin"), std::string::npos) << not_array.err;
  const Outcome negative = run("detokenize " + model_flag(), "[1, -2]");
  EXPECT_EQ(negative.exit_code, 1);
  EXPECT_NE(negative.err.find("[1]"), std::string::npos) << negative.err;
  const Outcome out_of_vocab = run("detokenize " + model_flag(), "[99999]");
  EXPECT_EQ(out_of_vocab.exit_code, 1);
  EXPECT_NE(out_of_vocab.err.find("99999"), std::string::npos) << out_of_vocab.err;
}

} // namespace
} // namespace caravan::apps
