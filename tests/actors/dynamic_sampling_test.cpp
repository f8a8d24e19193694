// DAPO dynamic sampling's rules (actors/controller/dynamic_sampling.h): which groups carry a
// signal, how a step's target shrinks or is refilled, the cap, and the checkpoint form. The
// controller applying them is tested in controller_test.cpp.
#include "actors/controller/dynamic_sampling.h"

#include <gtest/gtest.h>

namespace caravan::controller {
namespace {

// A ready group whose samples scored `scores`; nullopt = dropped unjudged.
LedgerGroup group_with(const std::vector<std::optional<float>>& scores) {
  LedgerGroup group;
  for (const std::optional<float>& score : scores) {
    LedgerSample sample;
    sample.state = score ? SampleState::kBuffered : SampleState::kDropped;
    if (!score) sample.drop_reason = DropReason::kUnjudged;
    sample.reward.score = score.value_or(0.5f);
    sample.reward.trainable = score.has_value();
    group.samples.push_back(sample);
  }
  return group;
}

TEST(DynamicSampling, AGroupIsInformativeWhenItsTrainedSamplesScoreDifferently) {
  EXPECT_TRUE(informative(group_with({1.0f, 0.0f, 0.0f})));
  EXPECT_TRUE(informative(group_with({0.25f, 0.5f})));
  EXPECT_FALSE(informative(group_with({0.0f, 0.0f, 0.0f})));
  EXPECT_FALSE(informative(group_with({1.0f, 1.0f})));
  // Unjudged samples carry no reward value: their placeholder score does not count.
  EXPECT_FALSE(informative(group_with({1.0f, std::nullopt, 1.0f})));
  EXPECT_FALSE(informative(group_with({0.0f, std::nullopt})));
  EXPECT_FALSE(informative(group_with({std::nullopt, std::nullopt})));
  EXPECT_TRUE(informative(group_with({std::nullopt, 1.0f, 0.0f})));
}

TEST(DynamicSampling, DropShrinksTheStepAndNeverRefills) {
  DynamicSampler sampler({.mode = DynamicSampling::kDrop, .max_rounds = 4}, 3);
  EXPECT_EQ(sampler.batch_target(), 3u);
  EXPECT_FALSE(sampler.drop_group());
  EXPECT_FALSE(sampler.drop_group());
  EXPECT_EQ(sampler.batch_target(), 1u);
  const StepFill fill = sampler.finish_step();
  EXPECT_EQ(fill.dropped_groups, 2u);
  EXPECT_EQ(fill.refilled_groups, 0u);
  EXPECT_FALSE(fill.capped);
  EXPECT_EQ(sampler.batch_target(), 3u);
  EXPECT_EQ(sampler.refills(), 0u);
  EXPECT_EQ(sampler.dropped_groups(), 2u);
}

TEST(DynamicSampling, RefillReplacesDroppedGroupsUpToTheRoundsCapThenShrinks) {
  // 2 prompts per step, 2 rounds: at most 2 refills per step.
  DynamicSampler sampler({.mode = DynamicSampling::kRefill, .max_rounds = 2}, 2);
  EXPECT_TRUE(sampler.drop_group());
  EXPECT_TRUE(sampler.drop_group());
  EXPECT_EQ(sampler.batch_target(), 2u);
  EXPECT_FALSE(sampler.drop_group());
  EXPECT_EQ(sampler.batch_target(), 1u);
  StepFill fill = sampler.finish_step();
  EXPECT_EQ(fill.dropped_groups, 3u);
  EXPECT_EQ(fill.refilled_groups, 2u);
  EXPECT_TRUE(fill.capped);
  // The cap is per step; the run totals go on.
  EXPECT_TRUE(sampler.drop_group());
  fill = sampler.finish_step();
  EXPECT_FALSE(fill.capped);
  EXPECT_EQ(sampler.refills(), 3u);
  EXPECT_EQ(sampler.dropped_groups(), 4u);
}

TEST(DynamicSampling, CheckpointKeepsTheTotalsAndTheStepInProgress) {
  const DynamicSamplingOptions options{.mode = DynamicSampling::kRefill, .max_rounds = 2};
  DynamicSampler sampler(options, 2);
  sampler.drop_group();
  sampler.finish_step();
  sampler.drop_group();
  sampler.drop_group();
  sampler.drop_group();  // capped: the step now takes 1
  DynamicSampler restored(options, 2);
  ASSERT_TRUE(restored.restore(sampler.to_json()).ok());
  EXPECT_EQ(restored.to_json(), sampler.to_json());
  EXPECT_EQ(restored.batch_target(), 1u);
  EXPECT_EQ(restored.refills(), 3u);
  EXPECT_TRUE(restored.finish_step().capped);

  DynamicSampler three({.mode = DynamicSampling::kDrop}, 3);
  three.drop_group();
  three.drop_group();
  DynamicSampler one({.mode = DynamicSampling::kDrop}, 1);  // prompts_per_step changed since
  const Status status = one.restore(three.to_json());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("prompts_per_step"), std::string::npos) << status.message();
  nlohmann::json broken = sampler.to_json();
  broken.erase("refills");
  EXPECT_NE(restored.restore(broken).message().find("dynamic_sampling"), std::string::npos);
}

}  // namespace
}  // namespace caravan::controller
