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
#include "learner/value_model.h"
#include "learner/value_trainer.h"
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

// The most AdamW steps the optimizer took on any of its parameters.
int64_t most_adamw_steps(torch::optim::AdamW& optimizer) {
  int64_t steps = 0;
  for (const auto& [key, state] : optimizer.state()) {
    steps = std::max(steps, static_cast<const torch::optim::AdamWParamState&>(*state).step());
  }
  return steps;
}

struct RankResult {
  Status status;
  // The (clipped) gradient of the first update, as the optimizer saw it.
  std::vector<at::Tensor> gradients;
  std::vector<at::Tensor> weights;
  int64_t state_elements = 0;
  std::vector<double> losses;
  // Each step's terms.
  std::vector<std::vector<std::pair<std::string, double>>> terms;
  // The policy's optimizer steps (on this rank's shard), and with a value model its.
  int64_t optimizer_steps = 0;
  int64_t value_optimizer_steps = 0;
  // With a value model: its weights after the steps, and the AdamW state elements it holds.
  std::vector<at::Tensor> value_weights;
  int64_t value_state_elements = 0;
};

// `steps` updates of one learner on all of `groups` (ranks == 1) or of `ranks` Gloo ranks on
// their shares, every one starting from tiny_llama(0); with `ppo` (options' estimator gae) each
// has a value model copied from its policy, with the policy's aggregation.
std::vector<RankResult> train(int ranks, const learner::GrpoOptions& options, const std::vector<RolloutGroup>& groups,
                              int steps, bool ppo = false) {
  std::vector<model::Llama> policies;
  for (int r = 0; r < ranks; ++r) policies.push_back(testing::tiny_llama(/*seed=*/0));
  std::vector<RankResult> results(static_cast<size_t>(ranks));
  auto run_rank = [&](int rank, DataParallel* data_parallel) {
    RankResult& result = results[static_cast<size_t>(rank)];
    model::Llama policy = policies[static_cast<size_t>(rank)];
    std::unique_ptr<ValueTrainer> critic;
    if (ppo) {
      critic = std::make_unique<ValueTrainer>(
          value_model_from_policy(policy), ValueModelOptions{.source = "policy", .path = "", .learning_rate = 1e-2},
          ValueUpdateOptions{.aggregation = options.loss.aggregation,
                             .max_tokens = testing::rollout_test_options().max_new_tokens},
          data_parallel);
    }
    GrpoTrainer trainer(policy, options, testing::rollout_test_options(), /*pad_id=*/0, std::move(critic),
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
      result.terms.push_back(stats->terms);
      if (step == 0) {
        for (const at::Tensor& p : policy->parameters()) result.gradients.push_back(p.grad().detach().clone());
      }
    }
    result.weights = testing::snapshot(*policy);
    result.state_elements = state_elements(trainer.optimizer());
    result.optimizer_steps = most_adamw_steps(trainer.optimizer());
    if (ValueTrainer* value = trainer.value_trainer(); value != nullptr) {
      for (const at::Tensor& p : value->model()->parameters()) result.value_weights.push_back(p.detach().clone());
      result.value_optimizer_steps = most_adamw_steps(value->optimizer());
      result.value_state_elements = state_elements(value->optimizer());
    }
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

// The acceptance comparison of data parallelism: two ranks (`pair`) made one learner's updates
// (`single`) on the whole batch: the same first gradient, weights, losses and terms within fp32
// rounding (the ranks sum in another order), and with a value model its weights too; and the
// ranks agree with each other exactly.
void expect_one_learners_update(const std::vector<RankResult>& single, const std::vector<RankResult>& pair,
                                const std::string& name) {
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
  std::printf("%s: gradient error %.3g (relative), weight error %.3g after %zu steps\n", name.c_str(), gradient_error,
              weight_error, single[0].losses.size());
  EXPECT_LT(gradient_error, 1e-5);
  // ... and so are the weights after AdamW steps of lr 1e-2 each, up to the rounding that Adam's
  // g / sqrt(v) magnifies where a gradient element is near zero.
  EXPECT_LT(weight_error, 1e-3);
  EXPECT_EQ(pair[0].optimizer_steps, single[0].optimizer_steps);
  ASSERT_EQ(pair[0].losses.size(), single[0].losses.size());
  for (size_t step = 0; step < single[0].losses.size(); ++step) {
    EXPECT_NEAR(pair[0].losses[step], single[0].losses[step], 1e-5);
    EXPECT_EQ(pair[0].losses[step], pair[1].losses[step]);
    // Every rank reports the whole batch's terms.
    EXPECT_EQ(pair[0].terms[step], pair[1].terms[step]);
    ASSERT_EQ(pair[0].terms[step].size(), single[0].terms[step].size());
    for (size_t t = 0; t < single[0].terms[step].size(); ++t) {
      const auto& [term, expected] = single[0].terms[step][t];
      EXPECT_EQ(pair[0].terms[step][t].first, term);
      EXPECT_NEAR(pair[0].terms[step][t].second, expected, 1e-5 + 1e-4 * std::abs(expected))
          << "step " << step << " term " << term;
    }
  }
  ASSERT_EQ(pair[0].value_weights.size(), single[0].value_weights.size());
  if (!single[0].value_weights.empty()) {
    EXPECT_EQ(max_abs_difference(pair[0].value_weights, pair[1].value_weights), 0.0);
    EXPECT_LT(max_abs_difference(pair[0].value_weights, single[0].value_weights), 1e-3);
    EXPECT_EQ(pair[0].value_optimizer_steps, single[0].value_optimizer_steps);
  }
}

// `groups` with every sample of the listed groups unjudged.
std::vector<RolloutGroup> unjudged(std::vector<RolloutGroup> groups, const std::vector<size_t>& which) {
  for (const size_t g : which) {
    for (RolloutSample& sample : groups[g].samples) sample.judged = false;
  }
  return groups;
}

// The groups in the order `order`.
std::vector<RolloutGroup> reordered(const std::vector<RolloutGroup>& groups, const std::vector<size_t>& order) {
  std::vector<RolloutGroup> out;
  for (const size_t g : order) out.push_back(groups[g]);
  return out;
}

// The acceptance check of data parallelism: two Gloo ranks with two groups each make the same
// two updates as one learner with all four groups, for each loss aggregation (each has its own
// global denominator), for the estimators that whiten over the whole batch (REINFORCE++ with and
// without the group baseline: the ranks sum the whitening's statistics), with a rank whose
// whole share is unjudged, and with one that gets no group at all (a batch of one group).
TEST(DataParallel, TwoRanksMatchOneLearnerOnTheDoubledBatch) {
  model::Llama sampler = testing::tiny_llama(/*seed=*/0);
  const std::vector<RolloutGroup> groups = four_groups(*sampler);
  const std::vector<RolloutGroup> second_half_unjudged = unjudged(groups, {2, 3});
  const std::vector<RolloutGroup> one_group = {groups[0]};
  struct Case {
    std::string name;
    learner::LossAggregation aggregation;
    learner::AdvantageEstimator estimator;
    bool group_baseline;
    const std::vector<RolloutGroup>* groups;
  };
  const Case cases[] = {
      {"grpo token_mean", learner::LossAggregation::kTokenMean, learner::AdvantageEstimator::kGrpo, false, &groups},
      {"rloo seq_mean_token_mean", learner::LossAggregation::kSequenceMeanTokenMean, learner::AdvantageEstimator::kRloo,
       false, &groups},
      {"dr_grpo constant", learner::LossAggregation::kConstantDenominator, learner::AdvantageEstimator::kDrGrpo, false,
       &groups},
      {"rank 1 unjudged", learner::LossAggregation::kTokenMean, learner::AdvantageEstimator::kGrpo, false,
       &second_half_unjudged},
      {"reinforce_pp", learner::LossAggregation::kTokenMean, learner::AdvantageEstimator::kReinforcePlusPlus, false,
       &groups},
      {"reinforce_pp group baseline", learner::LossAggregation::kSequenceMeanTokenMean,
       learner::AdvantageEstimator::kReinforcePlusPlus, true, &groups},
      {"reinforce_pp rank 1 unjudged", learner::LossAggregation::kTokenMean,
       learner::AdvantageEstimator::kReinforcePlusPlus, false, &second_half_unjudged},
      {"reinforce_pp rank 1 without a group", learner::LossAggregation::kTokenMean,
       learner::AdvantageEstimator::kReinforcePlusPlus, false, &one_group},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    learner::GrpoOptions options = testing::grpo_test_options();
    options.loss.aggregation = c.aggregation;
    options.advantage.estimator = c.estimator;
    options.advantage.group_baseline = c.group_baseline;
    options.loss.entropy_coef = 0.01;
    options.kl.target = 0.01;  // adaptive: the controller must see the whole batch's KL on every rank
    expect_one_learners_update(train(1, options, *c.groups, /*steps=*/2), train(2, options, *c.groups, /*steps=*/2),
                               c.name);
  }
}

// Several mini-batches per step: each rank cuts its share into mini_batches parts, and
// mini-batch m is the union of the ranks' m-th parts. With four groups of four judged samples,
// rank 0 holds groups 0 and 1 and cuts them into [g0] [g1], rank 1 holds 2 and 3: [g2] [g3]; so
// the mini-batches are {g0, g2} and {g1, g3}. One learner cuts its 16 sequences into two
// contiguous halves, which are those unions when it gets the groups in the order 0, 2, 1, 3.
// Likewise with a rank that has fewer sequences than mini_batches: rank 1 judges only sample 0
// of group 2 (its parts: [g2 s0] and an empty one), so the mini-batches are {g0, g2 s0} and {g1};
// one learner's 9 judged sequences in the order 0, 2, 1, 3 cut into 5 + 4: the same.
TEST(DataParallel, MiniBatchesAreTheUnionsOfTheRanksParts) {
  model::Llama sampler = testing::tiny_llama(/*seed=*/0);
  const std::vector<RolloutGroup> groups = four_groups(*sampler);
  std::vector<RolloutGroup> rank1_one_sequence = unjudged(groups, {3});
  for (size_t s = 1; s < rank1_one_sequence[2].samples.size(); ++s) rank1_one_sequence[2].samples[s].judged = false;
  struct Case {
    std::string name;
    learner::AdvantageEstimator estimator;
    const std::vector<RolloutGroup>* groups;
  };
  const Case cases[] = {
      {"grpo", learner::AdvantageEstimator::kGrpo, &groups},
      {"reinforce_pp", learner::AdvantageEstimator::kReinforcePlusPlus, &groups},
      {"rank 1 has an empty part", learner::AdvantageEstimator::kReinforcePlusPlus, &rank1_one_sequence},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    learner::GrpoOptions options = testing::grpo_test_options();
    options.advantage.estimator = c.estimator;
    options.batching.mini_batches = 2;
    options.batching.epochs = 2;
    options.kl.target = 0.01;
    const std::vector<RankResult> single = train(1, options, reordered(*c.groups, {0, 2, 1, 3}), /*steps=*/2);
    const std::vector<RankResult> pair = train(2, options, *c.groups, /*steps=*/2);
    expect_one_learners_update(single, pair, c.name);
    // 2 mini-batches x 2 epochs x 2 steps.
    EXPECT_EQ(pair[0].optimizer_steps, 8);
  }
}

// An update whose mini-batch is empty on every rank makes no optimizer step on any (AdamW's
// decay and momentum would still move the weights). Rank 0 judges samples 0 and 1 of group 0,
// rank 1 sample 0 of group 1: with mini_batches = 4 the ranks' parts are [s0] [s1] [] [] and
// [s0] [] [] [], so mini-batches 2 and 3 are empty everywhere, and the run equals the one with
// mini_batches = 2 bit for bit, making 2 steps per epoch. With PPO the value model skips alike.
TEST(DataParallel, AMiniBatchEmptyOnEveryRankMakesNoStep) {
  model::Llama sampler = testing::tiny_llama(/*seed=*/0);
  std::vector<RolloutGroup> groups = four_groups(*sampler);
  groups.resize(2);
  for (size_t s = 0; s < 4; ++s) {
    groups[0].samples[s].judged = s < 2;
    groups[1].samples[s].judged = s < 1;
  }
  for (const bool ppo : {false, true}) {
    SCOPED_TRACE(ppo ? "ppo" : "grpo");
    learner::GrpoOptions options = testing::grpo_test_options();
    options.weight_decay = 0.1;
    options.batching.epochs = 2;
    if (ppo) options.advantage.estimator = learner::AdvantageEstimator::kGae;
    options.batching.mini_batches = 4;
    const std::vector<RankResult> four = train(2, options, groups, /*steps=*/1, ppo);
    options.batching.mini_batches = 2;
    const std::vector<RankResult> two = train(2, options, groups, /*steps=*/1, ppo);
    for (const RankResult& rank : four) ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
    for (const RankResult& rank : two) ASSERT_TRUE(rank.status.ok()) << rank.status.to_string();
    for (size_t r = 0; r < 2; ++r) {
      EXPECT_EQ(four[r].optimizer_steps, 4) << "rank " << r;  // 2 non-empty mini-batches x 2 epochs
      EXPECT_EQ(max_abs_difference(four[r].weights, two[r].weights), 0.0) << "rank " << r;
      EXPECT_EQ(four[r].losses, two[r].losses);
      EXPECT_EQ(four[r].terms, two[r].terms);
      if (ppo) {
        EXPECT_EQ(four[r].value_optimizer_steps, 4) << "rank " << r;
        EXPECT_EQ(max_abs_difference(four[r].value_weights, two[r].value_weights), 0.0) << "rank " << r;
      }
    }
  }
}

// PPO: GAE's whitening sums its statistics over the ranks, the value model sums its gradients
// (its AdamW state sharded like the policy's) and normalises by the whole mini-batch's counts,
// and its terms (value loss, clip fraction, explained variance) are the whole batch's: two ranks
// equal one learner on the doubled batch, with one mini-batch, with two (the order as in
// MiniBatchesAreTheUnionsOfTheRanksParts), and with a rank whose share is all unjudged (it joins
// every update of both models with nothing to train on).
TEST(DataParallel, PpoWithAValueModelMatchesOneLearner) {
  model::Llama sampler = testing::tiny_llama(/*seed=*/0);
  const std::vector<RolloutGroup> groups = four_groups(*sampler);
  const std::vector<RolloutGroup> second_half_unjudged = unjudged(groups, {2, 3});
  struct Case {
    std::string name;
    int64_t mini_batches;
    const std::vector<RolloutGroup>* groups;
  };
  const Case cases[] = {
      {"gae", 1, &groups},
      {"gae mini_batches 2", 2, &groups},
      {"gae rank 1 unjudged, mini_batches 2", 2, &second_half_unjudged},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    learner::GrpoOptions options = testing::grpo_test_options();
    options.advantage.estimator = learner::AdvantageEstimator::kGae;
    options.batching.mini_batches = c.mini_batches;
    options.kl.target = 0.01;
    const std::vector<RolloutGroup> single_order = reordered(*c.groups, {0, 2, 1, 3});
    const std::vector<RankResult> single = train(1, options, single_order, /*steps=*/2, /*ppo=*/true);
    const std::vector<RankResult> pair = train(2, options, *c.groups, /*steps=*/2, /*ppo=*/true);
    expect_one_learners_update(single, pair, c.name);
    EXPECT_EQ(pair[0].value_optimizer_steps, 2 * c.mini_batches);
    // The value model learned: its weights left their start.
    model::Llama start = testing::tiny_llama(/*seed=*/0);
    std::vector<at::Tensor> initial;
    for (const at::Tensor& p : value_model_from_policy(start)->parameters()) initial.push_back(p.detach().clone());
    EXPECT_GT(max_abs_difference(pair[0].value_weights, initial), 1e-3);
  }
}

// ZeRO-1: each of two ranks holds AdamW moments for about half of the parameters' elements
// (within the largest parameter), and together exactly what one learner holds; with PPO, of the
// value model's parameters too.
TEST(DataParallel, OptimizerStatePerRankIsHalved) {
  model::Llama sampler = testing::tiny_llama(/*seed=*/0);
  const std::vector<RolloutGroup> groups = four_groups(*sampler);
  learner::GrpoOptions options = testing::grpo_test_options();
  options.advantage.estimator = learner::AdvantageEstimator::kGae;
  const std::vector<RankResult> single = train(1, options, groups, /*steps=*/1, /*ppo=*/true);
  const std::vector<RankResult> pair = train(2, options, groups, /*steps=*/1, /*ppo=*/true);
  ASSERT_TRUE(single[0].status.ok() && pair[0].status.ok() && pair[1].status.ok());
  int64_t largest = 0;
  for (const at::Tensor& p : single[0].weights) largest = std::max(largest, p.numel());
  for (const auto elements : {&RankResult::state_elements, &RankResult::value_state_elements}) {
    const int64_t total = single[0].*elements;
    EXPECT_GT(total, 0);
    EXPECT_EQ(pair[0].*elements + pair[1].*elements, total);
    for (const RankResult& rank : pair) {
      EXPECT_LE(std::abs(rank.*elements - total / 2), 2 * largest);
      EXPECT_LT(rank.*elements, total);
    }
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
