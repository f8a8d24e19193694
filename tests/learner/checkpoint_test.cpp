#include "learner/checkpoint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/read_file.h"
#include "model/checkpoint_io.h"
#include "tests/common/temp_dir.h"
#include "tests/learner/checkpointed_learner.h"

namespace caravan::learner {
namespace {

using Learner = testing::CheckpointedLearner;

class CheckpointTest : public ::testing::Test {
 protected:
  CheckpointTest() { std::filesystem::create_directories(dir_); }
  Status save(Learner& learner, const CheckpointContents& contents, const model::SaveModelOptions& options = {}) {
    return write_checkpoint(dir_, contents, learner.policy, learner.policy->config(), options, learner.trainer.get());
  }
  caravan::testing::TempDir root_;
  std::filesystem::path dir_ = root_.path() / "step-000003";
};

TEST_F(CheckpointTest, WritesAModelDirectoryAndTheLearnersState) {
  Learner learner(/*seed=*/1);
  ASSERT_TRUE(learner.train_step().ok());
  const CheckpointContents contents{.step = 3, .policy_version = 5, .sft_cursor = 64, .rl_started = true};
  ASSERT_TRUE(save(learner, contents).ok());
  for (const char* file : {"config.json", "model.safetensors", "reference.safetensors", "optimizer.pt",
                           "rng_state.safetensors", "learner_state.json"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / file)) << file;
  }
  // float32 weights in a float32 model directory: no second copy of the policy.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "policy.safetensors"));
  const auto state = nlohmann::json::parse(core::read_file(dir_ / "learner_state.json", "state").value());
  // One step on a policy equal to its reference measured KL 0, below the target 1e-4: the
  // controller lowered the coefficient by the full 20% x 8 samples / horizon 10000.
  const GrpoTrainerState trainer_state = learner.trainer->state();
  EXPECT_EQ(trainer_state.steps_done, 1);
  EXPECT_DOUBLE_EQ(trainer_state.kl_coef, 0.01 * (1 - 0.2 * 8 / 10000.0));
  EXPECT_EQ(state, nlohmann::json({{"step", 3},
                                   {"policy_version", 5},
                                   {"sft_cursor", 64},
                                   {"rl_started", true},
                                   {"trainer", {{"steps_done", 1}, {"kl_coef", trainer_state.kl_coef}}}}));
  // The top level is a model directory of the policy as it is.
  model::Llama reloaded = testing::tiny_llama(/*seed=*/2);
  ASSERT_TRUE(model::load_model_weights(dir_, reloaded).ok());
  EXPECT_TRUE(testing::same_weights(*reloaded, testing::snapshot(*learner.policy)));
}

// Without a KL penalty the trainer keeps no reference model: the checkpoint has none, restores
// into another such learner exactly, and a learner with a KL penalty refuses it, naming the file.
TEST_F(CheckpointTest, ARunWithoutKlPenaltyCheckpointsNoReference) {
  Learner original(/*seed=*/1);
  original.kl_coef = 0;
  ASSERT_TRUE(original.train_step().ok());
  ASSERT_EQ(original.trainer->reference(), nullptr);
  ASSERT_TRUE(save(original, {.step = 1, .policy_version = 1, .sft_cursor = 0, .rl_started = true}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "reference.safetensors"));

  Learner restored(/*seed=*/9);
  restored.kl_coef = 0;
  const Result<CheckpointContents> contents = restored.restore(dir_);
  ASSERT_TRUE(contents.ok()) << contents.status().to_string();
  ASSERT_TRUE(original.train_step().ok());
  ASSERT_TRUE(restored.train_step().ok());
  EXPECT_TRUE(testing::same_weights(*restored.policy, testing::snapshot(*original.policy)));

  Learner with_kl(/*seed=*/9);
  const Result<CheckpointContents> refused = with_kl.restore(dir_);
  ASSERT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("reference.safetensors: missing"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("kl_coef = 0"), std::string::npos) << refused.status().message();
}

// The acceptance check of exact resume: a fresh learner restored from the checkpoint makes the
// same next step as the one that wrote it, bit for bit. After two steps the policy is away from
// the reference and AdamW has moments and a step count, so losing any of them shows.
TEST_F(CheckpointTest, ARestoredLearnerTakesTheBitIdenticalNextStep) {
  Learner original(/*seed=*/1);
  ASSERT_TRUE(original.train_step().ok());
  ASSERT_TRUE(original.train_step().ok());
  at::rand({3});  // the generator is somewhere in its stream
  ASSERT_TRUE(save(original, {.step = 2, .policy_version = 3, .sft_cursor = 32, .rl_started = true}).ok());
  const GrpoTrainerState original_state = original.trainer->state();
  const at::Tensor drawn_after_save = at::rand({8});
  ASSERT_TRUE(original.train_step().ok());

  Learner restored(/*seed=*/9);
  auto contents = restored.restore(dir_);
  ASSERT_TRUE(contents.ok()) << contents.status().to_string();
  EXPECT_EQ(contents->step, 2);
  EXPECT_EQ(contents->policy_version, 3u);
  EXPECT_EQ(contents->sft_cursor, 32u);
  EXPECT_TRUE(contents->rl_started);
  ASSERT_NE(restored.trainer, nullptr);
  EXPECT_EQ(restored.trainer->state().steps_done, 2);
  EXPECT_EQ(restored.trainer->state().kl_coef, original_state.kl_coef);
  EXPECT_TRUE(at::equal(at::rand({8}), drawn_after_save));
  EXPECT_FALSE(testing::same_weights(**restored.trainer->reference(), testing::snapshot(*restored.policy)));
  ASSERT_TRUE(restored.train_step().ok());

  EXPECT_TRUE(testing::same_weights(*restored.policy, testing::snapshot(*original.policy)));
  EXPECT_TRUE(testing::same_weights(**restored.trainer->reference(), testing::snapshot(**original.trainer->reference())));
}

// With PPO the value model's weights, its AdamW moments and its warm-up position are restored too:
// the next step (policy and value model) is bit-identical, and the value loss it reports equal.
TEST_F(CheckpointTest, ARestoredPpoLearnerTakesTheBitIdenticalNextStep) {
  Learner original(/*seed=*/1, /*ppo=*/true);
  ASSERT_TRUE(original.train_step().ok());
  ASSERT_TRUE(original.train_step().ok());
  ASSERT_TRUE(save(original, {.step = 2, .policy_version = 3, .sft_cursor = 32, .rl_started = true}).ok());
  for (const char* file : {"value_model.safetensors", "value_optimizer.pt"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / file)) << file;
  }
  const auto state = nlohmann::json::parse(core::read_file(dir_ / "learner_state.json", "state").value());
  EXPECT_EQ(state["value_model"], nlohmann::json({{"steps_done", 2}}));
  Result<GrpoStepStats> original_next = original.trainer->step(testing::rewarded_groups(*original.policy), 0);
  ASSERT_TRUE(original_next.ok());

  Learner restored(/*seed=*/9, /*ppo=*/true);
  auto contents = restored.restore(dir_);
  ASSERT_TRUE(contents.ok()) << contents.status().to_string();
  ASSERT_NE(restored.trainer->value_trainer(), nullptr);
  EXPECT_EQ(restored.trainer->value_trainer()->steps_done(), 2);
  Result<GrpoStepStats> restored_next = restored.trainer->step(testing::rewarded_groups(*restored.policy), 0);
  ASSERT_TRUE(restored_next.ok());

  EXPECT_EQ(restored_next->terms, original_next->terms);
  EXPECT_TRUE(testing::same_weights(*restored.policy, testing::snapshot(*original.policy)));
  const auto expected = original.trainer->value_trainer()->model()->named_parameters();
  for (const auto& item : restored.trainer->value_trainer()->model()->named_parameters()) {
    EXPECT_TRUE(at::equal(item.value(), expected[item.key()])) << item.key();
  }

  // A PPO learner cannot resume from a checkpoint without a value model.
  Learner grpo(/*seed=*/1);
  ASSERT_TRUE(grpo.train_step().ok());
  ASSERT_TRUE(save(grpo, {.step = 1, .rl_started = true}).ok());
  std::filesystem::remove(dir_ / "value_model.safetensors");
  const Status status = restored.restore(dir_).status();
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("value_model.safetensors"), std::string::npos) << status.message();
}

// Before the first TrainBatch there is no reference and no optimizer; a restore into a learner
// that had already started RL drops its trainer, so the next TrainBatch freezes a new reference.
TEST_F(CheckpointTest, ACheckpointBeforeRlRestoresWithoutATrainer) {
  Learner original(/*seed=*/1);
  ASSERT_TRUE(save(original, {.step = 0, .policy_version = 1, .sft_cursor = 16, .rl_started = false}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "optimizer.pt"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "reference.safetensors"));

  Learner restored(/*seed=*/9);
  ASSERT_TRUE(restored.train_step().ok());
  auto contents = restored.restore(dir_);
  ASSERT_TRUE(contents.ok()) << contents.status().to_string();
  EXPECT_FALSE(contents->rl_started);
  EXPECT_EQ(restored.trainer, nullptr);
  EXPECT_TRUE(testing::same_weights(*restored.policy, testing::snapshot(*original.policy)));
}

// A bfloat16 model directory would round float32 weights: the exact ones are kept beside it.
TEST_F(CheckpointTest, ANarrowerCheckpointDtypeStillRestoresExactWeights) {
  Learner original(/*seed=*/1);
  model::SaveModelOptions bfloat16;
  bfloat16.dtype = at::kBFloat16;
  ASSERT_TRUE(save(original, {.step = 1}, bfloat16).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "policy.safetensors"));
  Learner restored(/*seed=*/9);
  ASSERT_TRUE(restored.restore(dir_).ok());
  EXPECT_TRUE(testing::same_weights(*restored.policy, testing::snapshot(*original.policy)));
}

TEST_F(CheckpointTest, ErrorsNameTheFileAtFault) {
  Learner original(/*seed=*/1);
  ASSERT_TRUE(original.train_step().ok());
  ASSERT_TRUE(save(original, {.step = 1, .rl_started = true}).ok());

  std::filesystem::remove(dir_ / "optimizer.pt");
  Learner restored(/*seed=*/9);
  Status status = restored.restore(dir_).status();
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("optimizer.pt"), std::string::npos) << status.message();

  ASSERT_TRUE(core::write_file_atomically(dir_ / "optimizer.pt", "not an optimizer").ok());
  status = restored.restore(dir_).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("optimizer.pt"), std::string::npos) << status.message();

  ASSERT_TRUE(core::write_file_atomically(dir_ / "learner_state.json",
                                          R"({"step": 1, "policy_version": -2, "sft_cursor": 0, "rl_started": true})")
                  .ok());
  status = restored.restore(dir_).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("learner_state.json: key 'policy_version'"), std::string::npos) << status.message();

  ASSERT_TRUE(save(original, {.step = 1, .rl_started = true}).ok());
  ASSERT_TRUE(core::write_file_atomically(dir_ / "learner_state.json",
                                          R"({"step": 1, "policy_version": 2, "sft_cursor": 0, "rl_started": true,
                                              "trainer": {"steps_done": 1, "kl_coef": -1}})")
                  .ok());
  status = restored.restore(dir_).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("learner_state.json: key 'trainer.kl_coef'"), std::string::npos) << status.message();
}

TEST_F(CheckpointTest, WritingIntoAMissingDirectoryIsNotFound) {
  Learner learner(/*seed=*/1);
  std::filesystem::remove_all(dir_);
  EXPECT_EQ(save(learner, {.step = 1}).code(), StatusCode::kNotFound);
}

}  // namespace
} // namespace caravan::learner
