#include "learner/micro_batch.h"

#include <gtest/gtest.h>

#include "learner/dpo_trainer.h"
#include "learner/grpo_trainer.h"
#include "learner/sft_trainer.h"
#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

using Ranges = std::vector<std::pair<int64_t, int64_t>>;

Ranges as_pairs(const std::vector<SequenceRange>& ranges) {
  Ranges out;
  for (const SequenceRange& range : ranges) out.emplace_back(range.begin, range.end);
  return out;
}

std::vector<SequenceRange> split(const std::vector<int64_t>& lengths, int64_t budget, bool packed) {
  return split_by_token_budget(lengths, {.begin = 0, .end = static_cast<int64_t>(lengths.size())},
                               {.micro_batch_tokens = budget, .pack_sequences = packed});
}

TEST(MicroBatchPlan, CutsByTokenBudgetInOrder) {
  const std::vector<int64_t> lengths = {4, 6, 3, 10, 2};
  // Padded cost = count x longest: {4, 6} costs 12, {4, 6, 3} 18.
  EXPECT_EQ(as_pairs(split(lengths, 12, /*packed=*/false)), (Ranges{{0, 2}, {2, 3}, {3, 4}, {4, 5}}));
  // Packed cost = sum: {4, 6} 10, {3} (+10 = 13), {10, 2} 12.
  EXPECT_EQ(as_pairs(split(lengths, 12, /*packed=*/true)), (Ranges{{0, 2}, {2, 3}, {3, 5}}));
  // A sequence over the budget gets a pass of its own.
  EXPECT_EQ(as_pairs(split(lengths, 5, /*packed=*/true)), (Ranges{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}));
  EXPECT_EQ(as_pairs(split(lengths, 0, /*packed=*/false)), (Ranges{{0, 5}}));
  EXPECT_EQ(forward_tokens(lengths, RowLayout::kPadded), 50);
  EXPECT_EQ(forward_tokens(lengths, RowLayout::kPacked), 25);
}

TEST(MicroBatchPlan, MiniBatchesAreEvenContiguousPartsTiledByMicroBatches) {
  EXPECT_EQ(as_pairs(split_evenly({.begin = 0, .end = 7}, 3)), (Ranges{{0, 3}, {3, 5}, {5, 7}}));
  // No empty part: fewer sequences than parts gives one part per sequence.
  EXPECT_EQ(as_pairs(split_evenly({.begin = 2, .end = 4}, 5)), (Ranges{{2, 3}, {3, 4}}));
  // A data-parallel rank keeps them: exactly `parts`, the empty ones last (none at all for an empty share).
  EXPECT_EQ(as_pairs(split_evenly({.begin = 2, .end = 4}, 3, EmptyParts::kKeep)), (Ranges{{2, 3}, {3, 4}, {4, 4}}));
  EXPECT_EQ(as_pairs(split_evenly({.begin = 0, .end = 0}, 2, EmptyParts::kKeep)), (Ranges{{0, 0}, {0, 0}}));
  EXPECT_EQ(as_pairs(split_evenly({.begin = 0, .end = 7}, 3, EmptyParts::kKeep)), (Ranges{{0, 3}, {3, 5}, {5, 7}}));
  const std::vector<int64_t> one = {4};
  const std::vector<MiniBatch> kept = plan_mini_batches(one, {.micro = {}, .mini_batches = 2}, EmptyParts::kKeep);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(as_pairs(kept[0].micro_batches), (Ranges{{0, 1}}));
  EXPECT_TRUE(kept[1].micro_batches.empty());
  const std::vector<int64_t> lengths = {4, 6, 3, 10, 2, 5};
  const std::vector<MiniBatch> plan = plan_mini_batches(
      lengths, {.micro = {.micro_batch_tokens = 10, .pack_sequences = true}, .mini_batches = 2, .epochs = 3});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].sequences.begin, 0);
  EXPECT_EQ(plan[0].sequences.end, 3);
  EXPECT_EQ(as_pairs(plan[0].micro_batches), (Ranges{{0, 2}, {2, 3}}));
  EXPECT_EQ(as_pairs(plan[1].micro_batches), (Ranges{{3, 4}, {4, 6}}));
}

// Conversations of varied lengths with assistant-only masks (two assistant turns in some).
std::vector<TrainingSequence> conversations() {
  return {{.ids = {1, 2, 3, 40, 41, 42}, .loss_mask = {0, 0, 0, 1, 1, 1}},
          {.ids = {1, 5, 50, 6, 51, 52, 53, 54}, .loss_mask = {0, 0, 1, 0, 1, 1, 1, 1}},
          {.ids = {1, 7, 60}, .loss_mask = {0, 0, 1}},
          {.ids = {1, 8, 9, 10, 11, 70, 71, 72, 73, 74, 75}, .loss_mask = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}},
          {.ids = {1, 12, 80, 81}, .loss_mask = {0, 0, 1, 1}}};
}

TEST(SftBatching, PackedAndMicroBatchedStepsEqualTheOneShotStep) {
  learner::SftOptions options;
  options.warmup_steps = 0;
  SftTrainer reference(testing::tiny_llama(/*seed=*/7), options, /*pad_id=*/0);
  const SftStepStats expected = reference.step(conversations()).value();
  const std::vector<at::Tensor> expected_gradients = testing::gradients(*reference.policy());
  for (const bool packed : {false, true}) {
    for (const int64_t budget : {int64_t{0}, int64_t{16}, int64_t{1}}) {
      if (!packed && budget == 0) continue;
      SCOPED_TRACE(str_cat("packed ", packed, " micro_batch_tokens ", budget));
      options.batching = {.micro_batch_tokens = budget, .pack_sequences = packed};
      SftTrainer trainer(testing::tiny_llama(/*seed=*/7), options, /*pad_id=*/0);
      const SftStepStats stats = trainer.step(conversations()).value();
      EXPECT_NEAR(stats.loss, expected.loss, 1e-5);
      EXPECT_EQ(stats.tokens, expected.tokens);
      testing::expect_same_gradients(expected_gradients, testing::gradients(*trainer.policy()));
    }
  }
}

TEST(DpoBatching, PackedAndMicroBatchedStepsEqualTheOneShotStep) {
  const std::vector<TrainingSequence> c = conversations();
  const std::vector<PreferencePair> pairs = {{.chosen = c[0], .rejected = c[1]}, {.chosen = c[2], .rejected = c[3]},
                                             {.chosen = c[4], .rejected = c[0]}};
  learner::DpoOptions options;
  options.learning_rate = 1e-3;
  options.beta = 0.5;
  options.loss = "dpo";
  // The first step (the policy equal to the reference) already has a gradient: -beta/2 times that
  // of each pair's log-ratio margin. A second would differ by AdamW's first update, which is
  // about lr x sign(g) and so flips with the rounding of near-zero gradient entries.
  DpoTrainer reference(testing::tiny_llama(/*seed=*/8), options, /*pad_id=*/0);
  const DpoStepStats expected = reference.step(pairs).value();
  const std::vector<at::Tensor> expected_gradients = testing::gradients(*reference.policy());
  for (const auto& [packed, budget] : {std::pair{true, int64_t{0}}, std::pair{false, int64_t{20}}, std::pair{true, int64_t{20}}}) {
    SCOPED_TRACE(str_cat("packed ", packed, " micro_batch_tokens ", budget));
    options.batching = {.micro_batch_tokens = budget, .pack_sequences = packed};
    DpoTrainer trainer(testing::tiny_llama(/*seed=*/8), options, /*pad_id=*/0);
    const DpoStepStats stats = trainer.step(pairs).value();
    EXPECT_NEAR(stats.metrics.loss, expected.metrics.loss, 1e-5);
    EXPECT_NEAR(stats.metrics.margin, expected.metrics.margin, 1e-4);
    EXPECT_EQ(stats.tokens, expected.tokens);
    testing::expect_same_gradients(expected_gradients, testing::gradients(*trainer.policy()));
  }
}

// One GRPO configuration of the equivalence test.
struct RlCase {
  const char* name;
  learner::LossAggregation aggregation;
  learner::PolicyLossKind kind = learner::PolicyLossKind::kPpo;
  learner::AdvantageEstimator estimator = learner::AdvantageEstimator::kGrpo;
  learner::KlPlacement kl_placement = learner::KlPlacement::kLoss;
};

TEST(GrpoBatching, PackedAndMicroBatchedStepsEqualTheOneShotStepForEveryAggregation) {
  const RlCase cases[] = {
      {"token_mean", learner::LossAggregation::kTokenMean},
      {"seq_mean_token_mean", learner::LossAggregation::kSequenceMeanTokenMean},
      {"constant", learner::LossAggregation::kConstantDenominator},
      {"gspo", learner::LossAggregation::kSequenceMeanTokenMean, learner::PolicyLossKind::kGspo},
      {"reinforce_pp, kl in reward", learner::LossAggregation::kTokenMean, learner::PolicyLossKind::kPpo,
       learner::AdvantageEstimator::kReinforcePlusPlus, learner::KlPlacement::kReward},
  };
  for (const RlCase& c : cases) {
    learner::GrpoOptions options = testing::grpo_test_options();
    options.loss.aggregation = c.aggregation;
    options.loss.kind = c.kind;
    options.loss.entropy_coef = 0.01;
    options.advantage.estimator = c.estimator;
    options.kl.placement = c.kl_placement;
    options.kl.coef = 0.05;
    // Rollout logprobs off the learner's, so ratios and corrections are not all 1.
    options.correction.tis_cap = 2.0;
    GrpoTrainer reference(testing::tiny_llama(/*seed=*/9), options, testing::rollout_test_options(), /*pad_id=*/0);
    std::vector<RolloutGroup> groups = testing::rewarded_groups(*reference.policy());
    for (RolloutGroup& group : groups) {
      for (RolloutSample& sample : group.samples) {
        for (float& lp : sample.logprobs) lp -= 0.3f;
      }
    }
    const GrpoStepStats expected = reference.step(groups, /*policy_version=*/0).value();
    const std::vector<at::Tensor> expected_gradients = testing::gradients(*reference.policy());
    for (const auto& [packed, budget] : {std::pair{true, int64_t{0}}, std::pair{false, int64_t{12}}, std::pair{true, int64_t{12}}, std::pair{true, int64_t{1}}}) {
      SCOPED_TRACE(str_cat(c.name, ": packed ", packed, " micro_batch_tokens ", budget));
      options.batching.micro = {.micro_batch_tokens = budget, .pack_sequences = packed};
      GrpoTrainer trainer(testing::tiny_llama(/*seed=*/9), options, testing::rollout_test_options(), /*pad_id=*/0);
      const GrpoStepStats stats = trainer.step(groups, /*policy_version=*/0).value();
      EXPECT_NEAR(stats.loss, expected.loss, 1e-5);
      EXPECT_NEAR(stats.kl_mean, expected.kl_mean, 1e-6);
      EXPECT_NEAR(stats.clip_fraction, expected.clip_fraction, 1e-6);
      ASSERT_EQ(stats.terms.size(), expected.terms.size());
      for (size_t i = 0; i < stats.terms.size(); ++i) {
        EXPECT_EQ(stats.terms[i].first, expected.terms[i].first);
        EXPECT_NEAR(stats.terms[i].second, expected.terms[i].second, 1e-5) << stats.terms[i].first;
      }
      testing::expect_same_gradients(expected_gradients, testing::gradients(*trainer.policy()));
    }
  }
}

TEST(GrpoBatching, MiniBatchesTimesEpochsOptimizerSteps) {
  learner::GrpoOptions options = testing::grpo_test_options();
  options.batching = {.micro = {.micro_batch_tokens = 10, .pack_sequences = true}, .mini_batches = 2, .epochs = 3};
  GrpoTrainer trainer(testing::tiny_llama(/*seed=*/10), options, testing::rollout_test_options(), /*pad_id=*/0);
  const std::vector<RolloutGroup> groups = testing::rewarded_groups(*trainer.policy());
  const std::vector<at::Tensor> before = testing::snapshot(*trainer.policy());
  const GrpoStepStats stats = trainer.step(groups, /*policy_version=*/0).value();
  EXPECT_FALSE(testing::same_weights(*trainer.policy(), before));
  for (const at::Tensor& parameter : trainer.policy()->parameters()) {
    EXPECT_EQ(testing::adamw_steps(trainer.optimizer(), parameter), 6);
  }
  // The schedule counts TrainBatches.
  EXPECT_EQ(trainer.state().steps_done, 1);
  EXPECT_EQ(stats.tokens, 16);
}

TEST(GrpoBatching, EveryUpdateTakesItsRatioAgainstTheLogprobsBeforeTheFirst) {
  // Rollout logprobs far above the learner's (about -log 259 on a fresh model): a ratio against
  // them is about 0.2, which clips every token with a negative advantage (11 of 16).
  const auto off_policy = [](std::vector<RolloutGroup> groups) {
    for (RolloutGroup& group : groups) {
      for (RolloutSample& sample : group.samples) {
        for (float& lp : sample.logprobs) lp = -4.0f;
      }
    }
    return groups;
  };
  learner::GrpoOptions options = testing::grpo_test_options();
  options.kl.coef = 0;
  // One update: the ratio is against the rollout logprobs.
  GrpoTrainer single(testing::tiny_llama(/*seed=*/11), options, testing::rollout_test_options(), /*pad_id=*/0);
  const std::vector<RolloutGroup> on_policy = testing::rewarded_groups(*single.policy());
  const GrpoStepStats single_stats = single.step(off_policy(on_policy), 0).value();
  EXPECT_GT(single_stats.clip_fraction, 0.5);
  // The on-policy step: ratio 1 against logprobs equal to the learner's.
  GrpoTrainer on(testing::tiny_llama(/*seed=*/11), options, testing::rollout_test_options(), /*pad_id=*/0);
  const GrpoStepStats on_stats = on.step(on_policy, 0).value();

  // Three epochs with a learning rate too small to move the weights: each update's ratio against
  // the policy before the first is 1, whatever the rollout logprobs, so each has the on-policy
  // step's loss and nothing is clipped.
  options.learning_rate = 1e-30;
  options.batching.epochs = 3;
  GrpoTrainer epochs(testing::tiny_llama(/*seed=*/11), options, testing::rollout_test_options(), /*pad_id=*/0);
  const GrpoStepStats stats = epochs.step(off_policy(on_policy), 0).value();
  EXPECT_EQ(stats.clip_fraction, 0.0);
  EXPECT_NEAR(stats.loss, on_stats.loss, 1e-6);
  EXPECT_EQ(testing::adamw_steps(epochs.optimizer(), epochs.policy()->parameters().front()), 3);
}

} // namespace
} // namespace caravan::learner
