#include "learner/grpo_trainer.h"

#include <chrono>
#include <cmath>
#include <optional>

#include "learner/advantages.h"
#include "learner/autocast.h"
#include "learner/chunked_logprobs.h"
#include "learner/frozen_copy.h"
#include "learner/lr_schedule.h"
#include "learner/off_policy_correction.h"
#include "learner/policy_loss.h"
#include "learner/sequence_batch.h"
#include "learner/train_step.h"

namespace caravan::learner {

GrpoTrainer::GrpoTrainer(model::Llama policy, const core::GrpoOptions& options, const core::RolloutOptions& rollout,
                         int32_t pad_id, std::unique_ptr<ValueTrainer> value_trainer)
    : policy_(std::move(policy)),
      reference_(frozen_copy(policy_)),
      options_(options),
      temperature_(rollout.temperature),
      max_new_tokens_(rollout.max_new_tokens),
      pad_id_(pad_id),
      optimizer_(policy_->parameters(),
                 torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay)),
      kl_controller_(options.kl),
      value_trainer_(std::move(value_trainer)) {
  CARAVAN_CHECK(temperature_ > 0 && max_new_tokens_ >= 1, "bad rollout options: temperature ", temperature_,
                " max_new_tokens ", max_new_tokens_);
  const core::PolicyLossOptions& loss = options.loss;
  CARAVAN_CHECK(loss.clip_low > 0 && loss.clip_low <= 1 && loss.clip_high > 0 && loss.entropy_coef >= 0 &&
                    (loss.dual_clip == 0 || loss.dual_clip > 1),
                "bad policy loss options: clip_low ", loss.clip_low, " clip_high ", loss.clip_high, " dual_clip ",
                loss.dual_clip, " entropy_coef ", loss.entropy_coef);
  CARAVAN_CHECK(options.advantage.eps > 0 && options.max_grad_norm > 0 && options.logprob_chunk_size >= 1,
                "bad GRPO options: advantage_eps ", options.advantage.eps, " max_grad_norm ", options.max_grad_norm,
                " logprob_chunk_size ", options.logprob_chunk_size);
  CARAVAN_CHECK((options.advantage.estimator == core::AdvantageEstimator::kGae) == (value_trainer_ != nullptr),
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
  for (const RolloutGroup& group : groups) {
    for (const RolloutSample& sample : group.samples) {
      rewards.push_back(sample.reward);
      judged.push_back(sample.judged ? 1 : 0);
      if (sample.judged) {
        sequences.push_back(
            {.prompt = group.prompt_tokens, .completion = sample.tokens, .completion_logprobs = sample.logprobs});
        weights.push_back(sample.weight);
        current_version.push_back(sample.policy_version == policy_version ? 1.0f : 0.0f);
      }
    }
  }
  const auto num_groups = static_cast<int64_t>(groups.size());
  const at::Tensor reward_table = at::tensor(rewards, at::kFloat).view({num_groups, group_size});
  const at::Tensor judged_table = at::tensor(judged, at::kByte).to(at::kBool).view({num_groups, group_size});
  GrpoStepStats stats;
  stats.judged_fraction = judged_table.to(at::kFloat).mean().item<double>();
  if (sequences.empty()) {
    // Nothing the verifiers could judge: no update, rather than training on scores that mean nothing.
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return stats;
  }
  stats.reward_mean = reward_table.masked_select(judged_table).mean().item<double>();
  CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch batch, pack_sequences(sequences, pad_id_));

  const at::Device device = model_device(*policy_);
  const at::Tensor targets = batch.targets.to(device);
  const at::Tensor mask = batch.loss_mask.to(device);
  const at::Tensor rollout_logprobs = batch.old_logprobs.to(device);
  const int64_t chunk = options_.logprob_chunk_size;
  at::Tensor ref_logprobs;
  TokenStatistics policy_tokens;
  {
    const BfloatAutocast autocast(device, options_.bf16_autocast);
    {
      at::NoGradGuard no_grad;
      ref_logprobs = chunked_token_statistics(target_hidden_states(*reference_, batch), output_head_weight(*reference_),
                                              targets, temperature_, chunk)
                         .logprobs;
    }
    policy_->train();
    policy_tokens = chunked_token_statistics(target_hidden_states(*policy_, batch), output_head_weight(*policy_), targets,
                                             temperature_, chunk);
  }
  const at::Tensor logprobs = policy_tokens.logprobs;

  const double kl_coef = kl_controller_.coef();
  const at::Tensor kl = kl_estimate(logprobs, ref_logprobs, mask, options_.kl.estimator);
  const bool kl_in_reward = options_.kl.placement == core::KlPlacement::kReward;
  // PPO: the value model's V_old of every completion token, before any update.
  const at::Tensor old_values = value_trainer_ != nullptr ? value_trainer_->values(batch) : at::Tensor();
  const AdvantageEstimate estimate = estimate_advantages(
      {.rewards = reward_table.to(device),
       .judged = judged_table.to(device),
       .mask = mask,
       .token_rewards = kl_in_reward ? (-kl_coef * kl.detach()).to(at::kFloat) : at::Tensor(),
       .values = old_values.defined() ? old_values * mask : at::Tensor()},
      options_.advantage);
  const at::Tensor& advantages = estimate.advantages;

  // With a correction on, the PPO ratio measures the update only (against the learner's own
  // recomputation) and the correction weights carry the rollout/learner gap.
  const CorrectionWeights correction =
      off_policy_correction(logprobs.detach(), rollout_logprobs, mask, options_.correction);
  const at::Tensor old_logprobs = options_.correction.enabled() ? logprobs.detach() : rollout_logprobs;
  const LogprobMismatch mismatch = logprob_mismatch(
      logprobs.detach(), rollout_logprobs, mask * at::tensor(current_version, at::kFloat).to(device).unsqueeze(1));

  const PolicyLossOutput loss = policy_loss(
      {.logprobs = logprobs,
       .old_logprobs = old_logprobs,
       .advantages = advantages,
       .mask = mask,
       .sequence_weights = at::tensor(weights, at::kFloat).to(device),
       .correction_weights = options_.correction.enabled() ? correction.weights : at::Tensor(),
       .kl = kl_in_reward ? at::Tensor() : kl,
       .kl_coef = kl_coef,
       .entropy = policy_tokens.entropy,
       .max_tokens = max_new_tokens_},
      options_.loss);

  const double learning_rate = options_.learning_rate * lr_multiplier(options_.schedule, steps_done_, options_.steps);
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) group.options().set_lr(learning_rate);
  optimizer_.zero_grad();
  loss.loss.backward();
  CARAVAN_ASSIGN_OR_RETURN(const double grad_norm,
                           clip_and_step(optimizer_, policy_->parameters(), options_.max_grad_norm));
  ++steps_done_;
  const double kl_mean = [&] {
    at::NoGradGuard no_grad;
    return ((kl.detach() * mask).sum() / mask.sum().clamp_min(1.0)).item<double>();
  }();
  kl_controller_.update(kl_mean, static_cast<int64_t>(sequences.size()));
  std::optional<ValueUpdateStats> value_update;
  if (value_trainer_ != nullptr) {
    CARAVAN_ASSIGN_OR_RETURN(value_update, value_trainer_->update(batch, old_values, estimate.returns));
  }

  stats.loss = loss.loss.item<double>();
  stats.kl_mean = kl_mean;
  stats.clip_fraction = loss.clip_low_fraction + loss.clip_high_fraction;
  stats.grad_norm = grad_norm;
  stats.tokens = batch.completion_tokens;
  stats.terms = {{"policy_loss", loss.policy_loss},
                 {"entropy", loss.entropy_mean},
                 {"kl_coef", kl_coef},
                 {"clip_low_fraction", loss.clip_low_fraction},
                 {"clip_high_fraction", loss.clip_high_fraction}};
  if (options_.loss.dual_clip > 0) stats.terms.emplace_back("dual_clip_fraction", loss.dual_clip_fraction);
  if (options_.correction.tis_cap > 0) stats.terms.emplace_back("tis_truncated_fraction", correction.truncated_fraction);
  if (options_.correction.mask_high > 0) stats.terms.emplace_back("masked_fraction", correction.masked_fraction);
  stats.terms.emplace_back("logprob_diff_max", mismatch.max_abs);
  stats.terms.emplace_back("logprob_diff_mean", mismatch.mean_abs);
  stats.terms.emplace_back("logprob_tokens", static_cast<double>(mismatch.tokens));
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
