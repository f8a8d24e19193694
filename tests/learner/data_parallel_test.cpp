#include "learner/data_parallel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <torch/optim/adamw.h>

#include "learner/grpo_trainer.h"
#include "tests/learner/trainer_test_util.h"
#include "tests/weights_sync/loopback_group.h"

namespace caravan::learner {
namespace {

using wsync::testing::loopback_options;
using wsync::testing::run_ranks;
using wsync::testing::serve_loopback_store;

// Four prompts of four samples with varied rewards and lengths; logprobs from `policy`.
std::vector<RolloutGroup> four_groups(model::LlamaImpl& policy) {
  const std::vector<std::vector<int32_t>> prompts = {{10, 11, 12}, {20, 21}, {30, 31, 32, 33}, {40}};
  const std::vector<std::vector<int32_t>> completions = {{50, 51}, {60, 61, 62}, {70}, {80, 81, 82, 83}};
  std::vector<RolloutGroup> groups;
  for (size_t g = 0; g < prompts.size(); ++g) {
    RolloutGroup group{.prompt_id = 100 + g, .prompt_tokens = prompts[g]};
    for (size_t s = 0; s < completions.size(); ++s) {
      const std::vector<int32_t>& completion = completions[(s + g) % completions.size()];
      group.samples.push_back(
          {.tokens = completion,
           .logprobs = testing::completion_logprobs(policy, prompts[g], completion, testing::kTemperature),
           .reward = static_cast<float>((s * 7 + g * 3) % 5) / 4.0f});
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

// Elements of AdamW state (first and second moments) the optimizer holds.
int64_t state_elements(torch::optim::AdamW& optimizer) {
  int64_t elements = 0;
  for (const auto& [key, state] : optimizer.state()) {
    const auto& adamw = static_cast<const torch::optim::AdamWParamState&>(*state);
    elements += adamw.exp_avg().numel() + adamw.exp_avg_sq().numel();
  }
  return elements;
}

struct RankResult {
  Status status;
  // The (clipped) gradient of the first update, as the optimizer saw it.
  std::vector<at::Tensor> gradients;
  std::vector<at::Tensor> weights;
  int64_t state_elements = 0;
  std::vector<double> losses;
};

// `steps` updates of one learner on all of `groups` (ranks == 1) or of `ranks` Gloo ranks on
// their shares, every one starting from tiny_llama(0).
std::vector<RankResult> train(int ranks, const learner::GrpoOptions& options, const std::vector<RolloutGroup>& groups,
                              int steps) {
  std::vector<model::Llama> policies;
  for (int r = 0; r < ranks; ++r) policies.push_back(testing::tiny_llama(/*seed=*/0));
  std::vector<RankResult> results(static_cast<size_t>(ranks));
  auto run_rank = [&](int rank, DataParallel* data_parallel) {
    RankResult& result = results[static_cast<size_t>(rank)];
    model::Llama policy = policies[static_cast<size_t>(rank)];
    GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0, /*value_trainer=*/nullptr,
                        data_parallel);
    std::vector<RolloutGroup> share = groups;
    if (data_parallel != nullptr) {
      const auto [begin, end] = data_parallel->share(groups.size());
      share.assign(groups.begin() + static_cast<ptrdiff_t>(begin), groups.begin() + static_cast<ptrdiff_t>(end));
    }
    for (int step = 0; step < steps; ++step) {
      Result<GrpoStepStats> stats = trainer.step(share, /*policy_version=*/0);
      if (!stats.ok()) {
        result.status = stats.status();
        return;
      }
      result.losses.push_back(stats->loss);
      if (step == 0) {
        for (const at::Tensor& p : policy->parameters()) result.gradients.push_back(p.grad().detach().clone());
      }
    }
    result.weights = testing::snapshot(*policy);
    result.state_elements = state_elements(trainer.optimizer());
  };
  if (ranks == 1) {
    run_rank(0, nullptr);
    return results;
  }
  const std::shared_ptr<wsync::RendezvousStore> served = serve_loopback_store();
  run_ranks(ranks, [&](int rank) {
    auto communicator = wsync::make_communicator("gloo", loopback_options(rank, ranks, served));
    if (!communicator.ok()) {
      results[static_cast<size_t>(rank)].status = communicator.status();
      return;
    }
    DataParallel data_parallel(std::move(*communicator));
    run_rank(rank, &data_parallel);
  });
  return results;
}

double max_abs_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference = std::max(difference, (a[i] - b[i]).abs().max().item<double>());
  return difference;
}

TEST(DataParallel, ShareSplitsWholeGroupsInRankOrder) {
  const std::shared_ptr<wsync::RendezvousStore> served = serve_loopback_store();
  std::vector<std::vector<std::pair<size_t, size_t>>> shares(3);
  run_ranks(3, [&](int rank) {
    auto communicator = wsync::make_communicator("gloo", loopback_options(rank, 3, served));
    ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
    const DataParallel data_parallel(std::move(*communicator));
    for (size_t count : {0, 2, 7}) shares[static_cast<size_t>(rank)].push_back(data_parallel.share(count));
  });
  using Share = std::pair<size_t, size_t>;
  EXPECT_EQ(shares[0], (std::vector<Share>{{0, 0}, {0, 1}, {0, 3}}));
  EXPECT_EQ(shares[1], (std::vector<Share>{{0, 0}, {1, 2}, {3, 5}}));
  EXPECT_EQ(shares[2], (std::vector<Share>{{0, 0}, {2, 2}, {5, 7}}));
}

// The acceptance check of data parallelism: two Gloo ranks with two groups each make the same
// two updates as one learner with all four groups, for each loss aggregation (each has its own
// global denominator) and with a rank whose whole share is unjudged.
TEST(DataParallel, TwoRanksMatchOneLearnerOnTheDoubledBatch) {
  model::Llama sampler = testing::tiny_llama(/*seed=*/0);
  const std::vector<RolloutGroup> groups = four_groups(*sampler);
  std::vector<RolloutGroup> second_half_unjudged = groups;
  for (size_t g = 2; g < 4; ++g) {
    for (RolloutSample& sample : second_half_unjudged[g].samples) sample.judged = false;
  }
  struct Case {
    std::string name;
    learner::LossAggregation aggregation;
    learner::AdvantageEstimator estimator;
    const std::vector<RolloutGroup>* groups;
  };
  const Case cases[] = {
      {"grpo token_mean", learner::LossAggregation::kTokenMean, learner::AdvantageEstimator::kGrpo, &groups},
      {"rloo seq_mean_token_mean", learner::LossAggregation::kSequenceMeanTokenMean, learner::AdvantageEstimator::kRloo,
       &groups},
      {"dr_grpo constant", learner::LossAggregation::kConstantDenominator, learner::AdvantageEstimator::kDrGrpo, &groups},
      {"rank 1 unjudged", learner::LossAggregation::kTokenMean, learner::AdvantageEstimator::kGrpo, &second_half_unjudged},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    learner::GrpoOptions options = testing::grpo_test_options();
    options.loss.aggregation = c.aggregation;
    options.advantage.estimator = c.estimator;
    options.loss.entropy_coef = 0.01;
    options.kl.target = 0.01;  // adaptive: the controller must see the whole batch's KL on every rank
    const std::vector<RankResult> single = train(1, options, *c.groups, /*steps=*/2);
    const std::vector<RankResult> pair = train(2, options, *c.groups, /*steps=*/2);
    ASSERT_TRUE(single[0].status.ok()) << single[0].status.to_string();
    for (const RankResult& rank : pair) ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
    // The weights moved, and identically on both ranks.
    EXPECT_GT(max_abs_difference(single[0].weights, testing::snapshot(*testing::tiny_llama(0))), 1e-3);
    EXPECT_EQ(max_abs_difference(pair[0].weights, pair[1].weights), 0.0);
    // The summed gradient is the whole batch's within float32 rounding (relative to its largest
    // element) ...
    double largest_gradient = 0;
    for (const at::Tensor& g : single[0].gradients) largest_gradient = std::max(largest_gradient, g.abs().max().item<double>());
    const double gradient_error = max_abs_difference(pair[0].gradients, single[0].gradients) / largest_gradient;
    const double weight_error = max_abs_difference(pair[0].weights, single[0].weights);
    std::printf("%s: gradient error %.3g (relative), weight error %.3g after 2 steps\n", c.name.c_str(),
                gradient_error, weight_error);
    EXPECT_LT(gradient_error, 1e-5);
    // ... and so are the weights after two AdamW steps of lr 1e-2 each, up to the rounding that
    // Adam's g / sqrt(v) magnifies where a gradient element is near zero.
    EXPECT_LT(weight_error, 1e-3);
    for (int step = 0; step < 2; ++step) {
      EXPECT_NEAR(pair[0].losses[step], single[0].losses[step], 1e-5);
      EXPECT_EQ(pair[0].losses[step], pair[1].losses[step]);
    }
  }
}

// ZeRO-1: each of two ranks holds AdamW moments for about half of the parameters' elements
// (within the largest parameter), and together exactly what one learner holds.
TEST(DataParallel, OptimizerStatePerRankIsHalved) {
  model::Llama sampler = testing::tiny_llama(/*seed=*/0);
  const std::vector<RolloutGroup> groups = four_groups(*sampler);
  const std::vector<RankResult> single = train(1, testing::grpo_test_options(), groups, /*steps=*/1);
  const std::vector<RankResult> pair = train(2, testing::grpo_test_options(), groups, /*steps=*/1);
  ASSERT_TRUE(single[0].status.ok() && pair[0].status.ok() && pair[1].status.ok());
  int64_t largest = 0;
  for (const at::Tensor& p : single[0].weights) largest = std::max(largest, p.numel());
  const int64_t total = single[0].state_elements;
  EXPECT_EQ(pair[0].state_elements + pair[1].state_elements, total);
  for (const RankResult& rank : pair) {
    EXPECT_LE(std::abs(rank.state_elements - total / 2), 2 * largest);
    EXPECT_LT(rank.state_elements, total);
  }
}

// A rank that fails (here: leaves the group before the step) ends the other's step with an
// error within the collective timeout, not a hang; so does a rank that never arrives.
TEST(DataParallel, AFailedRankEndsTheOthersStepWithinTheTimeout) {
  for (const bool peer_stays : {false, true}) {
    SCOPED_TRACE(peer_stays ? "peer stays silent" : "peer left");
    model::Llama sampler = testing::tiny_llama(/*seed=*/0);
    const std::vector<RolloutGroup> groups = four_groups(*sampler);
    model::Llama policy = testing::tiny_llama(/*seed=*/0);
    const auto timeout = std::chrono::seconds(3);
    const std::shared_ptr<wsync::RendezvousStore> served = serve_loopback_store();
    Status status;
    double seconds = 0;
    run_ranks(2, [&](int rank) {
      auto communicator = wsync::make_communicator("gloo", loopback_options(rank, 2, served, timeout));
      ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
      DataParallel data_parallel(std::move(*communicator));
      if (rank == 1) {
        // Silent: outlive rank 0's deadline holding the group open; else leave at once.
        if (peer_stays) std::this_thread::sleep_for(timeout + std::chrono::seconds(2));
        return;
      }
      GrpoTrainer trainer(policy, testing::grpo_test_options(), testing::rollout_test_options(), /*pad_id=*/0,
                          /*value_trainer=*/nullptr, &data_parallel);
      const auto start = std::chrono::steady_clock::now();
      status = trainer.step({groups[0], groups[1]}, 0).status();
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    });
    EXPECT_FALSE(status.ok());
    EXPECT_TRUE(status.code() == StatusCode::kTimeout || status.code() == StatusCode::kUnavailable)
        << status.to_string();
    EXPECT_LT(seconds, 3.0 + 1.5) << status.to_string();
  }
}

} // namespace
} // namespace caravan::learner
