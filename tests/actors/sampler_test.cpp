#include "actors/rollout/sampler.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

namespace caravan::rollout {
namespace {

// A row's settings: sampling at temperature 1 from the full distribution, ending only at max tokens.
SamplingParams base_params() { return {.temperature = 1.0, .max_new_tokens = 100000, .stop_ids = {-1}, .seed = 7}; }

// Logits [1, V] whose softmax is `probs`.
at::Tensor logits_of_probs(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (const double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return at::tensor(logits).unsqueeze(0);
}

at::Tensor logits_row(const std::vector<float>& logits) { return at::tensor(logits).unsqueeze(0); }

// One token from `sampler` for the [1, V] `logits`.
SampledToken sample_one(SequenceSampler& sampler, const at::Tensor& logits) {
  std::vector<SequenceSampler*> rows = {&sampler};
  return sample_tokens(logits, rows).front();
}

// How often each token is drawn in `draws` steps of one sampler from the same logits.
std::map<int32_t, int> frequencies(const SamplingParams& params, const at::Tensor& logits, int draws) {
  SequenceSampler sampler(params, {}, nullptr);
  std::map<int32_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sample_one(sampler, logits).token];
  return counts;
}

// Asserts that the draws follow `expected` (token -> probability; absent tokens never drawn).
void expect_distribution(const std::map<int32_t, int>& counts, const std::map<int32_t, double>& expected, int draws) {
  for (const auto& [token, count] : counts) {
    ASSERT_TRUE(expected.count(token)) << "token " << token << " drawn " << count << " times";
  }
  for (const auto& [token, p] : expected) {
    const double observed = counts.count(token) ? counts.at(token) / static_cast<double>(draws) : 0.0;
    // 4 standard deviations of a binomial frequency.
    EXPECT_NEAR(observed, p, 4 * std::sqrt(p * (1 - p) / draws) + 1e-9) << "token " << token;
  }
}

constexpr int kDraws = 4000;
const std::vector<double> kProbs = {0.1, 0.4, 0.3, 0.2};

TEST(SamplerTest, GreedyTakesTheArgmaxAndReportsTheUnscaledLogprob) {
  SamplingParams params = base_params();
  params.temperature = 0;
  SequenceSampler sampler(params, {}, nullptr);
  const SampledToken sampled = sample_one(sampler, logits_row({1.0f, 3.0f, 2.0f}));
  EXPECT_EQ(sampled.token, 1);
  EXPECT_NEAR(sampled.logprob, 3.0 - std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0)), 1e-6);
  EXPECT_TRUE(sampled.top.empty());
  EXPECT_EQ(sampler.generated(), std::vector<int32_t>{1});
}

TEST(SamplerTest, TemperatureScalesTheDistributionAndTheLogprob) {
  SamplingParams params = base_params();
  params.temperature = 2.0;
  // softmax(log p / 2) is proportional to sqrt(p).
  const at::Tensor logits = logits_of_probs(kProbs);
  double norm = 0;
  for (const double p : kProbs) norm += std::sqrt(p);
  std::map<int32_t, double> expected;
  for (size_t i = 0; i < kProbs.size(); ++i) expected[static_cast<int32_t>(i)] = std::sqrt(kProbs[i]) / norm;
  expect_distribution(frequencies(params, logits, kDraws), expected, kDraws);
  SequenceSampler sampler(params, {}, nullptr);
  const SampledToken sampled = sample_one(sampler, logits);
  EXPECT_NEAR(sampled.logprob, std::log(expected[sampled.token]), 1e-5);
}

TEST(SamplerTest, TopKKeepsTheKMostLikely) {
  SamplingParams params = base_params();
  params.top_k = 2;
  expect_distribution(frequencies(params, logits_of_probs(kProbs), kDraws), {{1, 0.4 / 0.7}, {2, 0.3 / 0.7}}, kDraws);
}

TEST(SamplerTest, TopPKeepsTheSmallestSetReachingP) {
  SamplingParams params = base_params();
  // Sorted: 0.4, 0.3, 0.2, 0.1; the mass before each: 0, 0.4, 0.7, 0.9.
  params.top_p = 0.75;
  expect_distribution(frequencies(params, logits_of_probs(kProbs), kDraws), {{1, 0.4 / 0.9}, {2, 0.3 / 0.9}, {3, 0.2 / 0.9}},
                      kDraws);
  params.top_p = 0.5;
  expect_distribution(frequencies(params, logits_of_probs(kProbs), kDraws), {{1, 0.4 / 0.7}, {2, 0.3 / 0.7}}, kDraws);
  params.top_p = 0.3;
  expect_distribution(frequencies(params, logits_of_probs(kProbs), kDraws), {{1, 1.0}}, kDraws);
}

TEST(SamplerTest, TopPActsOnTheTopKDistributionRenormalised) {
  SamplingParams params = base_params();
  params.top_k = 2;
  // Top-2 renormalised: 4/7, 3/7; the mass before token 2 is 4/7 = 0.57 >= 0.5, so it goes
  // (without top-k it was 0.4 < 0.5 and stayed: the test above).
  params.top_p = 0.5;
  expect_distribution(frequencies(params, logits_of_probs(kProbs), kDraws), {{1, 1.0}}, kDraws);
  params.top_p = 0.6;
  expect_distribution(frequencies(params, logits_of_probs(kProbs), kDraws), {{1, 0.4 / 0.7}, {2, 0.3 / 0.7}}, kDraws);
}

TEST(SamplerTest, MinPKeepsTokensAboveAFractionOfTheMostLikely) {
  SamplingParams params = base_params();
  params.min_p = 0.6;  // threshold 0.24: keeps 0.4 and 0.3
  expect_distribution(frequencies(params, logits_of_probs(kProbs), kDraws), {{1, 0.4 / 0.7}, {2, 0.3 / 0.7}}, kDraws);
  params.min_p = 0.45;  // threshold 0.18: drops only 0.1
  expect_distribution(frequencies(params, logits_of_probs(kProbs), kDraws), {{1, 0.4 / 0.9}, {2, 0.3 / 0.9}, {3, 0.2 / 0.9}},
                      kDraws);
}

TEST(SamplerTest, TruncationDoesNotChangeTheReportedLogprob) {
  SamplingParams params = base_params();
  params.top_k = 1;
  params.top_p = 0.5;
  params.min_p = 0.5;
  params.top_logprobs = 2;
  SequenceSampler sampler(params, {}, nullptr);
  const SampledToken sampled = sample_one(sampler, logits_of_probs(kProbs));
  EXPECT_EQ(sampled.token, 1);
  EXPECT_NEAR(sampled.logprob, std::log(0.4), 1e-6);
  ASSERT_EQ(sampled.top.size(), 2u);
  EXPECT_NEAR(sampled.top[1].logprob, std::log(0.3), 1e-6);
}

// The greedy tokens of `steps` steps from the same logits row.
std::vector<int32_t> greedy_run(SamplingParams params, std::vector<int32_t> prompt, const std::vector<float>& logits,
                                int steps) {
  params.temperature = 0;
  SequenceSampler sampler(params, prompt, nullptr);
  for (int i = 0; i < steps; ++i) sample_one(sampler, logits_row(logits));
  return sampler.generated();
}

TEST(SamplerTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfPromptTokens) {
  SamplingParams params = base_params();
  // Token 0 is in the prompt: 3.0 / 2 = 1.5 < 1.6, but 3.0 / 1.8 = 1.67 > 1.6.
  params.repetition_penalty = 2.0;
  EXPECT_EQ(greedy_run(params, {0}, {3.0f, 1.6f}, 1), std::vector<int32_t>{1});
  params.repetition_penalty = 1.8;
  EXPECT_EQ(greedy_run(params, {0}, {3.0f, 1.6f}, 1), std::vector<int32_t>{0});
  // Negative: -1.0 * 2 = -2.0 < -1.9, but -1.0 * 1.8 = -1.8 > -1.9.
  params.repetition_penalty = 2.0;
  EXPECT_EQ(greedy_run(params, {0}, {-1.0f, -1.9f}, 1), std::vector<int32_t>{1});
  params.repetition_penalty = 1.8;
  EXPECT_EQ(greedy_run(params, {0}, {-1.0f, -1.9f}, 1), std::vector<int32_t>{0});
  // A penalty below 1 favours repeats: 1.0 / 0.5 = 2.0 > 1.5.
  params.repetition_penalty = 0.5;
  EXPECT_EQ(greedy_run(params, {0}, {1.0f, 1.5f}, 1), std::vector<int32_t>{0});
}

TEST(SamplerTest, RepetitionPenaltyAppliesOnceToEveryGeneratedToken) {
  SamplingParams params = base_params();
  params.repetition_penalty = 2.0;
  // Step 1: 2.0 > 1.5 -> 0. Step 2: 1.0 < 1.5 -> 1. Then 1.0 > 0.75 -> 0, and again (not 0.5).
  EXPECT_EQ(greedy_run(params, {}, {2.0f, 1.5f}, 4), (std::vector<int32_t>{0, 1, 0, 0}));
}

TEST(SamplerTest, PresenceAndFrequencyPenaltiesSubtractFromGeneratedTokens) {
  SamplingParams params = base_params();
  params.presence_penalty = 0.3;
  params.frequency_penalty = 0.2;
  // Token 0's logit after c draws: 1 - 0.3 - 0.2 c (0.5, 0.3, 0.1, -0.1); token 1's: 0.45, then
  // 0.45 - 0.5 = -0.05. Draws: 0, 0 (0.5), 1 (0.3 < 0.45), 0 (0.3 > -0.05), 0 (0.1), 1 (-0.1).
  EXPECT_EQ(greedy_run(params, {}, {1.0f, 0.45f}, 6), (std::vector<int32_t>{0, 0, 1, 0, 0, 1}));
  // Presence alone: once. Prompt tokens are not penalised (token 1 is in the prompt).
  params.presence_penalty = 0.6;
  params.frequency_penalty = 0.0;
  EXPECT_EQ(greedy_run(params, {1}, {1.0f, 0.45f}, 4), (std::vector<int32_t>{0, 1, 0, 0}));
  // Negative penalties encourage repeats.
  params.presence_penalty = 0.0;
  params.frequency_penalty = -1.0;
  EXPECT_EQ(greedy_run(params, {}, {1.0f, 0.45f}, 3), (std::vector<int32_t>{0, 0, 0}));
}

TEST(SamplerTest, PenaltiesDoNotChangeTheReportedLogprob) {
  SamplingParams params = base_params();
  params.temperature = 0;
  params.repetition_penalty = 2.0;
  SequenceSampler sampler(params, std::vector<int32_t>{0}, nullptr);
  const SampledToken sampled = sample_one(sampler, logits_row({2.0f, 1.5f}));
  EXPECT_EQ(sampled.token, 1);
  EXPECT_NEAR(sampled.logprob, 1.5 - std::log(std::exp(2.0) + std::exp(1.5)), 1e-6);
}

TEST(SamplerTest, TopLogprobsAreSortedAndAgreeWithTheSampledLogprob) {
  SamplingParams params = base_params();
  params.temperature = 0.5;
  params.top_logprobs = 4;
  const std::vector<float> logits = {0.5f, -1.0f, 2.0f, 1.0f, 0.0f};
  // Hand-computed log_softmax(logits / 0.5).
  double norm = 0;
  for (const float l : logits) norm += std::exp(l / 0.5);
  SequenceSampler sampler(params, {}, nullptr);
  for (int step = 0; step < 50; ++step) {
    const SampledToken sampled = sample_one(sampler, logits_row(logits));
    ASSERT_EQ(sampled.top.size(), 4u);
    const std::vector<int32_t> order = {2, 3, 0, 4};
    for (size_t j = 0; j < order.size(); ++j) {
      EXPECT_EQ(sampled.top[j].token, order[j]);
      EXPECT_NEAR(sampled.top[j].logprob, logits[static_cast<size_t>(order[j])] / 0.5 - std::log(norm), 1e-5);
    }
    EXPECT_NEAR(sampled.logprob, logits[static_cast<size_t>(sampled.token)] / 0.5 - std::log(norm), 1e-5);
    for (const TokenLogprob& top : sampled.top) {
      if (top.token == sampled.token) EXPECT_EQ(top.logprob, sampled.logprob);
    }
  }
}

TEST(SamplerTest, ARowDrawsTheSameTokensAloneAndInsideABatchOfOtherSettings) {
  at::manual_seed(0);
  const at::Tensor logits = at::randn({30, 64});  // one row per step
  SamplingParams params = base_params();
  params.top_p = 0.9;
  params.repetition_penalty = 1.2;
  std::vector<int32_t> alone_tokens;
  {
    SequenceSampler alone(params, std::vector<int32_t>{1, 2, 3}, nullptr);
    for (int64_t step = 0; step < logits.size(0); ++step) alone_tokens.push_back(sample_one(alone, logits[step].unsqueeze(0)).token);
  }
  // The same row (same seed) third in a batch of rows that sample otherwise.
  std::vector<SamplingParams> others(4, base_params());
  others[0].temperature = 0;
  others[1].temperature = 0.7;
  others[1].top_k = 5;
  others[2].frequency_penalty = 1.0;
  others[2].top_logprobs = 3;
  others[3].min_p = 0.2;
  std::vector<SequenceSampler> samplers;
  for (size_t i = 0; i < others.size(); ++i) {
    others[i].seed = 100 + i;
    samplers.emplace_back(others[i], std::vector<int32_t>{4, 5}, nullptr);
  }
  samplers.emplace(samplers.begin() + 2, params, std::vector<int32_t>{1, 2, 3}, nullptr);
  std::vector<SequenceSampler*> rows;
  for (SequenceSampler& sampler : samplers) rows.push_back(&sampler);
  for (int64_t step = 0; step < logits.size(0); ++step) {
    // Other rows see other logits; row 2 sees its own.
    at::Tensor batch = at::randn({5, 64});
    batch[2].copy_(logits[step]);
    sample_tokens(batch, rows);
  }
  EXPECT_EQ(samplers[2].generated(), alone_tokens);
  // Another seed draws otherwise.
  params.seed = 8;
  SequenceSampler other(params, std::vector<int32_t>{1, 2, 3}, nullptr);
  for (int64_t step = 0; step < logits.size(0); ++step) sample_one(other, logits[step].unsqueeze(0));
  EXPECT_NE(other.generated(), alone_tokens);
}

TEST(SamplerTest, StopIdEndsTheSequenceAndIsKept) {
  SamplingParams params = base_params();
  params.temperature = 0;
  params.stop_ids = {9, 1};
  SequenceSampler sampler(params, {}, nullptr);
  sample_one(sampler, logits_row({2.0f, 0.0f}));
  EXPECT_FALSE(sampler.finished());
  sample_one(sampler, logits_row({0.0f, 2.0f}));
  EXPECT_EQ(sampler.finish_reason(), FinishReason::kStopToken);
  EXPECT_EQ(sampler.generated(), (std::vector<int32_t>{0, 1}));
}

TEST(SamplerTest, MaxNewTokensEndsTheSequenceWithLength) {
  SamplingParams params = base_params();
  params.max_new_tokens = 3;
  SequenceSampler sampler(params, {}, nullptr);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(sampler.finished());
    sample_one(sampler, logits_of_probs(kProbs));
  }
  EXPECT_EQ(sampler.finish_reason(), FinishReason::kLength);
  EXPECT_EQ(sampler.generated().size(), 3u);
  // A stop id on the last allowed token is a stop, not a truncation.
  params.max_new_tokens = 1;
  params.stop_ids = {1};
  params.temperature = 0;
  SequenceSampler stopped(params, {}, nullptr);
  sample_one(stopped, logits_of_probs(kProbs));
  EXPECT_EQ(stopped.finish_reason(), FinishReason::kStopToken);
}

TEST(SamplerTest, InvalidSettingsNameTheField) {
  const auto expect_invalid = [](auto change, const std::string& field) {
    SamplingParams params = base_params();
    change(params);
    const Status status = params.validate();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(status.message().find("SamplingParams." + field), std::string::npos) << status.message();
  };
  expect_invalid([](SamplingParams& p) { p.temperature = -0.1; }, "temperature");
  expect_invalid([](SamplingParams& p) { p.top_p = 0; }, "top_p");
  expect_invalid([](SamplingParams& p) { p.top_p = 1.5; }, "top_p");
  expect_invalid([](SamplingParams& p) { p.top_k = -1; }, "top_k");
  expect_invalid([](SamplingParams& p) { p.min_p = 1.0; }, "min_p");
  expect_invalid([](SamplingParams& p) { p.min_p = -0.1; }, "min_p");
  expect_invalid([](SamplingParams& p) { p.repetition_penalty = 0; }, "repetition_penalty");
  expect_invalid([](SamplingParams& p) { p.presence_penalty = 2.5; }, "presence_penalty");
  expect_invalid([](SamplingParams& p) { p.frequency_penalty = -2.5; }, "frequency_penalty");
  expect_invalid([](SamplingParams& p) { p.max_new_tokens = 0; }, "max_new_tokens");
  expect_invalid([](SamplingParams& p) { p.stop_ids.clear(); }, "stop_ids");
  expect_invalid([](SamplingParams& p) { p.stop_strings = {"ok", ""}; }, "stop_strings[1]");
  expect_invalid([](SamplingParams& p) { p.top_logprobs = kMaxTopLogprobs + 1; }, "top_logprobs");
  expect_invalid([](SamplingParams& p) { p.top_logprobs = -1; }, "top_logprobs");
  EXPECT_TRUE(base_params().validate().ok());
}

}  // namespace
} // namespace caravan::rollout
