// Exact resume of data-parallel learners (issue 20, points 8 and 9): the ranks gather their
// ZeRO-1 optimizer shards and RNG states to rank 0, which writes the single-learner checkpoint;
// fresh ranks restore it and continue bit for bit as if never stopped (CPU, one LibTorch thread,
// Gloo over loopback); the same checkpoint restores into another number of ranks; and a
// checkpoint whose optimizer state does not fit the model is refused naming the file.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <torch/serialize.h>

#include <sstream>

#include "core/atomic_file.h"
#include "tests/common/temp_dir.h"
#include "tests/learner/checkpointed_learner.h"
#include "tests/weights_sync/loopback_group.h"

namespace caravan::learner {
namespace {

using testing::CheckpointedLearner;
using testing::StepRecord;
using testing::train_steps;
using wsync::testing::loopback_options;
using wsync::testing::run_ranks;
using wsync::testing::serve_loopback_store;

constexpr int kSteps = 4;
constexpr uint64_t kSeed = 1;
// Other initial weights: everything of a restored learner must come from the checkpoint.
constexpr uint64_t kOtherSeed = 9;

// What one learner (a single one, or rank 0 of several) did.
struct Outcome {
  Status status;
  std::vector<StepRecord> records;
  std::vector<at::Tensor> weights;
  // With a value model (PPO): its weights.
  std::vector<at::Tensor> value_weights;
};

// The learner's part of a checkpoint at the end of step `step`: gathered over its ranks, written
// by rank 0 (or by the single learner).
Status checkpoint(CheckpointedLearner& learner, int step, const std::filesystem::path& dir) {
  std::optional<GatheredRanks> gathered;
  if (learner.data_parallel != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(gathered, gather_ranks_state(*learner.data_parallel, learner.policy, learner.trainer.get()));
    if (!gathered) return Status();  // rank 0 writes
  }
  return write_checkpoint(dir,
                          {.step = step, .policy_version = static_cast<uint64_t>(step), .rl_started = true},
                          learner.policy, learner.policy->config(), {}, learner.trainer.get(),
                          gathered ? &*gathered : nullptr);
}

double max_abs_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference = std::max(difference, (a[i] - b[i]).abs().max().item<double>());
  return difference;
}

// One phase of a run, on `ranks` learners (Gloo ranks for ranks > 1) of `seed`: optionally restored
// from `restore_from`, then trained on steps [first, last), then optionally checkpointed into
// `checkpoint_to`. With `ppo`, PPO (GAE and a value model) with two mini-batches per step.
// Returns rank 0's outcome.
Outcome run_phase(int ranks, uint64_t seed, const std::filesystem::path* restore_from, int first, int last,
                  const std::filesystem::path* checkpoint_to, bool ppo = false) {
  std::vector<Outcome> outcomes(static_cast<size_t>(ranks));
  // Built here, one after the other: a model's random initialisation seeds and draws from the
  // process-wide generator, which the rank threads would otherwise race for.
  std::vector<std::unique_ptr<CheckpointedLearner>> learners;
  for (int rank = 0; rank < ranks; ++rank) {
    learners.push_back(std::make_unique<CheckpointedLearner>(seed, ppo));
    if (ppo) learners.back()->mini_batches = 2;
  }
  const auto body = [&](int rank, DataParallel* data_parallel) {
    Outcome& outcome = outcomes[static_cast<size_t>(rank)];
    CheckpointedLearner& learner = *learners[static_cast<size_t>(rank)];
    learner.data_parallel = data_parallel;
    outcome.status = [&]() -> Status {
      if (restore_from != nullptr) CARAVAN_RETURN_IF_ERROR(learner.restore(*restore_from));
      CARAVAN_RETURN_IF_ERROR(train_steps(learner, first, last, outcome.records));
      if (checkpoint_to != nullptr) CARAVAN_RETURN_IF_ERROR(checkpoint(learner, last, *checkpoint_to));
      return Status();
    }();
    outcome.weights = testing::snapshot(*learner.policy);
    if (learner.trainer != nullptr && learner.trainer->value_trainer() != nullptr) {
      for (const at::Tensor& p : learner.trainer->value_trainer()->model()->parameters()) {
        outcome.value_weights.push_back(p.detach().clone());
      }
    }
  };
  if (ranks == 1) {
    body(0, nullptr);
  } else {
    const std::shared_ptr<wsync::RendezvousStore> served = serve_loopback_store();
    run_ranks(ranks, [&](int rank) {
      auto communicator = wsync::make_communicator("gloo", loopback_options(rank, ranks, served));
      if (!communicator.ok()) {
        outcomes[static_cast<size_t>(rank)].status = communicator.status();
        return;
      }
      DataParallel data_parallel(std::move(*communicator));
      body(rank, &data_parallel);
    });
  }
  for (const Outcome& outcome : outcomes) EXPECT_TRUE(outcome.status.ok()) << outcome.status.to_string();
  // Data-parallel ranks hold the same weights after every update.
  for (const Outcome& outcome : outcomes) {
    EXPECT_EQ(max_abs_difference(outcome.weights, outcomes[0].weights), 0.0);
    EXPECT_EQ(max_abs_difference(outcome.value_weights, outcomes[0].value_weights), 0.0);
  }
  return std::move(outcomes[0]);
}

class DataParallelResumeTest : public ::testing::Test {
 protected:
  DataParallelResumeTest() {
    at::set_num_threads(1);
    std::filesystem::create_directories(dir_);
  }
  caravan::testing::TempDir root_;
  std::filesystem::path dir_ = root_.path() / "step-000002";
};

// N steps of two ranks straight against N/2, a checkpoint, two fresh ranks restored from it, and
// N/2 more: the same losses, terms and weights, bit for bit. Also for PPO: GAE whitened over both
// ranks' shares, two mini-batches per step, and the value model, whose weights, ZeRO-1 AdamW
// shards (gathered into value_optimizer.pt) and warm-up resume exactly on every rank.
TEST_F(DataParallelResumeTest, TwoRanksResumeBitForBit) {
  for (const bool ppo : {false, true}) {
    SCOPED_TRACE(ppo ? "ppo" : "grpo");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const Outcome straight = run_phase(2, kSeed, nullptr, 0, kSteps, nullptr, ppo);
    Outcome resumed = run_phase(2, kSeed, nullptr, 0, kSteps / 2, &dir_, ppo);
    const Outcome second_half = run_phase(2, kOtherSeed, &dir_, kSteps / 2, kSteps, nullptr, ppo);
    resumed.records.insert(resumed.records.end(), second_half.records.begin(), second_half.records.end());

    ASSERT_EQ(straight.records.size(), static_cast<size_t>(kSteps));
    ASSERT_EQ(resumed.records.size(), straight.records.size());
    for (size_t step = 0; step < straight.records.size(); ++step) {
      EXPECT_EQ(resumed.records[step], straight.records[step]) << "step " << step;
    }
    EXPECT_NE(straight.records.front().terms, straight.records.back().terms);
    EXPECT_EQ(max_abs_difference(second_half.weights, straight.weights), 0.0);
    // The value model's terms are reported and its weights resumed (none without PPO).
    EXPECT_EQ(straight.records.back().terms.back().first == "explained_variance", ppo);
    EXPECT_EQ(straight.value_weights.empty(), !ppo);
    EXPECT_EQ(max_abs_difference(second_half.value_weights, straight.value_weights), 0.0);
  }
}

// The control of the test above: fresh ranks that restore only the weights (new optimizer
// shards, schedule and KL controller) depart at their first step.
TEST_F(DataParallelResumeTest, TwoRanksFromTheWeightsAloneDepart) {
  const Outcome straight = run_phase(2, kSeed, nullptr, 0, kSteps, nullptr);
  const Outcome first_half = run_phase(2, kSeed, nullptr, 0, kSteps / 2, &dir_);
  // A checkpoint that was never RL's: the weights alone.
  CheckpointedLearner writer(kSeed);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  for (size_t i = 0; i < first_half.weights.size(); ++i) {
    writer.policy->parameters()[i].detach().copy_(first_half.weights[i]);
  }
  ASSERT_TRUE(write_checkpoint(dir_, {.step = kSteps / 2}, writer.policy, writer.policy->config(), {}, nullptr).ok());
  const Outcome weights_only = run_phase(2, kOtherSeed, &dir_, kSteps / 2, kSteps, nullptr);
  ASSERT_EQ(weights_only.records.size(), static_cast<size_t>(kSteps / 2));
  for (size_t step = 0; step < weights_only.records.size(); ++step) {
    EXPECT_NE(weights_only.records[step], straight.records[kSteps / 2 + step]) << "step " << step;
  }
}

// The checkpoint is the single learner's format: two ranks' checkpoint continues on one learner,
// and one learner's on two ranks, equal to the uninterrupted run within float32 rounding (the
// ranks sum their gradients in another order).
TEST_F(DataParallelResumeTest, ACheckpointRestoresIntoAnotherNumberOfRanks) {
  for (const auto& [written_by, restored_into] : {std::pair{2, 1}, std::pair{1, 2}}) {
    SCOPED_TRACE(::testing::Message() << written_by << " rank(s) into " << restored_into);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const Outcome straight = run_phase(written_by, kSeed, nullptr, 0, kSteps, nullptr);
    run_phase(written_by, kSeed, nullptr, 0, kSteps / 2, &dir_);
    const Outcome continued = run_phase(restored_into, kOtherSeed, &dir_, kSteps / 2, kSteps, nullptr);
    ASSERT_EQ(continued.records.size(), static_cast<size_t>(kSteps / 2));
    for (size_t step = 0; step < continued.records.size(); ++step) {
      const StepRecord& expected = straight.records[kSteps / 2 + step];
      EXPECT_NEAR(continued.records[step].loss, expected.loss, 1e-5) << "step " << step;
      EXPECT_NEAR(continued.records[step].kl_mean, expected.kl_mean, 1e-6) << "step " << step;
      EXPECT_NEAR(continued.records[step].grad_norm, expected.grad_norm, 1e-4 * expected.grad_norm) << "step " << step;
    }
    // As in data_parallel_test's comparison of 2 ranks with 1: Adam's g / sqrt(v) magnifies the
    // rounding where a gradient element is near zero.
    EXPECT_LT(max_abs_difference(continued.weights, straight.weights), 1e-3);
  }
}

// Optimizer files that do not fit the model are refused naming the file and the parameter: the
// state of another model's shapes, and a state with some parameters' moments missing (a rank's
// shard lost); a missing file is kNotFound naming it.
TEST_F(DataParallelResumeTest, AnOptimizerFileThatDoesNotFitIsRefusedNamingIt) {
  run_phase(1, kSeed, nullptr, 0, 1, &dir_);
  const std::filesystem::path optimizer_file = dir_ / "optimizer.pt";
  // AdamW state written over `tensors` (one step on gradients of ones for those in `stepped`).
  const auto write_optimizer_of = [&](std::vector<at::Tensor> tensors, size_t stepped) {
    torch::optim::AdamW optimizer(tensors, torch::optim::AdamWOptions(1e-2));
    for (size_t i = 0; i < stepped; ++i) tensors[i].mutable_grad() = at::ones_like(tensors[i]);
    optimizer.step();
    std::ostringstream bytes;
    torch::save(optimizer, bytes);
    ASSERT_TRUE(core::write_file_atomically(optimizer_file, bytes.str()).ok());
  };
  CheckpointedLearner model(kSeed);
  const std::vector<at::Tensor> parameters = model.policy->parameters();
  const std::string first_name = model.policy->named_parameters().begin()->key();
  struct Case {
    std::string name;
    std::vector<at::Tensor> tensors;
    size_t stepped;
    StatusCode code;
    std::string expected;
  };
  std::vector<at::Tensor> reshaped;
  std::vector<at::Tensor> same_shapes;
  for (const at::Tensor& p : parameters) {
    reshaped.push_back(at::zeros({p.numel() + 1}).requires_grad_());
    same_shapes.push_back(at::zeros_like(p).requires_grad_());
  }
  const Case cases[] = {
      {"another model's shapes", reshaped, reshaped.size(), StatusCode::kInvalidArgument,
       str_cat("the AdamW state of parameter '", first_name, "' has shape")},
      {"a shard missing", same_shapes, same_shapes.size() / 2, StatusCode::kInvalidArgument,
       "has no AdamW state while"},
      {"no optimizer file", {}, 0, StatusCode::kNotFound, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    if (c.tensors.empty()) {
      std::filesystem::remove(optimizer_file);
    } else {
      write_optimizer_of(c.tensors, c.stepped);
    }
    CheckpointedLearner restored(kOtherSeed);
    const Result<CheckpointContents> contents = restored.restore(dir_);
    ASSERT_FALSE(contents.ok());
    EXPECT_EQ(contents.status().code(), c.code) << contents.status().to_string();
    EXPECT_NE(contents.status().message().find(optimizer_file.string()), std::string::npos)
        << contents.status().to_string();
    EXPECT_NE(contents.status().message().find(c.expected), std::string::npos) << contents.status().to_string();
  }
}

}  // namespace
}  // namespace caravan::learner
