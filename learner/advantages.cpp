#include "learner/advantages.h"

#include <limits>
#include <utility>
#include <vector>

#include "core/status.h"

namespace caravan::learner {
namespace {

void check_table(const at::Tensor& rewards, const at::Tensor& judged) {
  CARAVAN_CHECK(rewards.dim() == 2, "rewards must be [num_groups, group_size], got rank ", rewards.dim());
  CARAVAN_CHECK(at::isFloatingType(rewards.scalar_type()), "rewards must be floating point");
  CARAVAN_CHECK(judged.sizes() == rewards.sizes() && judged.scalar_type() == at::kBool,
                "judged must be a bool tensor shaped like rewards ", rewards.sizes(), ", got ", judged.sizes());
}

// The judged rewards of a table, centred on their group's mean, with the per-group statistics.
struct CenteredTable {
  // rewards - mean_g where judged, exactly 0 elsewhere.
  at::Tensor centered;
  // [G,1] number of judged samples.
  at::Tensor count;
  // [G,1] true where the group has >= 2 judged samples whose rewards differ.
  at::Tensor has_signal;
};

CenteredTable center(const at::Tensor& rewards, const at::Tensor& judged) {
  check_table(rewards, judged);
  const at::Tensor weight = judged.to(rewards.scalar_type());
  // Selected, not multiplied: an unjudged entry may hold anything, and NaN * 0 is NaN.
  const at::Tensor r = at::where(judged, rewards.detach(), at::zeros_like(rewards));
  CenteredTable table;
  table.count = weight.sum(/*dim=*/{1}, /*keepdim=*/true);
  table.centered = (r - r.sum(/*dim=*/{1}, /*keepdim=*/true) / table.count.clamp_min(1)) * weight;
  // Identical judged rewards give exact zeros, whatever the rounding of the mean.
  const double inf = std::numeric_limits<double>::infinity();
  const at::Tensor highest = at::where(judged, r, at::full_like(r, -inf)).amax(/*dim=*/{1}, /*keepdim=*/true);
  const at::Tensor lowest = at::where(judged, r, at::full_like(r, inf)).amin(/*dim=*/{1}, /*keepdim=*/true);
  table.has_signal = (table.count >= 2).logical_and(highest > lowest);
  return table;
}

at::Tensor where_signal(const CenteredTable& table, const at::Tensor& advantages) {
  return at::where(table.has_signal, advantages, at::zeros_like(advantages)).detach();
}

void check_tokens(const at::Tensor& values, const at::Tensor& mask) {
  CARAVAN_CHECK(values.dim() == 2 && at::isFloatingType(values.scalar_type()), "token values must be floating [B,T], got ",
                values.sizes());
  CARAVAN_CHECK(mask.sizes() == values.sizes(), "mask ", mask.sizes(), " must be shaped like the values ", values.sizes());
}

} // namespace

at::Tensor group_advantages(const at::Tensor& rewards, const at::Tensor& judged, double eps) {
  CARAVAN_CHECK(eps > 0, "eps must be > 0, got ", eps);
  const CenteredTable table = center(rewards, judged);
  const at::Tensor variance =
      (table.centered * table.centered).sum(/*dim=*/{1}, /*keepdim=*/true) / (table.count - 1).clamp_min(1);
  return where_signal(table, table.centered / (variance.sqrt() + eps));
}

at::Tensor centered_advantages(const at::Tensor& rewards, const at::Tensor& judged) {
  const CenteredTable table = center(rewards, judged);
  return where_signal(table, table.centered);
}

at::Tensor leave_one_out_advantages(const at::Tensor& rewards, const at::Tensor& judged) {
  // r_i - (sum - r_i) / (n - 1) = (n r_i - sum) / (n - 1) = n / (n - 1) * (r_i - mean).
  const CenteredTable table = center(rewards, judged);
  return where_signal(table, table.centered * table.count / (table.count - 1).clamp_min(1));
}

Result<at::Tensor> masked_whiten(const at::Tensor& values, const at::Tensor& mask, double eps,
                                 const SumOverRanks& sum_over_ranks) {
  check_tokens(values, mask);
  CARAVAN_CHECK(eps > 0, "eps must be > 0, got ", eps);
  const at::Tensor selected = mask != 0;
  const at::Tensor weight = selected.to(values.scalar_type());
  const at::Tensor v = at::where(selected, values.detach(), at::zeros_like(values));
  // Two passes over the whole batch: its sum and count, then the squared deviations from its mean.
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<at::Tensor> totals, sum_scalars({v.sum(), weight.sum()}, sum_over_ranks));
  const at::Tensor& count = totals[1];
  const at::Tensor centered = (v - totals[0] / count.clamp_min(1)) * weight;
  // Every rank sees the same whole count, so all of them return here or none does.
  if (count.item<double>() < 2) return centered;
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<at::Tensor> squares,
                           sum_scalars({(centered * centered).sum()}, sum_over_ranks));
  const at::Tensor variance = squares[0] / (count - 1);
  return (centered / (variance.sqrt() + eps)).detach();
}

at::Tensor discounted_returns(const at::Tensor& token_rewards, const at::Tensor& mask, double gamma) {
  check_tokens(token_rewards, mask);
  CARAVAN_CHECK(gamma >= 0 && gamma <= 1, "gamma must be in [0, 1], got ", gamma);
  const at::Tensor weight = (mask != 0).to(token_rewards.scalar_type());
  const at::Tensor rewards = token_rewards.detach() * weight;
  at::Tensor returns = at::zeros_like(rewards);
  at::Tensor running = at::zeros({rewards.size(0)}, rewards.options());
  for (int64_t t = rewards.size(1) - 1; t >= 0; --t) {
    running = rewards.select(1, t) + gamma * running * weight.select(1, t);
    returns.select(1, t).copy_(running * weight.select(1, t));
  }
  return returns;
}

GaeResult gae(const at::Tensor& token_rewards, const at::Tensor& values, const at::Tensor& mask, double gamma,
              double lambda) {
  check_tokens(token_rewards, mask);
  CARAVAN_CHECK(values.sizes() == token_rewards.sizes(), "values ", values.sizes(), " must be shaped like the rewards ",
                token_rewards.sizes());
  CARAVAN_CHECK(gamma >= 0 && gamma <= 1 && lambda >= 0 && lambda <= 1, "gamma and lambda must be in [0, 1], got ",
                gamma, " and ", lambda);
  const at::Tensor weight = (mask != 0).to(token_rewards.scalar_type());
  const at::Tensor rewards = token_rewards.detach() * weight;
  const at::Tensor v = values.detach() * weight;
  const int64_t steps = rewards.size(1);
  at::Tensor advantages = at::zeros_like(rewards);
  at::Tensor next_value = at::zeros({rewards.size(0)}, rewards.options());
  at::Tensor next_advantage = at::zeros_like(next_value);
  for (int64_t t = steps - 1; t >= 0; --t) {
    // Past a row's last completion cell the next value and advantage are 0 (weight 0 there).
    const at::Tensor delta = rewards.select(1, t) + gamma * next_value - v.select(1, t);
    const at::Tensor advantage = (delta + gamma * lambda * next_advantage) * weight.select(1, t);
    advantages.select(1, t).copy_(advantage);
    next_value = v.select(1, t);
    next_advantage = advantage;
  }
  return {.advantages = advantages, .returns = (advantages + v) * weight};
}

Result<AdvantageEstimate> estimate_advantages(const AdvantageInputs& inputs, const AdvantageOptions& options) {
  check_table(inputs.rewards, inputs.judged);
  const at::Tensor mask = (inputs.mask != 0).to(at::kFloat);
  const int64_t sequences = mask.size(0);
  CARAVAN_CHECK(inputs.judged.sum().item<int64_t>() == sequences, "mask has ", sequences, " rows but ",
                inputs.judged.sum().item<int64_t>(), " samples are judged");
  const at::Tensor token_rewards =
      inputs.token_rewards.defined() ? inputs.token_rewards.detach().to(at::kFloat) * mask : at::zeros_like(mask);
  CARAVAN_CHECK(token_rewards.sizes() == mask.sizes(), "token_rewards ", token_rewards.sizes(), " must be shaped like mask ",
                mask.sizes());
  CARAVAN_CHECK(inputs.values.defined() == (options.estimator == learner::AdvantageEstimator::kGae),
                "values are given exactly for the gae estimator (estimator ", enum_name(options.estimator), ")");
  // Each judged sample's total reward, back in its [G,S] cell; unjudged cells stay 0 (unread).
  const at::Tensor rewards = inputs.rewards.detach().to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  const at::Tensor totals = rewards.masked_select(inputs.judged) + token_rewards.sum(1);
  const at::Tensor table = at::zeros_like(rewards).masked_scatter(inputs.judged, totals);

  // A per-sequence advantage [G,S] spread over the sample's completion tokens.
  const auto per_token = [&](const at::Tensor& advantage_table) -> AdvantageEstimate {
    return {.advantages = advantage_table.masked_select(inputs.judged).unsqueeze(1) * mask};
  };
  // Whitened over the completion tokens of the whole batch (every rank's part of it).
  const auto whiten = [&](const at::Tensor& advantages) {
    return masked_whiten(advantages, mask, options.eps, inputs.sum_over_ranks);
  };
  // The per-token rewards with the outcome reward on each sample's last completion token.
  const auto with_outcome = [&] {
    const at::Tensor last = (mask.cumsum(1) == mask.sum(1, /*keepdim=*/true)).logical_and(mask != 0);
    return token_rewards + rewards.masked_select(inputs.judged).unsqueeze(1) * last.to(at::kFloat);
  };
  switch (options.estimator) {
    case AdvantageEstimator::kGrpo:
      return per_token(group_advantages(table, inputs.judged, options.eps));
    case AdvantageEstimator::kDrGrpo:
      return per_token(centered_advantages(table, inputs.judged));
    case AdvantageEstimator::kRloo:
      return per_token(leave_one_out_advantages(table, inputs.judged));
    case AdvantageEstimator::kReinforcePlusPlus: {
      // As in verl, whitening shifts a flat group's zeros too: the batch mean is the baseline.
      CARAVAN_ASSIGN_OR_RETURN(
          at::Tensor advantages,
          whiten(options.group_baseline ? per_token(centered_advantages(table, inputs.judged)).advantages
                                        : discounted_returns(with_outcome(), mask, /*gamma=*/1.0)));
      return AdvantageEstimate{.advantages = std::move(advantages)};
    }
    case learner::AdvantageEstimator::kGae: {
      CARAVAN_CHECK(inputs.values.sizes() == mask.sizes(), "values ", inputs.values.sizes(),
                    " must be shaped like mask ", mask.sizes());
      const GaeResult result =
          gae(with_outcome(), inputs.values.detach().to(at::kFloat), mask, options.gae_gamma, options.gae_lambda);
      // The value targets stay in reward units; only the policy's advantages are whitened.
      if (!options.gae_whiten) return AdvantageEstimate{.advantages = result.advantages, .returns = result.returns};
      CARAVAN_ASSIGN_OR_RETURN(at::Tensor advantages, whiten(result.advantages));
      return AdvantageEstimate{.advantages = std::move(advantages), .returns = result.returns};
    }
  }
  CARAVAN_CHECK(false, "unknown advantage estimator ", static_cast<int>(options.estimator));
  return AdvantageEstimate{};
}

} // namespace caravan::learner
