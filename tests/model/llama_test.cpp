#include "model/llama.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/status.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::model {
namespace {

core::TransformerConfig tiny_config() { return caravan::testing::tiny_transformer_config(/*vocab_size=*/50); }

Llama seeded_model(const core::TransformerConfig& config) {
  at::manual_seed(1234);
  return Llama(config);
}

// positions = cumsum(mask) - 1, as callers compute them for left-padded rows.
at::Tensor positions_from(const at::Tensor& mask) { return mask.to(at::kLong).cumsum(1) - 1; }

TEST(Llama, ParameterNamesAreExactlyHuggingFaces) {
  Llama model(tiny_config());
  std::vector<std::string> expected = {"model.embed_tokens.weight"};
  for (int layer = 0; layer < 2; ++layer) {
    const std::string prefix = "model.layers." + std::to_string(layer) + ".";
    for (const char* name : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                             "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "input_layernorm",
                             "post_attention_layernorm"}) {
      expected.push_back(prefix + name + ".weight");
    }
  }
  expected.push_back("model.norm.weight");
  expected.push_back("lm_head.weight");
  EXPECT_EQ(model->named_parameters().keys(), expected);
  EXPECT_TRUE(model->named_buffers().is_empty());

  auto parameters = model->named_parameters();
  EXPECT_EQ(parameters["model.embed_tokens.weight"].sizes(), (std::vector<int64_t>{50, 32}));
  EXPECT_EQ(parameters["model.layers.0.self_attn.q_proj.weight"].sizes(), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(parameters["model.layers.0.self_attn.k_proj.weight"].sizes(), (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(parameters["model.layers.1.mlp.down_proj.weight"].sizes(), (std::vector<int64_t>{32, 48}));
  EXPECT_EQ(parameters["lm_head.weight"].sizes(), (std::vector<int64_t>{50, 32}));
}

TEST(Llama, TiedEmbeddingsHaveNoLmHeadAndCountOnce) {
  core::TransformerConfig config = tiny_config();
  const int64_t hidden = 32, vocab = 50, inter = 48, kv = 2 * 8;
  const int64_t per_layer = hidden * hidden * 2 + kv * hidden * 2 + 3 * hidden * inter + 2 * hidden;
  Llama untied(config);
  EXPECT_EQ(untied->parameter_count(), 2 * vocab * hidden + 2 * per_layer + hidden);

  config.tie_word_embeddings = true;
  Llama tied(config);
  EXPECT_FALSE(tied->named_parameters().contains("lm_head.weight"));
  EXPECT_EQ(tied->parameter_count(), vocab * hidden + 2 * per_layer + hidden);
  // The head reads the embedding matrix: logits = hidden_states . embed^T.
  const at::Tensor tokens = at::tensor({3, 7}, at::kLong).unsqueeze(0);
  const at::Tensor mask = at::ones({1, 2}, at::kBool);
  EXPECT_EQ(tied->forward(tokens, positions_from(mask), mask).sizes(), (std::vector<int64_t>{1, 2, 50}));
}

TEST(Llama, InitialisesFromSeededNormalAndNormsToOne) {
  auto a = seeded_model(tiny_config())->named_parameters();
  auto b = seeded_model(tiny_config())->named_parameters();
  for (const auto& item : a) EXPECT_TRUE(at::equal(item.value(), b[item.key()])) << item.key();
  EXPECT_TRUE(at::equal(a["model.norm.weight"], at::ones({32})));
  EXPECT_TRUE(at::equal(a["model.layers.1.input_layernorm.weight"], at::ones({32})));
  const at::Tensor embed = a["model.embed_tokens.weight"];
  EXPECT_NEAR(embed.mean().item<double>(), 0.0, 0.002);
  EXPECT_NEAR(embed.std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(a["model.layers.0.mlp.up_proj.weight"].std().item<double>(), 0.02, 0.001);
}

TEST(Llama, LogitsAreFloat32AndCausal) {
  Llama model = seeded_model(tiny_config());
  const at::Tensor tokens = at::randint(0, 50, {2, 6}, at::kLong);
  const at::Tensor mask = at::ones({2, 6}, at::kBool);
  const at::Tensor logits = model->forward(tokens, positions_from(mask), mask);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 6, 50}));
  EXPECT_EQ(logits.scalar_type(), at::kFloat);

  at::Tensor changed = tokens.clone();
  changed.select(1, 4).fill_(0);  // change a later token
  changed.select(1, 5).fill_(1);
  const at::Tensor changed_logits = model->forward(changed, positions_from(mask), mask);
  EXPECT_TRUE(at::allclose(changed_logits.slice(1, 0, 4), logits.slice(1, 0, 4), 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(changed_logits.slice(1, 4), logits.slice(1, 4), 1e-6, 1e-6));

  model->to(at::kBFloat16);
  EXPECT_EQ(model->forward(tokens, positions_from(mask), mask).scalar_type(), at::kFloat);
}

// Row 0: 8 real tokens. Row 1: 3 pads then 5 real tokens (left-padded).
struct PaddedBatch {
  at::Tensor tokens;
  at::Tensor mask;
};
PaddedBatch padded_batch() {
  at::manual_seed(7);
  PaddedBatch batch{at::randint(0, 50, {2, 8}, at::kLong), at::ones({2, 8}, at::kBool)};
  batch.mask[1].slice(0, 0, 3).fill_(false);
  batch.tokens[1].slice(0, 0, 3).fill_(49);  // the pad id; its value must not matter
  return batch;
}

TEST(Llama, LeftPaddedRowMatchesTheRowAlone) {
  Llama model = seeded_model(tiny_config());
  const PaddedBatch batch = padded_batch();
  const at::Tensor batched = model->forward(batch.tokens, positions_from(batch.mask), batch.mask);

  const at::Tensor alone_tokens = batch.tokens.slice(0, 1, 2).slice(1, 3);  // [1, 5]
  const at::Tensor alone_mask = at::ones({1, 5}, at::kBool);
  const at::Tensor alone = model->forward(alone_tokens, positions_from(alone_mask), alone_mask);
  EXPECT_TRUE(at::allclose(batched.slice(0, 1, 2).slice(1, 3), alone, 1e-5, 1e-5))
      << (batched.slice(0, 1, 2).slice(1, 3) - alone).abs().max();

  // The pad tokens' ids do not leak into real tokens' logits.
  at::Tensor other_pads = batch.tokens.clone();
  other_pads[1].slice(0, 0, 3).fill_(5);
  const at::Tensor repadded = model->forward(other_pads, positions_from(batch.mask), batch.mask);
  EXPECT_TRUE(at::allclose(repadded.slice(1, 3), batched.slice(1, 3), 1e-6, 1e-6));
}

TEST(Llama, PadOnlyQueryRowsAreFinite) {
  Llama model = seeded_model(tiny_config());
  const PaddedBatch batch = padded_batch();
  // Row 1's first query slots see only pad keys: every key is masked for them.
  const at::Tensor logits = model->forward(batch.tokens, positions_from(batch.mask), batch.mask);
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());

  const at::Tensor all_pad_mask = at::zeros({1, 4}, at::kBool);
  const at::Tensor all_pad = model->forward(at::zeros({1, 4}, at::kLong), positions_from(all_pad_mask), all_pad_mask);
  EXPECT_TRUE(at::isfinite(all_pad).all().item<bool>());
}

TEST(Llama, IncrementalDecodingWithKvCacheMatchesFullForward) {
  const core::TransformerConfig config = tiny_config();
  Llama model = seeded_model(config);
  const PaddedBatch batch = padded_batch();
  const at::Tensor positions = positions_from(batch.mask);
  const at::Tensor full = model->forward(batch.tokens, positions, batch.mask);

  KvCache cache(config, /*batch=*/2, /*max_len=*/10, at::kFloat, at::kCPU);
  std::vector<at::Tensor> pieces;
  // Prefill 5 slots (row 1: 3 pads + 2 real), then decode one slot at a time.
  pieces.push_back(model->forward(batch.tokens.slice(1, 0, 5), positions.slice(1, 0, 5),
                                  batch.mask.slice(1, 0, 5), &cache));
  EXPECT_EQ(cache.length(), 5);
  for (int64_t slot = 5; slot < 8; ++slot) {
    pieces.push_back(model->forward(batch.tokens.slice(1, slot, slot + 1), positions.slice(1, slot, slot + 1),
                                    batch.mask.slice(1, 0, slot + 1), &cache));
  }
  EXPECT_EQ(cache.length(), 8);
  const at::Tensor incremental = at::cat(pieces, 1);
  const at::Tensor real = batch.mask.unsqueeze(-1);
  // Real tokens must agree; pad queries are garbage by contract (but finite).
  EXPECT_TRUE(at::allclose(incremental.masked_fill(~real, 0), full.masked_fill(~real, 0), 1e-5, 1e-5))
      << (incremental - full).masked_fill(~real, 0).abs().max();
}

TEST(Llama, KvCacheOverflowIsACheckFailure) {
  const core::TransformerConfig config = tiny_config();
  Llama model = seeded_model(config);
  KvCache cache(config, /*batch=*/1, /*max_len=*/4, at::kFloat, at::kCPU);
  const at::Tensor mask = at::ones({1, 5}, at::kBool);
  try {
    (void)model->forward(at::zeros({1, 5}, at::kLong), positions_from(mask), mask, &cache);
    FAIL() << "expected InternalError";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("KvCache overflow"), std::string::npos) << e.what();
  }
}

} // namespace
} // namespace caravan::model
