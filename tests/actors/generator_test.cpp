#include "actors/rollout/generator.h"

#include <set>

#include <gtest/gtest.h>
#include <torch/utils.h>

#include "model/logprobs.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::rollout {
namespace {

core::TransformerConfig tiny_config() { return caravan::testing::tiny_transformer_config(/*vocab_size=*/40); }

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(3);
    model_ = model::Llama(tiny_config());
    model_->eval();
  }
  // Reference: greedy decoding by full forwards over the growing sequence, no cache, no batch.
  std::vector<int32_t> greedy_reference(std::vector<int32_t> prompt, int64_t steps) {
    torch::NoGradGuard no_grad;
    std::vector<int32_t> out;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t length = static_cast<int64_t>(prompt.size());
      at::Tensor tokens = at::tensor(std::vector<int64_t>(prompt.begin(), prompt.end())).unsqueeze(0);
      at::Tensor positions = at::arange(length).unsqueeze(0);
      at::Tensor mask = at::ones({1, length}, at::kBool);
      const int32_t next = static_cast<int32_t>(model_->forward(tokens, positions, mask).select(1, -1).argmax(-1).item<int64_t>());
      out.push_back(next);
      prompt.push_back(next);
    }
    return out;
  }
  model::Llama model_{nullptr};
  GenerationOptions options_{.sampling = {.temperature = 0.0, .max_new_tokens = 5, .stop_ids = {39}, .seed = 1},
                             .pad_id = 38};
  SamplingParams& sampling_ = options_.sampling;
};

TEST_F(GeneratorTest, GreedyBatchWithLeftPaddingMatchesUnbatchedReference) {
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3, 4, 5, 6}, {7, 8}, {9, 10, 11}};
  sampling_.stop_ids = {-1};  // never stop early: compare all steps
  const auto generated = generate(*model_, prompts, options_);
  ASSERT_EQ(generated.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(generated[i].tokens, greedy_reference(prompts[i], sampling_.max_new_tokens)) << "prompt " << i;
    EXPECT_EQ(generated[i].finish_reason, FinishReason::kLength);
  }
}

TEST_F(GeneratorTest, SequenceStopsAtAnyOfItsStopIds) {
  const std::vector<int32_t> prompt = {4, 5, 6};
  const auto reference = greedy_reference(prompt, 3);
  for (const std::vector<int32_t>& stop_ids : {std::vector<int32_t>{reference[1]},
                                               std::vector<int32_t>{-1, reference[1]}}) {
    sampling_.stop_ids = stop_ids;  // the second greedy token ends the sequence
    const auto generated = generate(*model_, {prompt}, options_);
    ASSERT_EQ(generated[0].tokens.size(), 2u);
    EXPECT_EQ(generated[0].tokens.back(), reference[1]);
    EXPECT_EQ(generated[0].finish_reason, FinishReason::kStopToken);
    EXPECT_EQ(generated[0].logprobs.size(), 2u);
  }
}

TEST_F(GeneratorTest, TopPSamplesOnlyFromTheNucleus) {
  sampling_.temperature = 1.0;
  sampling_.stop_ids = {-1};
  sampling_.max_new_tokens = 1;
  const std::vector<std::vector<int32_t>> prompts(64, std::vector<int32_t>{1, 2, 3});
  at::Tensor probs;
  {
    torch::NoGradGuard no_grad;
    const at::Tensor tokens = at::tensor(std::vector<int64_t>{1, 2, 3}).unsqueeze(0);
    probs = at::softmax(model_->forward(tokens, at::arange(3).unsqueeze(0), at::ones({1, 3}, at::kBool))[0][-1], -1);
  }
  const auto [sorted, order] = probs.sort(/*dim=*/0, /*descending=*/true);
  // The nucleus of 0.5: the most likely tokens until their mass reaches one half.
  std::set<int64_t> nucleus;
  double mass = 0;
  for (int64_t i = 0; mass < 0.5; ++i) {
    nucleus.insert(order[i].item<int64_t>());
    mass += sorted[i].item<double>();
  }
  sampling_.top_p = 0.5;
  std::set<int64_t> drawn;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    sampling_.seed = seed;
    for (const auto& sequence : generate(*model_, prompts, options_)) drawn.insert(sequence.tokens[0]);
  }
  for (int64_t token : drawn) EXPECT_EQ(nucleus.count(token), 1u) << token;
  // A tiny top_p keeps only the most likely token: sampling becomes greedy.
  sampling_.top_p = 1e-6;
  for (const auto& sequence : generate(*model_, prompts, options_)) EXPECT_EQ(sequence.tokens[0], order[0].item<int64_t>());
  // top_p = 1 draws beyond the nucleus too (64 x 4 draws from a near-uniform random model).
  sampling_.top_p = 1.0;
  std::set<int64_t> unrestricted;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    sampling_.seed = seed;
    for (const auto& sequence : generate(*model_, prompts, options_)) unrestricted.insert(sequence.tokens[0]);
  }
  EXPECT_GT(unrestricted.size(), nucleus.size());
}

TEST_F(GeneratorTest, SampledLogprobsMatchAFullForwardAtTheSameTemperature) {
  sampling_.temperature = 0.8;
  sampling_.stop_ids = {-1};
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4, 5, 6, 7, 8}};
  const auto generated = generate(*model_, prompts, options_);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int64_t> sequence(prompts[i].begin(), prompts[i].end());
    sequence.insert(sequence.end(), generated[i].tokens.begin(), generated[i].tokens.end());
    const int64_t length = static_cast<int64_t>(sequence.size());
    at::Tensor tokens = at::tensor(sequence).unsqueeze(0);
    at::Tensor logits = model_->forward(tokens, at::arange(length).unsqueeze(0), at::ones({1, length}, at::kBool));
    const int64_t prompt_length = static_cast<int64_t>(prompts[i].size());
    at::Tensor expected = model::token_logprobs(logits.slice(1, prompt_length - 1, length - 1),
                                                tokens.slice(1, prompt_length), sampling_.temperature)[0];
    for (size_t t = 0; t < generated[i].logprobs.size(); ++t) {
      EXPECT_NEAR(generated[i].logprobs[t], expected[static_cast<int64_t>(t)].item<float>(), 1e-4) << i << "," << t;
    }
  }
}

TEST_F(GeneratorTest, SameSeedSameSamplesOtherSeedOtherSamples) {
  sampling_.temperature = 1.5;
  sampling_.stop_ids = {-1};
  const std::vector<std::vector<int32_t>> prompts(16, std::vector<int32_t>{1, 2, 3});
  const auto first = generate(*model_, prompts, options_);
  const auto again = generate(*model_, prompts, options_);
  sampling_.seed = 2;
  const auto other = generate(*model_, prompts, options_);
  int differing = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(first[i].tokens, again[i].tokens);
    differing += first[i].tokens != other[i].tokens;
  }
  EXPECT_GT(differing, 0);
}

TEST_F(GeneratorTest, ARowSamplesTheSameTokensWhateverElseIsInTheBatch) {
  sampling_.temperature = 1.0;
  sampling_.stop_ids = {-1};
  options_.row_seeds = {sampling_seed(7, 0, 0)};
  const auto alone = generate(*model_, {{1, 2, 3}}, options_);
  options_.row_seeds = {sampling_seed(9, 0, 0), sampling_seed(7, 0, 0), sampling_seed(9, 1, 0)};
  const auto batched = generate(*model_, {{5, 5, 5, 5, 5, 5}, {1, 2, 3}, {8}}, options_);
  EXPECT_EQ(batched[1].tokens, alone[0].tokens);
  for (size_t t = 0; t < alone[0].logprobs.size(); ++t) EXPECT_NEAR(batched[1].logprobs[t], alone[0].logprobs[t], 1e-5);
}

TEST_F(GeneratorTest, TheStepHookSeesEveryRowEndExactlyOnce) {
  const std::vector<int32_t> prompt = {4, 5, 6};
  const auto reference = greedy_reference(prompt, 3);
  sampling_.stop_ids = {reference[1]};  // the first row stops at step 1, the second at max_new_tokens
  std::vector<std::pair<int64_t, size_t>> ends;
  int64_t steps = 0;
  options_.on_step = [&](int64_t step, const std::vector<GeneratedSequence>& sequences, const std::vector<size_t>& ended) {
    EXPECT_EQ(step, steps++);
    for (const size_t row : ended) {
      ends.emplace_back(step, row);
      EXPECT_EQ(static_cast<int64_t>(sequences[row].tokens.size()), step + 1);
    }
  };
  const auto generated = generate(*model_, {prompt, {9, 10, 11}}, options_);
  ASSERT_EQ(generated[0].finish_reason, FinishReason::kStopToken);
  ASSERT_EQ(generated[1].finish_reason, FinishReason::kLength);
  EXPECT_EQ(ends, (std::vector<std::pair<int64_t, size_t>>{{1, 0}, {sampling_.max_new_tokens - 1, 1}}));
  EXPECT_EQ(steps, sampling_.max_new_tokens);
}

TEST_F(GeneratorTest, StopEndsGenerationAfterTheCurrentStep) {
  sampling_.stop_ids = {-1};
  std::stop_source stop;
  options_.stop = stop.get_token();
  options_.on_step = [&](int64_t step, const std::vector<GeneratedSequence>&, const std::vector<size_t>& ended) {
    EXPECT_TRUE(ended.empty());
    if (step == 1) stop.request_stop();
  };
  const auto generated = generate(*model_, {{1, 2}}, options_);
  EXPECT_EQ(generated[0].tokens.size(), 2u);
  EXPECT_FALSE(generated[0].finish_reason.has_value());
}

}  // namespace
} // namespace caravan::rollout
