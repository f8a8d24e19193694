#include "learner/grpo_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "learner/advantages.h"
#include "learner/autocast.h"
#include "learner/chunked_logprobs.h"
#include "learner/frozen_copy.h"
#include "learner/lr_schedule.h"
#include "learner/micro_batch.h"
#include "learner/off_policy_correction.h"
#include "learner/policy_loss.h"
#include "learner/sequence_batch.h"
#include "learner/train_step.h"

namespace caravan::learner {
namespace {

// Logprobs and entropies of `model` on `batch`, per sequence: [b, T_b] (learner/sequence_batch.h).
TokenStatistics sequence_statistics(model::LlamaImpl& model, const SequenceBatch& batch, double temperature,
                                    int64_t chunk) {
  const TokenStatistics grid = chunked_token_statistics(target_hidden_states(model, batch), output_head_weight(model),
                                                        batch.targets.to(model_device(model)), temperature, chunk);
  return {.logprobs = per_sequence(batch, grid.logprobs), .entropy = per_sequence(batch, grid.entropy)};
}

// Masked sum of a [b,T] statistic (no gradient).
double masked_sum(const at::Tensor& values, const at::Tensor& mask) {
  at::NoGradGuard no_grad;
  return (values.detach().to(at::kDouble) * mask.to(at::kDouble)).sum().item<double>();
}

// Sums over the micro-batches of a TrainBatch, turned into GrpoStepStats at the end.
struct StepTotals {
  // Over the optimizer steps: their losses (each the sum of its micro-batches') and grad norms.
  double loss = 0;
  double policy_loss = 0;
  double grad_norm = 0;
  int64_t updates = 0;
  // Token-weighted over every micro-batch of every update.
  double tokens = 0;
  double clip_low = 0;
  double clip_high = 0;
  double dual_clip = 0;
  double entropy = 0;
  double tis_truncated = 0;
  double masked = 0;
  // Of the policy before the first update, over the first pass (every sequence once).
  double kl_sum = 0;
  double first_pass_tokens = 0;
  LogprobMismatch mismatch;
  double mismatch_sum = 0;
};

} // namespace

GrpoTrainer::GrpoTrainer(model::Llama policy, const GrpoOptions& options, const RolloutSampling& rollout,
                         int32_t pad_id, std::unique_ptr<ValueTrainer> value_trainer,
                         DataParallel* data_parallel)
    : policy_(std::move(policy)),
      reference_(options.kl.coef > 0 ? frozen_copy(policy_) : model::Llama(nullptr)),
      options_(options),
      temperature_(rollout.temperature),
      max_new_tokens_(rollout.max_new_tokens),
      pad_id_(pad_id),
      // ZeRO-1: a data-parallel rank keeps AdamW state for its own parameters only.
      optimizer_(data_parallel != nullptr ? data_parallel->owned_parameters(policy_->parameters())
                                          : policy_->parameters(),
                 torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay)),
      kl_controller_(options.kl),
      value_trainer_(std::move(value_trainer)),
      data_parallel_(data_parallel) {
  CARAVAN_CHECK(data_parallel_ == nullptr ||
                    (options.advantage.estimator != AdvantageEstimator::kReinforcePlusPlus &&
                     options.advantage.estimator != AdvantageEstimator::kGae),
                "data-parallel ranks need a group-local advantage estimator; reinforce_pp and gae normalise over "
                "the batch");
  CARAVAN_CHECK(data_parallel_ == nullptr || options.batching.mini_batches == 1,
                "data-parallel ranks make one update per epoch: mini_batches must be 1, got ",
                options.batching.mini_batches);
  CARAVAN_CHECK(temperature_ > 0 && max_new_tokens_ >= 1, "bad rollout options: temperature ", temperature_,
                " max_new_tokens ", max_new_tokens_);
  const PolicyLossOptions& loss = options.loss;
  CARAVAN_CHECK(loss.clip_low > 0 && loss.clip_low <= 1 && loss.clip_high > 0 && loss.entropy_coef >= 0 &&
                    (loss.dual_clip == 0 || loss.dual_clip > 1),
                "bad policy loss options: clip_low ", loss.clip_low, " clip_high ", loss.clip_high, " dual_clip ",
                loss.dual_clip, " entropy_coef ", loss.entropy_coef);
  CARAVAN_CHECK(options.advantage.eps > 0 && options.max_grad_norm > 0 && options.logprob_chunk_size >= 1,
                "bad GRPO options: advantage_eps ", options.advantage.eps, " max_grad_norm ", options.max_grad_norm,
                " logprob_chunk_size ", options.logprob_chunk_size);
  CARAVAN_CHECK(options.batching.mini_batches >= 1 && options.batching.epochs >= 1 &&
                    options.batching.micro.micro_batch_tokens >= 0,
                "bad GRPO batching options: mini_batches ", options.batching.mini_batches, " epochs ",
                options.batching.epochs, " micro_batch_tokens ", options.batching.micro.micro_batch_tokens);
  CARAVAN_CHECK((options.advantage.estimator == AdvantageEstimator::kGae) == (value_trainer_ != nullptr),
                "a value model is given exactly for advantage_estimator gae (estimator ",
                enum_name(options.advantage.estimator), ")");
  policy_->set_gradient_checkpointing(options.gradient_checkpointing);
}

void GrpoTrainer::restore(const GrpoTrainerState& state) {
  CARAVAN_CHECK(state.steps_done >= 0, "steps_done must be >= 0, got ", state.steps_done);
  steps_done_ = state.steps_done;
  kl_controller_.restore(state.kl_coef);
}

Status GrpoTrainer::validate(const std::vector<RolloutGroup>& groups) const {
  if (groups.empty()) return Status::invalid_argument("GRPO step: no groups");
  const size_t group_size = groups.front().samples.size();
  for (size_t g = 0; g < groups.size(); ++g) {
    const RolloutGroup& group = groups[g];
    const std::string where = str_cat("GRPO step: group ", g, " (prompt_id ", group.prompt_id, ")");
    if (group.samples.empty() || group.samples.size() != group_size) {
      return Status::invalid_argument(str_cat(where, ": ", group.samples.size(), " samples, expected ",
                                              group_size, " (every group needs the same number, >= 1)"));
    }
    for (size_t s = 0; s < group.samples.size(); ++s) {
      const RolloutSample& sample = group.samples[s];
      if (sample.logprobs.size() != sample.tokens.size()) {
        return Status::invalid_argument(str_cat(where, " sample ", s, ": ", sample.tokens.size(), " tokens but ",
                                                sample.logprobs.size(), " logprobs"));
      }
      if (!std::isfinite(sample.weight) || sample.weight < 0) {
        return Status::invalid_argument(str_cat(where, " sample ", s, ": weight ", sample.weight,
                                                " must be finite and >= 0"));
      }
      if (sample.judged && !std::isfinite(sample.reward)) {
        return Status::invalid_argument(str_cat(where, " sample ", s, ": reward ", sample.reward,
                                                " is not finite (a verifier reports such a sample as an error)"));
      }
      CARAVAN_RETURN_IF_ERROR_CTX(
          validate_sequence({.prompt = group.prompt_tokens, .completion = sample.tokens}, policy_->config()),
          str_cat(where, " sample ", s));
    }
  }
  return {};
}

Result<GrpoStepStats> GrpoTrainer::step(const std::vector<RolloutGroup>& groups, uint64_t policy_version) {
  const auto start = std::chrono::steady_clock::now();
  CARAVAN_RETURN_IF_ERROR(validate(groups));

  const auto group_size = static_cast<int64_t>(groups.front().samples.size());
  std::vector<SequenceSpec> sequences;
  std::vector<float> rewards;
  std::vector<uint8_t> judged;
  // One per trained (judged) sequence, in the order of `sequences`.
  std::vector<float> weights;
  std::vector<float> current_version;
  std::vector<int64_t> lengths;
  for (const RolloutGroup& group : groups) {
    for (const RolloutSample& sample : group.samples) {
      rewards.push_back(sample.reward);
      judged.push_back(sample.judged ? 1 : 0);
      if (sample.judged) {
        sequences.push_back(
            {.prompt = group.prompt_tokens, .completion = sample.tokens, .completion_logprobs = sample.logprobs});
        weights.push_back(sample.weight);
        current_version.push_back(sample.policy_version == policy_version ? 1.0f : 0.0f);
        lengths.push_back(static_cast<int64_t>(group.prompt_tokens.size() + sample.tokens.size()));
      }
    }
  }
  const auto num_groups = static_cast<int64_t>(groups.size());
  const at::Tensor reward_table = at::tensor(rewards, at::kFloat).view({num_groups, group_size});
  const at::Tensor judged_table = at::tensor(judged, at::kByte).to(at::kBool).view({num_groups, group_size});
  GrpoStepStats stats;
  stats.judged_fraction = judged_table.to(at::kFloat).mean().item<double>();
  // The learning-rate schedule counts TrainBatches: every update of this one uses the same rate.
  const double learning_rate = options_.learning_rate * lr_multiplier(options_.schedule, steps_done_, options_.steps);
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) group.options().set_lr(learning_rate);
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<double> judged_sequences,
                           sum_over_ranks({static_cast<double>(sequences.size())}));
  if (judged_sequences[0] == 0) {
    // Nothing the verifiers could judge: no update, rather than training on scores that mean nothing.
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
  }
  // After the updates: the whole batch's KL (the adaptive controller's input), loss and tokens,
  // summed over the data-parallel ranks (every rank closes every step once).
  const auto close_step = [&](const StepTotals& totals, size_t trained_sequences, int64_t completion_tokens) -> Status {
    ++steps_done_;
    CARAVAN_ASSIGN_OR_RETURN(const std::vector<double> whole_batch,
                             sum_over_ranks({totals.kl_sum, totals.first_pass_tokens,
                                             static_cast<double>(trained_sequences), totals.loss,
                                             static_cast<double>(completion_tokens)}));
    stats.kl_mean = whole_batch[0] / std::max(whole_batch[1], 1.0);
    kl_controller_.update(stats.kl_mean, std::llround(whole_batch[2]));
    const auto updates = static_cast<double>(std::max<int64_t>(totals.updates, 1));
    stats.loss = whole_batch[3] / updates;
    stats.grad_norm = totals.grad_norm / updates;
    stats.tokens = std::llround(whole_batch[4]);
    return {};
  };
  if (sequences.empty()) {
    // A data-parallel rank whose share has nothing to train on still joins every collective of
    // the updates: one per epoch, as data parallelism runs one mini-batch per epoch.
    StepTotals totals;
    for (int64_t epoch = 0; epoch < options_.batching.epochs; ++epoch) {
      zero_gradients();
      CARAVAN_RETURN_IF_ERROR(whole_scope({}).status());
      CARAVAN_ASSIGN_OR_RETURN(const double grad_norm, apply_update());
      totals.grad_norm += grad_norm;
      ++totals.updates;
    }
    CARAVAN_RETURN_IF_ERROR(close_step(totals, 0, 0));
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
  }
  stats.reward_mean = reward_table.masked_select(judged_table).mean().item<double>();

  // The per-sequence grid [B,T] of the whole TrainBatch (one padded row per sequence) that the
  // masks, advantages and logprobs share; micro-batches take its rows and leading columns.
  CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch whole, pack_sequences(sequences, pad_id_));
  const at::Device device = model_device(*policy_);
  const at::Tensor mask = whole.loss_mask.to(device);
  const at::Tensor rollout_logprobs = whole.old_logprobs.to(device);
  const at::Tensor sequence_weights = at::tensor(weights, at::kFloat).to(device);
  const at::Tensor current_version_mask = mask * at::tensor(current_version, at::kFloat).to(device).unsqueeze(1);
  const int64_t chunk = options_.logprob_chunk_size;
  const MicroBatchOptions& micro_options = options_.batching.micro;
  const RowLayout layout = row_layout(micro_options);
  // Sequences [range.begin, range.end) laid out for one forward.
  const auto lay_out = [&](SequenceRange range) -> Result<SequenceBatch> {
    return pack_sequences(std::vector<SequenceSpec>(sequences.begin() + range.begin, sequences.begin() + range.end),
                          pad_id_, layout);
  };

  const std::vector<MiniBatch> plan = plan_mini_batches(lengths, options_.batching);
  const bool several_updates = static_cast<int64_t>(plan.size()) * options_.batching.epochs > 1;
  // Without a reference (kl_coef = 0) there is no KL term, in the reward or in the loss.
  const bool kl_measured = !reference_.is_empty();
  const bool kl_in_reward = kl_measured && options_.kl.placement == learner::KlPlacement::kReward;
  const bool kl_in_loss = kl_measured && !kl_in_reward;
  const double kl_coef = kl_controller_.coef();

  // Before the first update: the reference's logprobs, and the policy's where more than one
  // update or the advantages need them (else the first forward's detached logprobs are the
  // policy's before the update).
  at::Tensor ref_logprobs;
  if (kl_measured) ref_logprobs = at::zeros_like(mask);
  at::Tensor pre_update_logprobs;
  if (several_updates || kl_in_reward) pre_update_logprobs = at::zeros_like(mask);
  if (ref_logprobs.defined() || pre_update_logprobs.defined()) {
    at::NoGradGuard no_grad;
    const BfloatAutocast autocast(device, options_.bf16_autocast);
    policy_->train();
    const SequenceRange all{.begin = 0, .end = static_cast<int64_t>(sequences.size())};
    for (const SequenceRange& range : split_by_token_budget(lengths, all, micro_options)) {
      CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch batch, lay_out(range));
      if (kl_measured) {
        const at::Tensor reference = sequence_statistics(*reference_, batch, temperature_, chunk).logprobs;
        rows_of(ref_logprobs, range, reference.size(1)).copy_(reference);
      }
      if (pre_update_logprobs.defined()) {
        const at::Tensor policy = sequence_statistics(*policy_, batch, temperature_, chunk).logprobs;
        rows_of(pre_update_logprobs, range, policy.size(1)).copy_(policy);
      }
    }
  }

  // Advantages once, over whole groups, before any cut; for PPO from the value model's V_old of
  // every completion token, before any update, by the policy's micro-batches.
  const ValueBatch value_batch{.plan = plan,
                               .epochs = options_.batching.epochs,
                               .lay_out = lay_out,
                               .mask = mask,
                               .sequence_weights = sequence_weights};
  at::Tensor old_values;
  if (value_trainer_ != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(old_values, value_trainer_->values(value_batch));
  }
  const AdvantageEstimate estimate = estimate_advantages(
      {.rewards = reward_table.to(device),
       .judged = judged_table.to(device),
       .mask = mask,
       .token_rewards = kl_in_reward
                            ? (-kl_coef * kl_estimate(pre_update_logprobs, ref_logprobs, mask, options_.kl.estimator))
                                  .to(at::kFloat)
                            : at::Tensor(),
       .values = old_values.defined() ? old_values * mask : at::Tensor()},
      options_.advantage);
  const at::Tensor& advantages = estimate.advantages;

  StepTotals totals;
  for (int64_t epoch = 0; epoch < options_.batching.epochs; ++epoch) {
    for (const MiniBatch& mini : plan) {
      // The mini-batch's counts normalise every micro-batch's loss (over all ranks' shares with
      // data parallelism), so that the summed gradients are the whole mini-batch's.
      CARAVAN_ASSIGN_OR_RETURN(const AggregationScope scope,
                               whole_scope(aggregation_scope(rows_of(mask, mini.sequences, mask.size(1)))));
      zero_gradients();
      for (const SequenceRange& range : mini.micro_batches) {
        CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch batch, lay_out(range));
        TokenStatistics policy_tokens;
        {
          const BfloatAutocast autocast(device, options_.bf16_autocast);
          policy_->train();
          policy_tokens = sequence_statistics(*policy_, batch, temperature_, chunk);
        }
        const at::Tensor& logprobs = policy_tokens.logprobs;
        const int64_t columns = logprobs.size(1);
        const at::Tensor micro_mask = rows_of(mask, range, columns);
        const at::Tensor micro_rollout = rows_of(rollout_logprobs, range, columns);
        const at::Tensor micro_reference = kl_measured ? rows_of(ref_logprobs, range, columns) : at::Tensor();
        const at::Tensor pre_update =
            pre_update_logprobs.defined() ? rows_of(pre_update_logprobs, range, columns) : logprobs.detach();
        // With a correction on, the PPO ratio measures the update only (against the learner's
        // logprobs before it) and the correction weights carry the rollout/learner gap. With
        // several updates, the ratio is against the logprobs before the first (PPO).
        const CorrectionWeights correction =
            off_policy_correction(pre_update, micro_rollout, micro_mask, options_.correction);
        const at::Tensor old_logprobs =
            options_.correction.enabled() || several_updates ? pre_update : micro_rollout;
        const PolicyLossOutput loss = policy_loss(
            {.logprobs = logprobs,
             .old_logprobs = old_logprobs,
             .advantages = rows_of(advantages, range, columns),
             .mask = micro_mask,
             .sequence_weights = sequence_weights.slice(0, range.begin, range.end),
             .correction_weights = options_.correction.enabled() ? correction.weights : at::Tensor(),
             .kl = kl_in_loss ? kl_estimate(logprobs, micro_reference, micro_mask, options_.kl.estimator)
                              : at::Tensor(),
             .kl_coef = kl_coef,
             .entropy = policy_tokens.entropy,
             .max_tokens = max_new_tokens_,
             .scope = &scope},
            options_.loss);
        loss.loss.backward();

        const double tokens = micro_mask.sum().item<double>();
        totals.loss += loss.loss.item<double>();
        totals.policy_loss += loss.policy_loss;
        totals.tokens += tokens;
        totals.clip_low += loss.clip_low_fraction * tokens;
        totals.clip_high += loss.clip_high_fraction * tokens;
        totals.dual_clip += loss.dual_clip_fraction * tokens;
        totals.entropy += loss.entropy_mean * tokens;
        totals.tis_truncated += correction.truncated_fraction * tokens;
        totals.masked += correction.masked_fraction * tokens;
        if (epoch == 0) {
          if (kl_measured) {
            totals.kl_sum +=
                masked_sum(kl_estimate(pre_update, micro_reference, micro_mask, options_.kl.estimator), micro_mask);
          }
          totals.first_pass_tokens += tokens;
          const LogprobMismatch mismatch =
              logprob_mismatch(pre_update, micro_rollout, rows_of(current_version_mask, range, columns));
          totals.mismatch.max_abs = std::max(totals.mismatch.max_abs, mismatch.max_abs);
          totals.mismatch.tokens += mismatch.tokens;
          totals.mismatch_sum += mismatch.mean_abs * static_cast<double>(mismatch.tokens);
        }
      }
      CARAVAN_ASSIGN_OR_RETURN(const double grad_norm, apply_update());
      totals.grad_norm += grad_norm;
      ++totals.updates;
    }
  }
  CARAVAN_RETURN_IF_ERROR(close_step(totals, sequences.size(), whole.completion_tokens));

  std::optional<ValueUpdateStats> value_update;
  if (value_trainer_ != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(value_update, value_trainer_->update(value_batch, old_values, estimate.returns));
  }

  // The terms below are this rank's share's (the whole batch's without data parallelism).
  const auto updates = static_cast<double>(totals.updates);
  const double tokens = std::max(totals.tokens, 1.0);
  stats.clip_fraction = (totals.clip_low + totals.clip_high) / tokens;
  stats.terms = {{"policy_loss", totals.policy_loss / updates},
                 {"entropy", totals.entropy / tokens},
                 {"kl_coef", kl_coef},
                 {"clip_low_fraction", totals.clip_low / tokens},
                 {"clip_high_fraction", totals.clip_high / tokens}};
  if (options_.loss.dual_clip > 0) stats.terms.emplace_back("dual_clip_fraction", totals.dual_clip / tokens);
  if (options_.correction.tis_cap > 0) stats.terms.emplace_back("tis_truncated_fraction", totals.tis_truncated / tokens);
  if (options_.correction.mask_high > 0) stats.terms.emplace_back("masked_fraction", totals.masked / tokens);
  stats.terms.emplace_back("logprob_diff_max", totals.mismatch.max_abs);
  stats.terms.emplace_back("logprob_diff_mean",
                           totals.mismatch_sum / std::max(static_cast<double>(totals.mismatch.tokens), 1.0));
  stats.terms.emplace_back("logprob_tokens", static_cast<double>(totals.mismatch.tokens));
  stats.terms.emplace_back("learning_rate", learning_rate);
  if (value_update) {
    stats.terms.emplace_back("value_loss", value_update->loss);
    stats.terms.emplace_back("value_clip_fraction", value_update->clip_fraction);
    stats.terms.emplace_back("explained_variance", value_update->explained_variance);
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

Result<AggregationScope> GrpoTrainer::whole_scope(const AggregationScope& local) {
  if (data_parallel_ == nullptr) return local;
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<double> sums,
                           data_parallel_->sum({static_cast<double>(local.tokens),
                                                static_cast<double>(local.sequences_with_tokens),
                                                static_cast<double>(local.sequences)}));
  return AggregationScope{.tokens = std::llround(sums[0]),
                          .sequences_with_tokens = std::llround(sums[1]),
                          .sequences = std::llround(sums[2])};
}

Result<double> GrpoTrainer::apply_update() {
  // The parameters' gradients hold the sum over the mini-batch's micro-batches here; with
  // data-parallel ranks, this rank's part of it, summed over the ranks first.
  const std::vector<at::Tensor> parameters = policy_->parameters();
  if (data_parallel_ != nullptr) CARAVAN_RETURN_IF_ERROR(data_parallel_->sum_gradients(parameters));
  CARAVAN_ASSIGN_OR_RETURN(const double grad_norm, clip_and_step(optimizer_, parameters, options_.max_grad_norm));
  if (data_parallel_ != nullptr) CARAVAN_RETURN_IF_ERROR(data_parallel_->share_owned_parameters(parameters));
  return grad_norm;
}

Result<std::vector<double>> GrpoTrainer::sum_over_ranks(std::vector<double> values) {
  if (data_parallel_ == nullptr) return values;
  return data_parallel_->sum(values);
}

void GrpoTrainer::zero_gradients() {
  // Every parameter's, not only the optimizer's: a data-parallel rank's optimizer holds its own.
  for (const at::Tensor& parameter : policy_->parameters()) {
    if (parameter.grad().defined()) parameter.mutable_grad().zero_();
  }
}

} // namespace caravan::learner
