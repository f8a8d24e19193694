#include "learner/policy_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/status.h"

namespace caravan::learner {
namespace {

// The masked mean of a statistic (no gradient); 0 for an empty mask.
double masked_mean(const at::Tensor& values, const at::Tensor& mask) {
  at::NoGradGuard no_grad;
  return ((values.to(mask.scalar_type()) * mask).sum() / mask.sum().clamp_min(1.0)).item<double>();
}

// The surrogate per token and its clip statistics.
struct Surrogate {
  at::Tensor token_loss;
  at::Tensor clipped_high;
  at::Tensor clipped_low;
  at::Tensor dual_clipped;
};

// max(-A r, -A clip(r)), and for dual_clip c > 0 with A < 0, min(that, -c A).
Surrogate clipped_surrogate(const at::Tensor& ratio, const at::Tensor& advantages, const PolicyLossOptions& o) {
  const at::Tensor unclipped = -advantages * ratio;
  const at::Tensor clipped = -advantages * at::clamp(ratio, 1.0 - o.clip_low, 1.0 + o.clip_high);
  Surrogate s;
  s.token_loss = at::maximum(unclipped, clipped);
  const at::Tensor detached = ratio.detach();
  s.clipped_high = (advantages > 0).logical_and(detached > 1.0 + o.clip_high);
  s.clipped_low = (advantages < 0).logical_and(detached < 1.0 - o.clip_low);
  if (o.dual_clip > 0) {
    const at::Tensor bound = -o.dual_clip * advantages;
    s.dual_clipped = (advantages < 0).logical_and(s.token_loss.detach() > bound);
    s.token_loss = at::where(advantages < 0, at::minimum(s.token_loss, bound), s.token_loss);
  } else {
    s.dual_clipped = at::zeros_like(s.clipped_high);
  }
  return s;
}

void check_same_shape(const at::Tensor& reference, const at::Tensor& other, const char* name) {
  CARAVAN_CHECK(other.sizes() == reference.sizes(), name, " ", other.sizes(), " must be shaped like logprobs ",
                reference.sizes());
}

// Sequence weights are [B] for [B,T] token values, or undefined.
void check_sequence_weights(const at::Tensor& weights, const at::Tensor& values) {
  CARAVAN_CHECK(!weights.defined() || (weights.dim() == 1 && weights.size(0) == values.size(0)),
                "sequence_weights must be [B]=[", values.size(0), "], got ", weights.sizes());
}

// w_b as a detached [B,1] column in the dtype and on the device of `values` [B,T]; 1 when undefined.
at::Tensor sequence_weight_column(const at::Tensor& weights, const at::Tensor& values) {
  if (!weights.defined()) return at::ones({values.size(0), 1}, values.options());
  return weights.detach().to(values.options()).unsqueeze(1);
}

} // namespace

AggregationScope aggregation_scope(const at::Tensor& mask) {
  at::NoGradGuard no_grad;
  const at::Tensor tokens = (mask != 0).sum(1);
  return {.tokens = tokens.sum().item<int64_t>(),
          .sequences_with_tokens = (tokens > 0).sum().item<int64_t>(),
          .sequences = mask.size(0)};
}

Result<AggregationScope> whole_scope(const AggregationScope& local, const SumOverRanks& sum_over_ranks) {
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<double> sums,
                           sum_values({static_cast<double>(local.tokens), static_cast<double>(local.sequences_with_tokens),
                                       static_cast<double>(local.sequences)},
                                      sum_over_ranks));
  return AggregationScope{.tokens = std::llround(sums[0]),
                          .sequences_with_tokens = std::llround(sums[1]),
                          .sequences = std::llround(sums[2])};
}

at::Tensor aggregate(const at::Tensor& values, const at::Tensor& mask, learner::LossAggregation aggregation,
                     int64_t max_tokens, const AggregationScope* scope) {
  CARAVAN_CHECK(values.dim() == 2 && mask.sizes() == values.sizes(), "aggregate: values ", values.sizes(), " and mask ",
                mask.sizes(), " must both be [B,T]");
  const at::Tensor m = mask.to(values.scalar_type());
  const at::Tensor masked = values * m;
  switch (aggregation) {
    case learner::LossAggregation::kTokenMean:
      if (scope != nullptr) return masked.sum() / static_cast<double>(std::max<int64_t>(scope->tokens, 1));
      return masked.sum() / m.sum().clamp_min(1.0);
    case LossAggregation::kSequenceMeanTokenMean: {
      const at::Tensor tokens = m.sum(1);
      const at::Tensor per_sequence = masked.sum(1) / tokens.clamp_min(1.0);
      if (scope != nullptr) {
        return per_sequence.sum() / static_cast<double>(std::max<int64_t>(scope->sequences_with_tokens, 1));
      }
      return per_sequence.sum() / (tokens > 0).sum().clamp_min(1).to(values.scalar_type());
    }
    case LossAggregation::kConstantDenominator:
      CARAVAN_CHECK(max_tokens >= 1, "constant aggregation needs max_tokens >= 1, got ", max_tokens);
      return masked.sum() / static_cast<double>((scope != nullptr ? scope->sequences : values.size(0)) * max_tokens);
  }
  CARAVAN_CHECK(false, "unknown loss aggregation ", static_cast<int>(aggregation));
  return {};
}

PolicyLossOutput policy_loss(const PolicyLossInputs& inputs, const PolicyLossOptions& options) {
  const at::Tensor& logprobs = inputs.logprobs;
  CARAVAN_CHECK(logprobs.dim() == 2, "logprobs must be [B,T], got rank ", logprobs.dim());
  check_same_shape(logprobs, inputs.old_logprobs, "old_logprobs");
  check_same_shape(logprobs, inputs.advantages, "advantages");
  check_same_shape(logprobs, inputs.mask, "mask");
  if (inputs.correction_weights.defined()) check_same_shape(logprobs, inputs.correction_weights, "correction_weights");
  if (inputs.kl.defined()) check_same_shape(logprobs, inputs.kl, "kl");
  if (inputs.entropy.defined()) check_same_shape(logprobs, inputs.entropy, "entropy");
  CARAVAN_CHECK(options.entropy_coef == 0 || inputs.entropy.defined(), "entropy_coef ", options.entropy_coef,
                " needs the token entropies");
  check_sequence_weights(inputs.sequence_weights, logprobs);

  const at::ScalarType dtype = logprobs.scalar_type();
  const at::Tensor mask = inputs.mask.detach().to(dtype);
  const at::Tensor selected = mask != 0;
  const at::Tensor zero = at::zeros({}, logprobs.options());
  const at::Tensor advantages = at::where(selected, inputs.advantages.detach().to(dtype), zero);
  // Log-ratios are zeroed outside the mask before exp(): a prompt or padding cell may hold any
  // gap, and exp() of a large one is inf, which neither `* mask` nor where() can undo later.
  const at::Tensor log_ratio = at::where(selected, logprobs - inputs.old_logprobs.detach().to(dtype), zero);

  Surrogate surrogate;
  switch (options.kind) {
    case PolicyLossKind::kPpo:
      surrogate = clipped_surrogate(at::exp(log_ratio), advantages, options);
      break;
    case PolicyLossKind::kGspo: {
      const at::Tensor sequence_log_ratio = log_ratio.sum(1, /*keepdim=*/true) / mask.sum(1, /*keepdim=*/true).clamp_min(1.0);
      // Value s_b, gradient s_b * grad x_t (GSPO-token).
      const at::Tensor own = at::where(selected, logprobs, zero);
      const at::Tensor token_log_ratio = own - own.detach() + sequence_log_ratio.detach();
      surrogate = clipped_surrogate(at::exp(token_log_ratio), advantages, options);
      break;
    }
    case PolicyLossKind::kCispo: {
      const at::Tensor ratio = at::exp(log_ratio.detach());
      const at::Tensor weight = at::clamp(ratio, 1.0 - options.clip_low, 1.0 + options.clip_high);
      surrogate.token_loss = -weight * advantages * at::where(selected, logprobs, zero);
      surrogate.clipped_high = ratio > 1.0 + options.clip_high;
      surrogate.clipped_low = ratio < 1.0 - options.clip_low;
      surrogate.dual_clipped = at::zeros_like(surrogate.clipped_high);
      break;
    }
  }

  const at::Tensor sequence_weights = sequence_weight_column(inputs.sequence_weights, logprobs);
  at::Tensor policy_term = surrogate.token_loss * sequence_weights;
  if (inputs.correction_weights.defined()) policy_term = policy_term * inputs.correction_weights.detach().to(dtype);
  at::Tensor token_loss = policy_term;
  if (inputs.kl.defined()) {
    token_loss = token_loss + inputs.kl_coef * at::where(selected, inputs.kl, zero) * sequence_weights;
  }
  if (options.entropy_coef > 0) {
    token_loss = token_loss - options.entropy_coef * at::where(selected, inputs.entropy, zero) * sequence_weights;
  }

  PolicyLossOutput output;
  output.loss = aggregate(token_loss, mask, options.aggregation, inputs.max_tokens, inputs.scope);
  {
    at::NoGradGuard no_grad;
    output.policy_loss =
        aggregate(policy_term.detach(), mask, options.aggregation, inputs.max_tokens, inputs.scope).item<double>();
    output.clip_high_fraction = masked_mean(surrogate.clipped_high, mask);
    output.clip_low_fraction = masked_mean(surrogate.clipped_low, mask);
    output.dual_clip_fraction = masked_mean(surrogate.dual_clipped, mask);
    if (inputs.kl.defined()) output.kl_mean = masked_mean(at::where(selected, inputs.kl.detach(), zero), mask);
    if (inputs.entropy.defined()) {
      output.entropy_mean = masked_mean(at::where(selected, inputs.entropy.detach(), zero), mask);
    }
  }
  return output;
}

ValueLossOutput clipped_value_loss(const ValueLossInputs& inputs, double clip_range, LossAggregation aggregation,
                                   int64_t max_tokens) {
  CARAVAN_CHECK(clip_range > 0, "value clip_range must be > 0, got ", clip_range);
  const at::Tensor& values = inputs.values;
  CARAVAN_CHECK(values.dim() == 2, "values must be [B,T], got rank ", values.dim());
  check_same_shape(values, inputs.old_values, "old_values");
  check_same_shape(values, inputs.returns, "returns");
  check_same_shape(values, inputs.mask, "mask");
  check_sequence_weights(inputs.sequence_weights, values);
  const at::ScalarType dtype = values.scalar_type();
  const at::Tensor mask = inputs.mask.detach().to(dtype);
  const at::Tensor selected = mask != 0;
  const at::Tensor zero = at::zeros({}, values.options());
  const at::Tensor old_values = inputs.old_values.detach().to(dtype);
  const at::Tensor error = at::where(selected, values - inputs.returns.detach().to(dtype), zero);
  const at::Tensor clipped_values = old_values + at::clamp(values - old_values, -clip_range, clip_range);
  const at::Tensor clipped_error = at::where(selected, clipped_values - inputs.returns.detach().to(dtype), zero);
  const at::Tensor unclipped_loss = error * error;
  const at::Tensor clipped_loss = clipped_error * clipped_error;
  ValueLossOutput output;
  const at::Tensor weighted = at::maximum(unclipped_loss, clipped_loss) *
                              sequence_weight_column(inputs.sequence_weights, values);
  output.loss = 0.5 * aggregate(weighted, mask, aggregation, max_tokens, inputs.scope);
  output.clip_fraction = masked_mean(clipped_loss.detach() > unclipped_loss.detach(), mask);
  return output;
}

} // namespace caravan::learner
