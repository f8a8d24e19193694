// Folding metrics.jsonl rows into what the status block shows.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apps/run_progress.h"

namespace caravan::apps {
namespace {

// An "rl" row; `seconds` is the row's own field (the learner call), not the step's wall time.
nlohmann::json rl_row(int step, double seconds, double generated_tokens, double rl_seconds) {
  return {{"phase", "rl"},           {"step", step},
          {"reward_mean", 0.25 * step}, {"accuracy", 0.1 * step},
          {"seconds", seconds},      {"generated_tokens", generated_tokens},
          {"rl_seconds", rl_seconds}, {"sync_round_trip_seconds", 0.05 * step},
          {"kl", 0.01},              {"ledger", {{"queued", 3}}}};
}

TEST(RunProgress, SyncRoundTripIsReadUnderItsOldNameToo) {
  EXPECT_EQ(sync_round_trip_seconds({{"sync_seconds", 0.5}}), 0.5);
  EXPECT_EQ(sync_round_trip_seconds({{"sync_round_trip_seconds", 0.25}, {"sync_seconds", 0.5}}), 0.25);
  // The learner's transfer is another number.
  EXPECT_FALSE(sync_round_trip_seconds({{"weight_sync", {{"transfer_seconds", 0.1}}}}));
}

TEST(RunProgress, StartsUnknown) {
  const ProgressSnapshot now = RunProgress(10).snapshot(3, 6);
  EXPECT_EQ(now.phase, "starting");
  EXPECT_EQ(now.step, 0);
  EXPECT_EQ(now.total_steps, 10);
  EXPECT_FALSE(now.reward_mean || now.accuracy || now.eta_seconds || now.tokens_per_second || now.sync_round_trip_seconds);
  EXPECT_EQ(now.workers_alive, 3);
  EXPECT_EQ(now.workers_total, 6);
}

TEST(RunProgress, RlRowsGiveRewardAccuracySyncThroughputAndEta) {
  RunProgress progress(10);
  progress.add({{"phase", "dataset"}, {"rows_read", 100}});
  progress.add({{"phase", "sft"}, {"loss", 1.5}});
  progress.add({{"phase", "eval-sft"}, {"held_out_accuracy", 0.2}});
  EXPECT_EQ(progress.snapshot(0, 0).phase, "eval");
  progress.add(rl_row(1, 2.0, 1000, 2.0));
  progress.add(rl_row(2, 4.0, 3000, 6.0));
  const ProgressSnapshot now = progress.snapshot(6, 6);
  EXPECT_EQ(now.phase, "rl");
  EXPECT_EQ(now.step, 2);
  EXPECT_DOUBLE_EQ(*now.reward_mean, 0.5);
  EXPECT_DOUBLE_EQ(*now.accuracy, 0.2);
  EXPECT_DOUBLE_EQ(*now.eval_accuracy, 0.2);
  EXPECT_DOUBLE_EQ(*now.sync_round_trip_seconds, 0.1);
  // 2000 tokens over the 4 s between the two rows.
  EXPECT_DOUBLE_EQ(*now.step_seconds, 4.0);
  EXPECT_DOUBLE_EQ(*now.tokens_per_second, 500.0);
  // 6 s of training for 2 steps, 8 steps left.
  EXPECT_DOUBLE_EQ(*now.seconds_per_step, 3.0);
  EXPECT_DOUBLE_EQ(*now.eta_seconds, 24.0);
}

TEST(RunProgress, AResumedControllerRestartsTheThroughputWindow) {
  RunProgress progress(10);
  progress.add(rl_row(1, 2.0, 1000, 2.0));
  progress.add({{"phase", "resume"}, {"step", 5}});
  EXPECT_EQ(progress.snapshot(0, 0).step, 5);
  // rl_seconds starts again from 0 in the resumed controller: the row stands alone, and the time
  // per step counts the steps of the resumed controller only.
  progress.add(rl_row(6, 2.0, 400, 1.0));
  progress.add(rl_row(7, 2.0, 1000, 3.0));
  const ProgressSnapshot now = progress.snapshot(0, 0);
  EXPECT_DOUBLE_EQ(*now.tokens_per_second, 300.0);
  EXPECT_DOUBLE_EQ(*now.seconds_per_step, 1.5);
  EXPECT_DOUBLE_EQ(*now.eta_seconds, 4.5);
}

TEST(RunProgress, IgnoresRowsItCannotRead) {
  RunProgress progress(4);
  progress.add(nlohmann::json::array({1, 2}));
  progress.add(nlohmann::json());  // a line that did not parse
  progress.add({{"phase", 3}});
  progress.add({{"phase", "rl"}, {"step", "three"}});
  const ProgressSnapshot now = progress.snapshot(0, 0);
  EXPECT_EQ(now.step, 0);
  EXPECT_FALSE(now.reward_mean.has_value());
}

TEST(RunProgress, EtaIsZeroOnceEveryStepIsDone) {
  RunProgress progress(2);
  progress.add(rl_row(1, 2.0, 100, 2.0));
  progress.add(rl_row(2, 2.0, 200, 4.0));
  EXPECT_DOUBLE_EQ(*progress.snapshot(0, 0).eta_seconds, 0.0);
}

} // namespace
} // namespace caravan::apps
