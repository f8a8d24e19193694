// The run config split into the components' options (apps/component_options.h): each struct
// carries the keys it documents, read from a file that sets every one to a non-default value.
#include "apps/component_options.h"

#include <gtest/gtest.h>

#include "apps/run_config_reader.h"

namespace caravan::apps {
namespace {

constexpr const char* kConfig = R"(
[run]
name = "t"
seed = 77
threads_per_process = 6
[task]
kind = "arithmetic"
[model]
num_layers = 2
[sft]
steps = 5
batch_size = 3
[dpo]
beta = 0.5
[grpo]
steps = 9
prompts_per_step = 4
group_size = 3
checkpoint_every = 2
kl_coef = 0.5
[rollout]
actors = 3
temperature = 0.7
max_new_tokens = 12
[verifier]
workers = 2
[pipeline]
mode = "async"
[deadlines]
rollout_s = 11
[supervision]
max_restarts = 7
[cluster]
heartbeat_interval_s = 1
)";

RunConfig config() {
  Result<RunConfig> parsed = parse_run_config(kConfig, "test.toml");
  EXPECT_TRUE(parsed.ok()) << parsed.status().to_string();
  return parsed.value();
}

TEST(ComponentOptionsTest, ControllerTakesTheKeysItDrivesTheRunBy) {
  const controller::ControllerOptions c = controller_options(config());
  EXPECT_EQ(c.run.seed, 77u);
  EXPECT_EQ(c.sft_steps, 5);
  EXPECT_EQ(c.grpo.steps, 9);
  EXPECT_EQ(c.grpo.prompts_per_step, 4);
  EXPECT_EQ(c.grpo.group_size, 3);
  EXPECT_EQ(c.grpo.checkpoint_every, 2);
  EXPECT_EQ(c.rollout.actors, 3);
  EXPECT_EQ(c.rollout.temperature, 0.7);
  EXPECT_EQ(c.verifier_workers, 2);
  EXPECT_EQ(c.pipeline.mode, "async");
  EXPECT_EQ(c.deadlines.rollout_s, 11);
  EXPECT_EQ(c.supervision.max_restarts, 7);
  EXPECT_EQ(c.cluster.heartbeat_interval_s, 1);
}

TEST(ComponentOptionsTest, ControllerDefaultsAreTheRunConfigs) {
  const RunConfig defaults;
  const controller::ControllerOptions c;
  EXPECT_EQ(c.sft_steps, defaults.sft.steps);
  EXPECT_EQ(c.grpo.steps, defaults.grpo.steps);
  EXPECT_EQ(c.grpo.prompts_per_step, defaults.grpo.prompts_per_step);
  EXPECT_EQ(c.grpo.group_size, defaults.grpo.group_size);
  EXPECT_EQ(c.grpo.checkpoint_every, defaults.grpo.checkpoint_every);
  EXPECT_EQ(c.verifier_workers, defaults.verifier.workers);
}

TEST(ComponentOptionsTest, LearnerTakesItsTrainersOptionsAndTheRolloutSampling) {
  const learner::LearnerOptions l = learner_options(config());
  EXPECT_EQ(l.seed, 77u);
  EXPECT_EQ(l.task_kind, "arithmetic");
  EXPECT_EQ(l.sft.batch_size, 3);
  EXPECT_EQ(l.grpo.steps, 9);
  EXPECT_EQ(l.grpo.kl.coef, 0.5);
  EXPECT_EQ(l.rollout.temperature, 0.7);
  EXPECT_EQ(l.rollout.max_new_tokens, 12);
  const learner::RolloutSampling defaults;
  EXPECT_EQ(defaults.temperature, RunConfig{}.rollout.temperature);
  EXPECT_EQ(defaults.max_new_tokens, RunConfig{}.rollout.max_new_tokens);
}

TEST(ComponentOptionsTest, StagesTakeRunTaskModelAndTheirOwnSections) {
  const learner::StageOptions s = stage_options(config());
  EXPECT_EQ(s.run.seed, 77u);
  EXPECT_EQ(s.run.threads_per_process, 6);
  EXPECT_EQ(s.task.kind, "arithmetic");
  EXPECT_EQ(s.model.inline_config.num_layers, 2);
  EXPECT_EQ(s.sft.steps, 5);
  EXPECT_EQ(s.dpo.beta, 0.5);
}

TEST(ComponentOptionsTest, ComputeSharingFollowsThePipelineMode) {
  RunConfig c = config();
  EXPECT_EQ(compute_sharing(c).threads_per_process, 6);
  EXPECT_EQ(compute_sharing(c).rollout_actors, 3);
  EXPECT_TRUE(compute_sharing(c).overlapping);
  c.pipeline.mode = "sync";
  EXPECT_FALSE(compute_sharing(c).overlapping);
}

}  // namespace
}  // namespace caravan::apps
