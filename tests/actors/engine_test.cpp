#include "actors/rollout/engine.h"

#include <algorithm>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "learner/sequence_batch.h"
#include "learner/train_step.h"
#include "model/logprobs.h"
#include "tests/actors/engine_harness.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::rollout {
namespace {

SamplingParams sampled(int64_t max_new_tokens, uint64_t seed) {
  return {.temperature = 1.0, .max_new_tokens = max_new_tokens, .stop_ids = {kStopId}, .seed = seed};
}

class EngineGreedy : public ::testing::TestWithParam<core::Architecture> {};

// A small cache (12 blocks of 4 positions for up to 9 sequences) and a token budget of 8 force
// chunked prefill, preemption and recomputation; the samples of a request share its prompt.
TEST_P(EngineGreedy, MatchesTheFullRecomputeForwardTokenForToken) {
  torch::manual_seed(11);
  model::Llama model(testing::tiny_transformer_config(40, GetParam()));
  model->eval();
  Engine engine(*model, {.block_size = 4, .max_step_tokens = 8, .max_running = 6}, /*num_blocks=*/12,
                /*token_text=*/nullptr, /*policy_version=*/0);
  std::vector<std::vector<int32_t>> prompts = {prompt_of(13, 1), prompt_of(5, 2), prompt_of(17, 3), prompt_of(13, 1),
                                               prompt_of(3, 4)};
  prompts[3].back() = 37;  // same first 12 tokens as prompt 0, then different
  const std::vector<uint32_t> samples = {3, 1, 2, 1, 2};
  for (size_t r = 0; r < prompts.size(); ++r) {
    ASSERT_TRUE(engine.add({.id = r, .prompt = prompts[r], .samples = std::vector(samples[r], greedy(12))}).ok());
  }
  const auto out = run_to_end(engine);
  for (size_t r = 0; r < prompts.size(); ++r) {
    const std::vector<int32_t> expected = greedy_reference(*model, prompts[r], 12);
    for (uint32_t s = 0; s < samples[r]; ++s) {
      ASSERT_TRUE(out.contains({r, s})) << "request " << r << " sample " << s;
      const SequenceOutput& got = out.at({r, s});
      EXPECT_EQ(got.tokens, expected) << "request " << r << " sample " << s;
      EXPECT_EQ(got.finish_reason, expected.back() == kStopId ? FinishReason::kStopToken : FinishReason::kLength);
      EXPECT_EQ(got.logprobs.size(), got.tokens.size());
      EXPECT_EQ(got.policy_versions, std::vector<uint64_t>(got.tokens.size(), 0));
    }
  }
  const EngineStats stats = engine.stats();
  EXPECT_GT(stats.totals.preemptions, 0);
  EXPECT_GT(stats.totals.prefix_cached_tokens, 0);  // forks of the shared prompts
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.kv_blocks_used, 0);  // everything returned (cached prefixes are free blocks)
  EXPECT_EQ(stats.kv_blocks_free, 12);
}

// A later request whose prompt starts with the same full blocks attaches them instead of
// recomputing them, and still decodes exactly; new weights make cached blocks stale.
TEST_P(EngineGreedy, ReusesCachedPromptBlocksAcrossRequests) {
  torch::manual_seed(12);
  model::Llama model(testing::tiny_transformer_config(40, GetParam()));
  model->eval();
  Engine engine(*model, {.block_size = 4}, /*num_blocks=*/32, nullptr, 0);
  std::vector<int32_t> first = prompt_of(13, 6);
  std::vector<int32_t> second = first;
  second.back() = 37;  // the same first 3 blocks
  ASSERT_TRUE(engine.add({.id = 0, .prompt = first, .samples = {greedy(6)}}).ok());
  (void)run_to_end(engine);
  EXPECT_EQ(engine.stats().prefix_hits, 0);
  ASSERT_TRUE(engine.add({.id = 1, .prompt = second, .samples = {greedy(6)}}).ok());
  const auto out = run_to_end(engine);
  EXPECT_EQ(out.at({1, 0}).tokens, greedy_reference(*model, second, 6));
  EXPECT_EQ(engine.stats().prefix_hits, 3);
  EXPECT_EQ(engine.stats().prefix_lookups, 4);  // the first request stopped at its first miss
  EXPECT_EQ(engine.stats().totals.prefix_cached_tokens, 12);
  engine.set_policy_version(1);
  ASSERT_TRUE(engine.add({.id = 2, .prompt = second, .samples = {greedy(6)}}).ok());
  (void)run_to_end(engine);
  EXPECT_EQ(engine.stats().prefix_hits, 3);
}

// Sequences of very different contexts decode in separate attention groups
// (EngineOptions::group_by_context) and still give the full recompute's tokens.
TEST_P(EngineGreedy, MatchesTheFullRecomputeWithDecodeGroupsSplitByContext) {
  torch::manual_seed(13);
  core::TransformerConfig config = testing::tiny_transformer_config(40, GetParam());
  config.max_position_embeddings = 512;
  model::Llama model(config);
  model->eval();
  Engine engine(*model, {.block_size = 16, .max_step_tokens = 512}, /*num_blocks=*/64, nullptr, 0);
  const std::vector<std::vector<int32_t>> prompts = {prompt_of(420, 7), prompt_of(3, 8), prompt_of(9, 9)};
  for (size_t r = 0; r < prompts.size(); ++r) {
    ASSERT_TRUE(engine.add({.id = r, .prompt = prompts[r], .samples = {greedy(6)}}).ok());
  }
  const auto out = run_to_end(engine);
  for (size_t r = 0; r < prompts.size(); ++r) {
    ASSERT_TRUE(out.contains({r, 0})) << "request " << r;
    EXPECT_EQ(out.at({r, 0}).tokens, greedy_reference(*model, prompts[r], 6)) << "request " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Engine, EngineGreedy, ::testing::Values(core::Architecture::kLlama, core::Architecture::kQwen3),
                         [](const auto& info) { return std::string(core::enum_name(info.param)); });

// The engine's logprobs of sampled tokens agree with the learner's recomputation over the same
// weights and tokens (learner::target_logits + model::token_logprobs).
TEST(Engine, LogprobsAgreeWithTheLearnersRecomputation) {
  torch::manual_seed(5);
  model::Llama model(testing::tiny_transformer_config(40, core::Architecture::kQwen3));
  model->eval();
  Engine engine(*model, {.block_size = 4, .max_step_tokens = 6}, /*num_blocks=*/32, nullptr, 0);
  const std::vector<std::vector<int32_t>> prompts = {prompt_of(9, 1), prompt_of(4, 2)};
  for (size_t r = 0; r < prompts.size(); ++r) {
    ASSERT_TRUE(engine.add({.id = r, .prompt = prompts[r], .samples = {sampled(10, 3 + r), sampled(10, 9 + r)}}).ok());
  }
  const auto out = run_to_end(engine);
  std::vector<learner::SequenceSpec> specs;
  std::vector<const SequenceOutput*> order;
  for (const auto& [key, sequence] : out) {
    specs.push_back({.prompt = prompts[key.first], .completion = sequence.tokens, .completion_logprobs = sequence.logprobs});
    order.push_back(&sequence);
  }
  Result<learner::SequenceBatch> batch = learner::pack_sequences(specs, /*pad_id=*/0);
  ASSERT_TRUE(batch.ok()) << batch.status().to_string();
  torch::NoGradGuard no_grad;
  const at::Tensor learner_logprobs =
      model::token_logprobs(learner::target_logits(*model, *batch), batch->targets, /*temperature=*/1.0);
  const at::Tensor difference = ((learner_logprobs - batch->old_logprobs) * batch->loss_mask).abs().max();
  EXPECT_LE(difference.item<double>(), 1e-4);
  EXPECT_GT(batch->completion_tokens, 20);
}

// A request's tokens depend on its seed, not on what else is in the batch: the same request
// alone and among others (whose prefills and decodes share its forwards) draws the same tokens.
TEST(Engine, SameSeedAloneOrInABusyBatchDrawsTheSameTokens) {
  torch::manual_seed(8);
  model::Llama model(testing::tiny_transformer_config(40));
  model->eval();
  const std::vector<int32_t> prompt = prompt_of(7, 5);
  Engine alone(*model, {.block_size = 4}, /*num_blocks=*/32, nullptr, 0);
  ASSERT_TRUE(alone.add({.id = 0, .prompt = prompt, .samples = {sampled(12, 77)}}).ok());
  const auto alone_out = run_to_end(alone);

  Engine busy(*model, {.block_size = 4, .max_step_tokens = 10}, /*num_blocks=*/64, nullptr, 0);
  for (uint64_t r = 1; r <= 4; ++r) {
    ASSERT_TRUE(busy.add({.id = r, .prompt = prompt_of(3 + 3 * static_cast<int64_t>(r), static_cast<int32_t>(r)),
                          .samples = {sampled(12, r), sampled(12, r + 100)}})
                    .ok());
  }
  (void)busy.step();  // the others are already running when the request joins
  ASSERT_TRUE(busy.add({.id = 0, .prompt = prompt, .samples = {sampled(12, 77)}}).ok());
  const auto busy_out = run_to_end(busy);
  const SequenceOutput& a = alone_out.at({0, 0});
  const SequenceOutput& b = busy_out.at({0, 0});
  EXPECT_EQ(a.tokens, b.tokens);
  ASSERT_EQ(a.logprobs.size(), b.logprobs.size());
  for (size_t i = 0; i < a.logprobs.size(); ++i) EXPECT_NEAR(a.logprobs[i], b.logprobs[i], 1e-5) << i;
}

TEST(Engine, NewWeightsBetweenStepsKeepSequencesAndTagTheirTokens) {
  torch::manual_seed(2);
  model::Llama model(testing::tiny_transformer_config(40));
  model->eval();
  Engine engine(*model, {.block_size = 4}, /*num_blocks=*/32, nullptr, /*policy_version=*/3);
  ASSERT_TRUE(engine.add({.id = 1, .prompt = prompt_of(6, 1), .samples = {greedy(6), greedy(6)}}).ok());
  (void)engine.step();  // prefill + first token
  (void)engine.step();
  {
    torch::NoGradGuard no_grad;
    for (at::Tensor parameter : model->parameters()) parameter.mul_(1.5);
  }
  engine.set_policy_version(4);
  const auto out = run_to_end(engine);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& [key, sequence] : out) {
    ASSERT_EQ(sequence.tokens.size(), 6u);
    EXPECT_EQ(sequence.policy_versions, (std::vector<uint64_t>{3, 3, 4, 4, 4, 4}));
  }
}

// The engine changes its intra-op threads between steps (follow_free_cores): the tokens and
// logprobs must not depend on them. A model wide enough that the matmuls and row reductions run
// on several threads, greedy on 1 thread, on 2, and following the machine.
TEST(Engine, GreedyOutputDoesNotDependOnTheThreadCount) {
  torch::manual_seed(31);
  core::TransformerConfig config = testing::tiny_transformer_config(2000, core::Architecture::kQwen3);
  config.hidden_size = 256;
  config.intermediate_size = 704;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.explicit_head_dim = 64;
  config.max_position_embeddings = 256;
  model::Llama model(config);
  model->eval();
  const int configured = at::get_num_threads();
  const auto generate = [&](int threads, bool follow) {
    at::set_num_threads(threads);
    Engine engine(*model, {.block_size = 16, .max_step_tokens = 64, .follow_free_cores = follow}, /*num_blocks=*/64,
                  nullptr, 0);
    for (uint64_t r = 0; r < 3; ++r) {
      EXPECT_TRUE(engine.add({.id = r, .prompt = prompt_of(48 + 8 * static_cast<int64_t>(r), static_cast<int32_t>(r)),
                              .samples = {greedy(24)}})
                      .ok());
    }
    return run_to_end(engine);
  };
  const auto one = generate(1, false);
  const auto two = generate(2, false);
  const auto following = generate(2, true);
  at::set_num_threads(configured);
  for (uint64_t r = 0; r < 3; ++r) {
    for (const auto* other : {&two, &following}) {
      EXPECT_EQ(other->at({r, 0}).tokens, one.at({r, 0}).tokens) << "request " << r;
      ASSERT_EQ(other->at({r, 0}).logprobs.size(), one.at({r, 0}).logprobs.size());
      for (size_t i = 0; i < one.at({r, 0}).logprobs.size(); ++i) {
        EXPECT_NEAR(other->at({r, 0}).logprobs[i], one.at({r, 0}).logprobs[i], 1e-5) << "request " << r << " token " << i;
      }
    }
  }
}

TEST(Engine, InvalidRequestsAreRejectedNamingTheField) {
  torch::manual_seed(2);
  model::Llama model(testing::tiny_transformer_config(40));
  Engine engine(*model, {.block_size = 4}, /*num_blocks=*/6, nullptr, 0);
  const auto rejected = [&](EngineRequest request, const std::string& field) {
    const Status status = engine.add(std::move(request));
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(status.message().find(field), std::string::npos) << status.message();
  };
  rejected({.id = 9, .prompt = {}, .samples = {greedy(4)}}, "request 9: prompt: empty");
  rejected({.id = 9, .prompt = prompt_of(30, 1), .samples = {greedy(4)}}, "exceed the context of 32");
  rejected({.id = 9, .prompt = prompt_of(20, 1), .samples = {greedy(4)}}, "the whole cache has 6");
  rejected({.id = 9, .prompt = {1, 40}, .samples = {greedy(4)}}, "prompt[1] = 40");
  rejected({.id = 9, .prompt = {1, 2}, .samples = {}}, "samples: empty");
  rejected({.id = 9, .prompt = {1, 2}, .samples = {{.top_p = 2.0, .stop_ids = {1}}}}, "samples[0]: SamplingParams.top_p");
  EXPECT_TRUE(engine.idle());
}

} // namespace
} // namespace caravan::rollout
