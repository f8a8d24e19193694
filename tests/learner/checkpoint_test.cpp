#include "learner/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <fstream>

#include "core/atomic_file.h"
#include "model/checkpoint_io.h"
#include "tests/common/temp_dir.h"
#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class CheckpointTest : public ::testing::Test {
 protected:
  CheckpointTest() : run_dir_(core::RunDirectory::create(dir_.path() / "run", "[run]\n").value()) {}
  caravan::testing::TempDir dir_;
  core::RunDirectory run_dir_;
  model::Llama policy_ = testing::tiny_llama(/*seed=*/1);
};

TEST_F(CheckpointTest, PublishesModelOptimizerAndStates) {
  torch::optim::AdamW optimizer(policy_->parameters(), torch::optim::AdamWOptions(1e-3));
  CheckpointContents contents{.step = 3, .policy_version = 5, .controller_state = "{\"dataset_cursor\": 96}"};
  auto dir = write_checkpoint(run_dir_, contents, policy_, policy_->config(), {}, &optimizer);
  ASSERT_TRUE(dir.ok()) << dir.status().to_string();
  EXPECT_EQ(*dir, run_dir_.checkpoint_dir(int64_t{3}));
  EXPECT_TRUE(std::filesystem::exists(*dir / "optimizer.pt"));
  EXPECT_EQ(read(*dir / "controller_state.json"), "{\"dataset_cursor\": 96}");
  const auto trainer_state = nlohmann::json::parse(read(*dir / "trainer_state.json"));
  EXPECT_EQ(trainer_state["step"], 3);
  EXPECT_EQ(trainer_state["policy_version"], 5);

  model::Llama reloaded = testing::tiny_llama(/*seed=*/2);
  ASSERT_TRUE(model::load_model_weights(*dir, reloaded).ok());
  EXPECT_TRUE(testing::same_weights(*reloaded, testing::snapshot(*policy_)));
  // Nothing but the published directory is left behind.
  for (const auto& entry : std::filesystem::directory_iterator(run_dir_.checkpoints_dir())) {
    EXPECT_EQ(entry.path().filename(), "step-000003");
  }
}

TEST_F(CheckpointTest, ExistingCheckpointIsNeverOverwritten) {
  ASSERT_TRUE(write_checkpoint(run_dir_, {.step = 1, .policy_version = 1, .controller_state = "a"}, policy_,
                               policy_->config(), {}, nullptr)
                  .ok());
  auto again = write_checkpoint(run_dir_, {.step = 1, .policy_version = 2, .controller_state = "b"}, policy_,
                                policy_->config(), {}, nullptr);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(read(run_dir_.checkpoint_dir(int64_t{1}) / "controller_state.json"), "a");
}

}  // namespace
} // namespace caravan::learner
