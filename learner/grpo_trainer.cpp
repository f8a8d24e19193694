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
  double mismatch_max = 0;
  double mismatch_tokens = 0;
  double mismatch_sum = 0;
  // Of the batch: sequences trained on, their completion tokens and their rewards' sum.
  double sequences = 0;
  double completion_tokens = 0;
  double reward_sum = 0;
};

// The members of StepTotals that add up over data-parallel ranks (grad_norm and updates are the
// same on every rank; mismatch_max is the largest of the ranks').
constexpr double StepTotals::*kSummedTotals[] = {
    &StepTotals::loss,         &StepTotals::policy_loss,     &StepTotals::tokens,
    &StepTotals::clip_low,     &StepTotals::clip_high,       &StepTotals::dual_clip,
    &StepTotals::entropy,      &StepTotals::tis_truncated,   &StepTotals::masked,
    &StepTotals::kl_sum,       &StepTotals::first_pass_tokens, &StepTotals::mismatch_tokens,
    &StepTotals::mismatch_sum, &StepTotals::sequences,       &StepTotals::completion_tokens,
    &StepTotals::reward_sum};

// `local` (rank `rank` of `ranks`) over the whole batch: its sums summed over the ranks (one
// collective), its largest logprob gap the largest of the ranks' (sent in the rank's own slot of
// a per-rank vector, so that the sum carries every rank's). `local` itself without ranks.
Result<StepTotals> whole_batch_totals(const StepTotals& local, int rank, int ranks, const SumOverRanks& sum_over_ranks) {
  std::vector<double> values;
  for (const auto member : kSummedTotals) values.push_back(local.*member);
  const size_t first_slot = values.size();
  values.resize(first_slot + static_cast<size_t>(ranks), 0.0);
  values[first_slot + static_cast<size_t>(rank)] = local.mismatch_max;
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<double> sums, sum_values(std::move(values), sum_over_ranks));
  StepTotals whole = local;
  for (size_t i = 0; i < first_slot; ++i) whole.*kSummedTotals[i] = sums[i];
  whole.mismatch_max = *std::max_element(sums.begin() + static_cast<ptrdiff_t>(first_slot), sums.end());
  return whole;
}

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
      data_parallel_(data_parallel),
      sum_over_ranks_(sum_over_ranks_of(data_parallel)) {
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
  CARAVAN_CHECK(value_trainer_ == nullptr || value_trainer_->data_parallel() == data_parallel_,
                "the value trainer must be built with the policy trainer's data-parallel ranks");
  policy_->set_gradient_checkpointing(options.gradient_checkpointing);
}

void GrpoTrainer::restore(const GrpoTrainerState& state) {
  CARAVAN_CHECK(state.steps_done >= 0, "steps_done must be >= 0, got ", state.steps_done);
  steps_done_ = state.steps_done;
  kl_controller_.restore(state.kl_coef);
}

Status GrpoTrainer::validate(const std::vector<RolloutGroup>& groups) const {
  // A data-parallel rank's share may be empty (fewer groups than ranks).
  if (groups.empty()) return data_parallel_ != nullptr ? Status() : Status::invalid_argument("GRPO step: no groups");
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

  const auto group_size = groups.empty() ? int64_t{0} : static_cast<int64_t>(groups.front().samples.size());
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
  // The learning-rate schedule counts TrainBatches: every update of this one uses the same rate.
  const double learning_rate = options_.learning_rate * lr_multiplier(options_.schedule, steps_done_, options_.steps);
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) group.options().set_lr(learning_rate);
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<double> judged_sequences,
                           sum_values({static_cast<double>(sequences.size()), static_cast<double>(rewards.size())},
                                      sum_over_ranks_));
  stats.judged_fraction = judged_sequences[0] / std::max(judged_sequences[1], 1.0);
  if (judged_sequences[0] == 0) {
    // Nothing the verifiers could judge: no update, rather than training on scores that mean nothing.
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
  }
  // The per-sequence grid [B,T] of the whole TrainBatch (one padded row per sequence) that the
  // masks, advantages and logprobs share; micro-batches take its rows and leading columns. A
  // data-parallel rank with nothing to train on has B = 0 and goes the same way, making every
  // collective of the step with empty parts.
  SequenceBatch whole;
  if (sequences.empty()) {
    whole.loss_mask = at::zeros({0, 1});
    whole.old_logprobs = at::zeros({0, 1});
  } else {
    CARAVAN_ASSIGN_OR_RETURN(whole, pack_sequences(sequences, pad_id_));
  }
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

  // Data-parallel ranks each cut their share into exactly mini_batches parts, empty ones
  // included: mini-batch m is the union of the ranks' m-th parts.
  const std::vector<MiniBatch> plan = plan_mini_batches(
      lengths, options_.batching, data_parallel_ != nullptr ? EmptyParts::kKeep : EmptyParts::kDrop);
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
  CARAVAN_ASSIGN_OR_RETURN(const AdvantageEstimate estimate, estimate_advantages(
      {.rewards = reward_table.to(device),
       .judged = judged_table.to(device),
       .mask = mask,
       .token_rewards = kl_in_reward
                            ? (-kl_coef * kl_estimate(pre_update_logprobs, ref_logprobs, mask, options_.kl.estimator))
                                  .to(at::kFloat)
                            : at::Tensor(),
       .values = old_values.defined() ? old_values * mask : at::Tensor(),
       .sum_over_ranks = sum_over_ranks_},
      options_.advantage));
  const at::Tensor& advantages = estimate.advantages;

  const std::vector<at::Tensor> parameters = policy_->parameters();
  StepTotals totals;
  for (int64_t epoch = 0; epoch < options_.batching.epochs; ++epoch) {
    for (const MiniBatch& mini : plan) {
      // The mini-batch's counts normalise every micro-batch's loss (over all ranks' shares with
      // data parallelism), so that the summed gradients are the whole mini-batch's.
      CARAVAN_ASSIGN_OR_RETURN(
          const AggregationScope scope,
          whole_scope(aggregation_scope(rows_of(mask, mini.sequences, mask.size(1))), sum_over_ranks_));
      // Empty on every rank (each sees the same sums): no step, as AdamW's decay and momentum
      // would still move the weights.
      if (scope.sequences == 0) continue;
      zero_gradients(parameters);
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
          totals.mismatch_max = std::max(totals.mismatch_max, mismatch.max_abs);
          totals.mismatch_tokens += static_cast<double>(mismatch.tokens);
          totals.mismatch_sum += mismatch.mean_abs * static_cast<double>(mismatch.tokens);
        }
      }
      // The gradients hold this rank's part of the mini-batch's; with ranks they are summed first.
      CARAVAN_ASSIGN_OR_RETURN(const double grad_norm,
                               clip_and_step(optimizer_, parameters, options_.max_grad_norm, data_parallel_));
      totals.grad_norm += grad_norm;
      ++totals.updates;
    }
  }
  ++steps_done_;
  totals.sequences = static_cast<double>(sequences.size());
  totals.completion_tokens = static_cast<double>(whole.completion_tokens);
  totals.reward_sum = reward_table.masked_select(judged_table).to(at::kDouble).sum().item<double>();
  // The whole batch's statistics over the data-parallel ranks: the KL (the adaptive
  // controller's input), loss, tokens and terms.
  CARAVAN_ASSIGN_OR_RETURN(
      const StepTotals batch_totals,
      whole_batch_totals(totals, data_parallel_ != nullptr ? data_parallel_->rank() : 0,
                         data_parallel_ != nullptr ? data_parallel_->ranks() : 1, sum_over_ranks_));
  stats.kl_mean = batch_totals.kl_sum / std::max(batch_totals.first_pass_tokens, 1.0);
  kl_controller_.update(stats.kl_mean, std::llround(batch_totals.sequences));
  const auto updates = static_cast<double>(std::max<int64_t>(totals.updates, 1));
  stats.loss = batch_totals.loss / updates;
  stats.grad_norm = totals.grad_norm / updates;
  stats.tokens = std::llround(batch_totals.completion_tokens);
  stats.reward_mean = batch_totals.reward_sum / batch_totals.sequences;

  std::optional<ValueUpdateStats> value_update;
  if (value_trainer_ != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(value_update, value_trainer_->update(value_batch, old_values, estimate.returns));
  }

  // The terms of the whole batch (over every rank's share).
  const StepTotals& t = batch_totals;
  const double tokens = std::max(t.tokens, 1.0);
  stats.clip_fraction = (t.clip_low + t.clip_high) / tokens;
  stats.terms = {{"policy_loss", t.policy_loss / updates},
                 {"entropy", t.entropy / tokens},
                 {"kl_coef", kl_coef},
                 {"clip_low_fraction", t.clip_low / tokens},
                 {"clip_high_fraction", t.clip_high / tokens}};
  if (options_.loss.dual_clip > 0) stats.terms.emplace_back("dual_clip_fraction", t.dual_clip / tokens);
  if (options_.correction.tis_cap > 0) stats.terms.emplace_back("tis_truncated_fraction", t.tis_truncated / tokens);
  if (options_.correction.mask_high > 0) stats.terms.emplace_back("masked_fraction", t.masked / tokens);
  stats.terms.emplace_back("logprob_diff_max", t.mismatch_max);
  stats.terms.emplace_back("logprob_diff_mean", t.mismatch_sum / std::max(t.mismatch_tokens, 1.0));
  stats.terms.emplace_back("logprob_tokens", t.mismatch_tokens);
  stats.terms.emplace_back("learning_rate", learning_rate);
  if (value_update) {
    stats.terms.emplace_back("value_loss", value_update->loss);
    stats.terms.emplace_back("value_clip_fraction", value_update->clip_fraction);
    stats.terms.emplace_back("explained_variance", value_update->explained_variance);
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

} // namespace caravan::learner
