#include "model/llama.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/status.h"
#include "model/batch_layout.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "tests/common/llama_rows.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::model {
namespace {

core::TransformerConfig tiny_config() { return caravan::testing::tiny_transformer_config(/*vocab_size=*/50); }

Llama seeded_model(const core::TransformerConfig& config) {
  at::manual_seed(1234);
  return Llama(config);
}

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
  EXPECT_EQ(caravan::testing::row_logits(*tied, tokens).sizes(), (std::vector<int64_t>{1, 2, 50}));
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
  const at::Tensor logits = caravan::testing::row_logits(*model, tokens);
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 6, 50}));
  EXPECT_EQ(logits.scalar_type(), at::kFloat);

  at::Tensor changed = tokens.clone();
  changed.select(1, 4).fill_(0);  // change a later token
  changed.select(1, 5).fill_(1);
  const at::Tensor changed_logits = caravan::testing::row_logits(*model, changed);
  EXPECT_TRUE(at::allclose(changed_logits.slice(1, 0, 4), logits.slice(1, 0, 4), 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(changed_logits.slice(1, 4), logits.slice(1, 4), 1e-6, 1e-6));

  model->to(at::kBFloat16);
  EXPECT_EQ(caravan::testing::row_logits(*model, tokens).scalar_type(), at::kFloat);
}

// Two sequences of 8 and 5 tokens.
struct TwoSequences {
  at::Tensor first;
  at::Tensor second;
};
TwoSequences two_sequences() {
  at::manual_seed(7);
  return {at::randint(0, 50, {8}, at::kLong), at::randint(0, 50, {5}, at::kLong)};
}

// Logits [T, V] of one sequence alone, no cache.
at::Tensor alone(Llama& model, const at::Tensor& tokens) {
  return model->forward(tokens, BatchLayout::packed({tokens.size(0)}, at::kCPU));
}

TEST(Llama, PackedSequencesMatchEachAloneAndDoNotSeeEachOther) {
  Llama model = seeded_model(tiny_config());
  const TwoSequences seqs = two_sequences();
  const BatchLayout layout = BatchLayout::packed({8, 5}, at::kCPU);
  const at::Tensor packed = model->forward(at::cat({seqs.first, seqs.second}), layout);
  ASSERT_EQ(packed.sizes(), (std::vector<int64_t>{13, 50}));
  EXPECT_TRUE(at::allclose(packed.slice(0, 0, 8), alone(model, seqs.first), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(packed.slice(0, 8), alone(model, seqs.second), 1e-5, 1e-5))
      << (packed.slice(0, 8) - alone(model, seqs.second)).abs().max();

  // Positions restart per sequence and attention is block-diagonal: other tokens in the first
  // sequence leave the second's logits unchanged.
  const at::Tensor repacked = model->forward(at::cat({(seqs.first + 1) % 50, seqs.second}), layout);
  EXPECT_TRUE(at::allclose(repacked.slice(0, 8), packed.slice(0, 8), 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(repacked.slice(0, 0, 8), packed.slice(0, 0, 8), 1e-3, 1e-3));
}

TEST(Llama, LastOfEachSequenceSelectsTheLastRows) {
  Llama model = seeded_model(tiny_config());
  const TwoSequences seqs = two_sequences();
  const at::Tensor tokens = at::cat({seqs.first, seqs.second});
  const BatchLayout layout = BatchLayout::packed({8, 5}, at::kCPU);
  const at::Tensor all = model->forward(tokens, layout);
  const at::Tensor last = model->forward(tokens, layout, nullptr, LogitRows::kLastOfEachSequence);
  ASSERT_EQ(last.sizes(), (std::vector<int64_t>{2, 50}));
  // The head's product over 2 rows instead of 13 may round differently.
  EXPECT_TRUE(at::allclose(last[0], all[7], 1e-6, 1e-6));
  EXPECT_TRUE(at::allclose(last[1], all[12], 1e-6, 1e-6));
}

// A decode step whose sequences' contexts differ widely (split into groups by context) gives
// the logits of the same step padded to the longest context.
TEST(Llama, DecodeGroupedByContextMatchesPaddingToTheLongest) {
  core::TransformerConfig config = tiny_config();
  config.max_position_embeddings = 512;
  Llama model = seeded_model(config);
  at::NoGradGuard no_grad;
  const std::vector<int64_t> lengths = {400, 3, 390};
  const at::Tensor prompts = at::randint(0, 50, {400 + 3 + 390}, at::kLong);
  const at::Tensor next = at::randint(0, 50, {3}, at::kLong);
  std::vector<at::Tensor> logits;
  for (const ContextGrouping grouping : {ContextGrouping::kByContext, ContextGrouping::kLongest}) {
    KvCache cache(config, /*rows=*/3, /*max_len=*/401, at::kFloat, at::kCPU);
    (void)model->forward(prompts, BatchLayout::packed(lengths, at::kCPU), &cache);
    const BatchLayout step({{.new_tokens = 1, .past = 400, .memory_slot = 0},
                            {.new_tokens = 1, .past = 3, .memory_slot = 1},
                            {.new_tokens = 1, .past = 390, .memory_slot = 2}},
                           at::kCPU, grouping);
    EXPECT_EQ(step.groups().size(), grouping == ContextGrouping::kByContext ? 2u : 1u);
    logits.push_back(model->forward(next, step, &cache));
  }
  EXPECT_TRUE(at::allclose(logits[0], logits[1], 1e-5, 1e-5)) << (logits[0] - logits[1]).abs().max();
}

TEST(Llama, KvCacheOverflowAndPastWithoutMemoryAreCheckFailures) {
  const core::TransformerConfig config = tiny_config();
  Llama model = seeded_model(config);
  KvCache cache(config, /*rows=*/1, /*max_len=*/4, at::kFloat, at::kCPU);
  try {
    (void)model->forward(at::zeros({5}, at::kLong), BatchLayout::packed({5}, at::kCPU), &cache);
    FAIL() << "expected InternalError";
  } catch (const InternalError& e) {
    EXPECT_NE(std::string(e.what()).find("KvCache overflow"), std::string::npos) << e.what();
  }
  const BatchLayout step({{.new_tokens = 1, .past = 3, .memory_slot = 0}}, at::kCPU);
  EXPECT_THROW((void)model->forward(at::zeros({1}, at::kLong), step), InternalError);
  // The cache row holds 0 tokens, not 3.
  EXPECT_THROW((void)model->forward(at::zeros({1}, at::kLong), step, &cache), InternalError);
}

} // namespace
} // namespace caravan::model

namespace caravan::model {
namespace {

core::TransformerConfig tiny_config_of(core::Architecture architecture) {
  return caravan::testing::tiny_transformer_config(/*vocab_size=*/50, architecture);
}

// For scale-invariance checks: an RMSNorm epsilon too small to matter next to the tiny
// activations of N(0, 0.02) weights, so RMSNorm(c * x) == RMSNorm(x) up to rounding.
core::TransformerConfig scale_free_config_of(core::Architecture architecture) {
  core::TransformerConfig config = tiny_config_of(architecture);
  config.rms_norm_eps = 1e-12;
  return config;
}

// A handle sharing the parameter's storage: in-place ops on it change the model.
at::Tensor parameter(Llama& model, const std::string& name) {
  const auto parameters = model->named_parameters();
  const at::Tensor* found = parameters.find(name);
  CARAVAN_CHECK(found != nullptr, "no parameter ", name);
  return *found;
}

// Logits of a fixed 2 x 6 batch with positions 0..5 and no padding.
at::Tensor fixed_logits(Llama& model) {
  at::manual_seed(99);
  const at::Tensor tokens = at::randint(0, 50, {2, 6}, at::kLong);
  return caravan::testing::row_logits(*model, tokens);
}

// Multiplies parameter `name` (rows [begin, end) when end > begin) by `factor`, in place.
void scale(Llama& model, const std::string& name, double factor, int64_t begin = 0, int64_t end = 0) {
  at::NoGradGuard no_grad;
  at::Tensor p = parameter(model, name);
  (end > begin ? p.slice(0, begin, end) : p).mul_(factor);
}

bool same_logits(Llama& a_model, const at::Tensor& b) {
  return at::allclose(fixed_logits(a_model), b, /*rtol=*/1e-4, /*atol=*/1e-5);
}

std::vector<std::string> layer_parameter_names(Llama& model) {
  std::vector<std::string> names;
  for (const auto& key : model->named_parameters().keys()) {
    if (key.rfind("model.layers.0.", 0) == 0) names.push_back(key.substr(15));
  }
  return names;
}

TEST(LlamaArchitectures, Qwen2HasZeroInitialisedQkvBiasesThatChangeTheOutput) {
  Llama model = seeded_model(tiny_config_of(core::Architecture::kQwen2));
  EXPECT_EQ(layer_parameter_names(model),
            (std::vector<std::string>{"self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight",
                                      "self_attn.k_proj.bias", "self_attn.v_proj.weight", "self_attn.v_proj.bias",
                                      "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                                      "mlp.down_proj.weight", "input_layernorm.weight",
                                      "post_attention_layernorm.weight"}));
  EXPECT_EQ(parameter(model, "model.layers.1.self_attn.q_proj.bias").sizes(), (std::vector<int64_t>{32}));
  EXPECT_EQ(parameter(model, "model.layers.1.self_attn.k_proj.bias").sizes(), (std::vector<int64_t>{16}));
  EXPECT_TRUE(at::equal(parameter(model, "model.layers.0.self_attn.v_proj.bias"), at::zeros({16})));

  // With zero biases Qwen2 is exactly the Llama with the same weights.
  Llama llama = seeded_model(tiny_config());
  {
    at::NoGradGuard no_grad;
    for (const auto& item : llama->named_parameters()) parameter(model, item.key()).copy_(item.value());
  }
  const at::Tensor llama_logits = fixed_logits(llama);
  EXPECT_TRUE(at::equal(fixed_logits(model), llama_logits));
  // A value bias shifts every attention output: the logits move.
  {
    at::NoGradGuard no_grad;
    parameter(model, "model.layers.0.self_attn.v_proj.bias").fill_(0.5);
  }
  EXPECT_FALSE(same_logits(model, llama_logits));
}

TEST(LlamaArchitectures, Qwen3NormalisesEachQueryAndKeyHead) {
  Llama model = seeded_model(scale_free_config_of(core::Architecture::kQwen3));
  EXPECT_EQ(layer_parameter_names(model),
            (std::vector<std::string>{"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                                      "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight",
                                      "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
                                      "input_layernorm.weight", "post_attention_layernorm.weight"}));
  // head_dim 12 (explicit) != hidden 32 / 4 heads.
  EXPECT_EQ(parameter(model, "model.layers.0.self_attn.q_norm.weight").sizes(), (std::vector<int64_t>{12}));
  EXPECT_EQ(parameter(model, "model.layers.0.self_attn.k_norm.weight").sizes(), (std::vector<int64_t>{12}));
  EXPECT_EQ(parameter(model, "model.layers.0.self_attn.q_proj.weight").sizes(), (std::vector<int64_t>{48, 32}));
  EXPECT_EQ(parameter(model, "model.layers.0.self_attn.k_proj.weight").sizes(), (std::vector<int64_t>{24, 32}));
  EXPECT_EQ(parameter(model, "model.layers.0.self_attn.o_proj.weight").sizes(), (std::vector<int64_t>{32, 48}));

  const at::Tensor base = fixed_logits(model);
  // Per-head RMSNorm makes the output blind to the scale of any single head's query or key rows
  // (query head 1 = q_proj rows 12..23, key head 0 = k_proj rows 0..11)...
  scale(model, "model.layers.0.self_attn.q_proj.weight", 3.0, 12, 24);
  scale(model, "model.layers.1.self_attn.k_proj.weight", 0.25, 0, 12);
  EXPECT_TRUE(same_logits(model, base));
  // ...but not to the norm's own weight.
  scale(model, "model.layers.0.self_attn.q_norm.weight", 3.0);
  EXPECT_FALSE(same_logits(model, base));

  // A Llama is not blind to that scale.
  Llama llama = seeded_model(tiny_config());
  const at::Tensor llama_base = fixed_logits(llama);
  scale(llama, "model.layers.0.self_attn.q_proj.weight", 3.0, 8, 16);
  EXPECT_FALSE(same_logits(llama, llama_base));
}

TEST(LlamaArchitectures, Olmo2NormalisesFullProjectionsAndSublayerOutputs) {
  const core::TransformerConfig config = scale_free_config_of(core::Architecture::kOlmo2);
  Llama model = seeded_model(config);
  EXPECT_EQ(layer_parameter_names(model),
            (std::vector<std::string>{"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                                      "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight",
                                      "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
                                      "post_attention_layernorm.weight", "post_feedforward_layernorm.weight"}));
  EXPECT_EQ(parameter(model, "model.layers.0.self_attn.q_norm.weight").sizes(), (std::vector<int64_t>{32}));
  EXPECT_EQ(parameter(model, "model.layers.0.self_attn.k_norm.weight").sizes(), (std::vector<int64_t>{16}));

  const at::Tensor base = fixed_logits(model);
  // q_norm spans all heads: scaling the whole q projection is invisible...
  scale(model, "model.layers.0.self_attn.q_proj.weight", 4.0);
  EXPECT_TRUE(same_logits(model, base));
  // ...and the post-norms make each block blind to the scale of its sublayer's output
  // projection (the norm sits between o_proj / down_proj and the residual add).
  scale(model, "model.layers.0.self_attn.o_proj.weight", 5.0);
  scale(model, "model.layers.1.mlp.down_proj.weight", 0.1);
  EXPECT_TRUE(same_logits(model, base));
  // Scaling one head of q (not all of them) is visible: the norm is not per head.
  scale(model, "model.layers.0.self_attn.q_proj.weight", 3.0, 0, 8);
  EXPECT_FALSE(same_logits(model, base));

  // Zero post-norm weights turn every block into the identity: the logits are then
  // lm_head(norm(embed(tokens))), computed here by hand.
  {
    at::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      if (item.key().find("post_") != std::string::npos) item.value().zero_();
    }
  }
  at::manual_seed(99);
  const at::Tensor tokens = at::randint(0, 50, {2, 6}, at::kLong);
  const at::Tensor embedded = parameter(model, "model.embed_tokens.weight").index_select(0, tokens.flatten()).view({2, 6, 32});
  const at::Tensor normed = embedded * at::rsqrt(embedded.pow(2).mean(-1, true) + config.rms_norm_eps);
  const at::Tensor expected = at::linear(normed, parameter(model, "lm_head.weight"));
  EXPECT_TRUE(at::allclose(fixed_logits(model), expected, 1e-5, 1e-6));

  // The same zeroing in a pre-norm Llama (post_attention_layernorm feeds the MLP) is no identity
  // for attention: its input_layernorm is untouched.
  Llama llama = seeded_model(tiny_config());
  {
    at::NoGradGuard no_grad;
    for (auto& item : llama->named_parameters()) {
      if (item.key().find("post_") != std::string::npos) item.value().zero_();
    }
  }
  const at::Tensor llama_embedded =
      parameter(llama, "model.embed_tokens.weight").index_select(0, tokens.flatten()).view({2, 6, 32});
  const at::Tensor llama_identity = at::linear(
      llama_embedded * at::rsqrt(llama_embedded.pow(2).mean(-1, true) + 1e-5), parameter(llama, "lm_head.weight"));
  EXPECT_FALSE(at::allclose(fixed_logits(llama), llama_identity, 1e-5, 1e-6));
}

class EveryArchitecture : public ::testing::TestWithParam<core::Architecture> {};

TEST_P(EveryArchitecture, IncrementalDecodingInACacheMatchesTheFullForward) {
  const core::TransformerConfig config = tiny_config_of(GetParam());
  Llama model = seeded_model(config);
  {
    // Non-trivial norm weights and biases, so every parameter takes part.
    at::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      if (item.value().dim() == 1) item.value().uniform_(0.5, 1.5);
    }
  }
  const TwoSequences seqs = two_sequences();
  const at::Tensor full_first = alone(model, seqs.first);
  const at::Tensor full_second = alone(model, seqs.second);

  // Row 1 holds the 8-token sequence, row 0 the 5-token one (slots need not follow the
  // layout's order). Prefill 5 and 2 tokens together, then decode both one token per step.
  KvCache cache(config, /*rows=*/2, /*max_len=*/8, at::kFloat, at::kCPU);
  std::vector<at::Tensor> first = {model->forward(
      at::cat({seqs.first.slice(0, 0, 5), seqs.second.slice(0, 0, 2)}),
      BatchLayout({{.new_tokens = 5, .past = 0, .memory_slot = 1}, {.new_tokens = 2, .past = 0, .memory_slot = 0}},
                  at::kCPU),
      &cache)};
  std::vector<at::Tensor> second = {first.front().slice(0, 5)};
  first.front() = first.front().slice(0, 0, 5);
  for (int64_t step = 0; step < 3; ++step) {
    const BatchLayout layout({{.new_tokens = 1, .past = 2 + step, .memory_slot = 0},
                              {.new_tokens = 1, .past = 5 + step, .memory_slot = 1}},
                             at::kCPU);
    const at::Tensor logits = model->forward(at::stack({seqs.second[2 + step], seqs.first[5 + step]}), layout, &cache);
    second.push_back(logits.slice(0, 0, 1));
    first.push_back(logits.slice(0, 1, 2));
  }
  EXPECT_EQ(cache.length(1), 8);
  EXPECT_EQ(cache.length(0), 5);
  EXPECT_TRUE(at::allclose(at::cat(first), full_first, 1e-5, 1e-5)) << (at::cat(first) - full_first).abs().max();
  EXPECT_TRUE(at::allclose(at::cat(second), full_second, 1e-5, 1e-5)) << (at::cat(second) - full_second).abs().max();
}

// A straight, loop-per-head transcription of transformers' modeling_{llama,qwen2,qwen3,olmo2}.py
// forward for one unpadded row (positions 0..T-1), sharing no code with model::Llama except
// rope_frequencies (tested against the formulas in rope_test.cpp). Returns logits [T, vocab].
at::Tensor transcribed_forward(Llama& model, const at::Tensor& tokens /*[T]*/) {
  const core::TransformerConfig& c = model->config();
  auto w = [&](const std::string& name) { return parameter(model, name); };
  auto rms = [&](const at::Tensor& x, const at::Tensor& weight) {
    return weight * (x * at::rsqrt(x.pow(2).mean(-1, true) + c.rms_norm_eps));
  };
  auto rotate_half = [](const at::Tensor& x) {
    const int64_t half = x.size(-1) / 2;
    return at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
  };
  const int64_t steps = tokens.size(0);
  const int64_t d = c.head_dim();
  const at::Tensor inv_freq = rope_frequencies(*core::resolve_rope(c)).inv_freq;
  const at::Tensor angles = at::arange(steps, at::kFloat).unsqueeze(1) * inv_freq.unsqueeze(0);
  const at::Tensor cos = at::cat({angles, angles}, -1).cos().unsqueeze(1);  // [T, 1, d]
  const at::Tensor sin = at::cat({angles, angles}, -1).sin().unsqueeze(1);
  const at::Tensor causal = at::ones({steps, steps}, at::kBool).tril();

  at::Tensor h = w("model.embed_tokens.weight").index_select(0, tokens);  // [T, hidden]
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const std::string p = "model.layers." + std::to_string(layer) + ".";
    auto proj = [&](const std::string& name, const at::Tensor& x) {
      at::Tensor y = at::matmul(x, w(p + name + ".weight").t());
      const bool qkv = name == "self_attn.q_proj" || name == "self_attn.k_proj" || name == "self_attn.v_proj";
      if (c.qkv_bias() && qkv) y = y + w(p + name + ".bias");
      return y;
    };
    const at::Tensor x = c.post_norm() ? h : rms(h, w(p + "input_layernorm.weight"));
    at::Tensor q = proj("self_attn.q_proj", x);
    at::Tensor k = proj("self_attn.k_proj", x);
    const at::Tensor v = proj("self_attn.v_proj", x).view({steps, c.num_kv_heads, d});
    if (c.qk_norm() == core::QkNorm::kFull) {
      q = rms(q, w(p + "self_attn.q_norm.weight"));
      k = rms(k, w(p + "self_attn.k_norm.weight"));
    }
    q = q.view({steps, c.num_heads, d});
    k = k.view({steps, c.num_kv_heads, d});
    if (c.qk_norm() == core::QkNorm::kPerHead) {
      q = rms(q, w(p + "self_attn.q_norm.weight"));
      k = rms(k, w(p + "self_attn.k_norm.weight"));
    }
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    std::vector<at::Tensor> heads;
    for (int64_t head = 0; head < c.num_heads; ++head) {
      const int64_t kv_head = head / (c.num_heads / c.num_kv_heads);
      const at::Tensor scores = at::matmul(q.select(1, head), k.select(1, kv_head).t()) / std::sqrt(double(d));
      const at::Tensor weights = at::softmax(scores.masked_fill(~causal, -INFINITY), -1);
      heads.push_back(at::matmul(weights, v.select(1, kv_head)));
    }
    const at::Tensor attention = proj("self_attn.o_proj", at::cat(heads, -1));
    auto mlp = [&](const at::Tensor& y) {
      return proj("mlp.down_proj", at::silu(proj("mlp.gate_proj", y)) * proj("mlp.up_proj", y));
    };
    if (c.post_norm()) {
      h = h + rms(attention, w(p + "post_attention_layernorm.weight"));
      h = h + rms(mlp(h), w(p + "post_feedforward_layernorm.weight"));
    } else {
      h = h + attention;
      h = h + mlp(rms(h, w(p + "post_attention_layernorm.weight")));
    }
  }
  const at::Tensor head = c.tie_word_embeddings ? w("model.embed_tokens.weight") : w("lm_head.weight");
  return at::matmul(rms(h, w("model.norm.weight")), head.t());
}

TEST_P(EveryArchitecture, MatchesATranscriptionOfTransformers) {
  core::TransformerConfig config = tiny_config_of(GetParam());
  config.tie_word_embeddings = GetParam() == core::Architecture::kLlama;
  config.rope_theta = 500000.0;
  if (GetParam() == core::Architecture::kLlama) {
    config.rope_scaling.type = core::RopeScalingType::kLlama3;
    config.rope_scaling.factor = 8.0;
    config.rope_scaling.low_freq_factor = 1.0;
    config.rope_scaling.high_freq_factor = 4.0;
    config.rope_scaling.original_max_position_embeddings = 16;
  }
  at::manual_seed(5);
  Llama model(config);
  {
    // Weights of order 1 and non-trivial norms/biases, so that a misplaced norm, a missing bias
    // or a wrong scaling shows in the logits.
    at::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      if (item.value().dim() == 1) item.value().uniform_(0.5, 1.5);
      if (item.value().dim() == 2) item.value().normal_(0.0, 0.2);
    }
  }
  const at::Tensor tokens = at::randint(0, 50, {10}, at::kLong);
  at::NoGradGuard no_grad;
  const at::Tensor ours = alone(model, tokens);
  const at::Tensor reference = transcribed_forward(model, tokens);
  EXPECT_GT(reference.abs().max().item<double>(), 0.5);
  EXPECT_TRUE(at::allclose(ours, reference, 1e-4, 1e-4)) << (ours - reference).abs().max();
}

INSTANTIATE_TEST_SUITE_P(Llama, EveryArchitecture, ::testing::ValuesIn(core::kAllArchitectures),
                         [](const auto& info) { return std::string(core::enum_name(info.param)); });

} // namespace
} // namespace caravan::model
