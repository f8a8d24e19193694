#include "learner/lr_schedule.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

namespace caravan::learner {
namespace {

// Warm-up of 4 steps, 14 steps in all: decay runs over steps 4..14.
constexpr int64_t kTotal = 14;

TEST(LrSchedule, WarmupRisesLinearlyThenConstantHolds) {
  const learner::LrScheduleOptions options{.kind = learner::LrScheduleKind::kConstant, .warmup_steps = 4};
  const double expected[] = {0.25, 0.5, 0.75, 1.0, 1.0, 1.0};
  for (int64_t step = 0; step < 6; ++step) EXPECT_DOUBLE_EQ(lr_multiplier(options, step, kTotal), expected[step]);
  EXPECT_DOUBLE_EQ(lr_multiplier(options, 100, kTotal), 1.0);
  // No warm-up: the full rate from the first step.
  EXPECT_DOUBLE_EQ(lr_multiplier({}, 0, kTotal), 1.0);
}

TEST(LrSchedule, LinearDecaysToTheFloor) {
  const learner::LrScheduleOptions options{.kind = learner::LrScheduleKind::kLinear, .warmup_steps = 4, .min_lr_ratio = 0.1};
  EXPECT_DOUBLE_EQ(lr_multiplier(options, 3, kTotal), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(options, 4, kTotal), 1.0);
  // p = 5 / 10: 0.1 + 0.9 * 0.5.
  EXPECT_DOUBLE_EQ(lr_multiplier(options, 9, kTotal), 0.55);
  EXPECT_DOUBLE_EQ(lr_multiplier(options, 14, kTotal), 0.1);
  EXPECT_DOUBLE_EQ(lr_multiplier(options, 20, kTotal), 0.1);
}

TEST(LrSchedule, CosineFollowsTheHalfCosine) {
  const learner::LrScheduleOptions options{.kind = learner::LrScheduleKind::kCosine, .warmup_steps = 4};
  EXPECT_DOUBLE_EQ(lr_multiplier(options, 4, kTotal), 1.0);
  // p = 0.2: (1 + cos(0.2 pi)) / 2 = 0.904508.
  EXPECT_NEAR(lr_multiplier(options, 6, kTotal), 0.9045084971874737, 1e-15);
  EXPECT_NEAR(lr_multiplier(options, 9, kTotal), 0.5, 1e-15);
  EXPECT_NEAR(lr_multiplier(options, 14, kTotal), 0.0, 1e-15);
  const learner::LrScheduleOptions floored{.kind = learner::LrScheduleKind::kCosine, .warmup_steps = 4, .min_lr_ratio = 0.2};
  EXPECT_NEAR(lr_multiplier(floored, 9, kTotal), 0.2 + 0.8 * 0.5, 1e-15);
}

} // namespace
} // namespace caravan::learner
