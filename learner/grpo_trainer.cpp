#include "learner/grpo_trainer.h"

#include <chrono>
#include <cmath>

#include "learner/advantages.h"
#include "learner/frozen_copy.h"
#include "learner/grpo_loss.h"
#include "learner/sequence_batch.h"
#include "learner/train_step.h"
#include "model/logprobs.h"

namespace caravan::learner {
GrpoTrainer::GrpoTrainer(model::Llama policy, const core::GrpoOptions& options, double temperature,
                         int32_t pad_id)
    : policy_(std::move(policy)),
      reference_(frozen_copy(policy_)),
      options_(options),
      temperature_(temperature),
      pad_id_(pad_id),
      optimizer_(policy_->parameters(),
                 torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay)) {
  CARAVAN_CHECK(temperature > 0, "temperature must be > 0, got ", temperature);
  CARAVAN_CHECK(options.clip_low > 0 && options.clip_low < 1 && options.clip_high > 0 && options.clip_high < 1,
                "clip_low/clip_high must be in (0, 1), got ", options.clip_low, "/", options.clip_high);
  CARAVAN_CHECK(options.kl_coef >= 0 && options.advantage_eps > 0 && options.max_grad_norm > 0,
                "bad GRPO options: kl_coef ", options.kl_coef, " advantage_eps ", options.advantage_eps,
                " max_grad_norm ", options.max_grad_norm);
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

Result<GrpoStepStats> GrpoTrainer::step(const std::vector<RolloutGroup>& groups) {
  const auto start = std::chrono::steady_clock::now();
  CARAVAN_RETURN_IF_ERROR(validate(groups));

  const auto group_size = static_cast<int64_t>(groups.front().samples.size());
  std::vector<SequenceSpec> sequences;
  std::vector<float> rewards;
  std::vector<uint8_t> judged;
  // One per trained (judged) sequence, in the order of `sequences`.
  std::vector<float> weights;
  for (const RolloutGroup& group : groups) {
    for (const RolloutSample& sample : group.samples) {
      rewards.push_back(sample.reward);
      judged.push_back(sample.judged ? 1 : 0);
      if (sample.judged) {
        sequences.push_back(
            {.prompt = group.prompt_tokens, .completion = sample.tokens, .completion_logprobs = sample.logprobs});
        weights.push_back(sample.weight);
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
  const at::Tensor advantages =
      group_advantages(reward_table, judged_table, options_.advantage_eps).masked_select(judged_table);
  CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch batch, pack_sequences(sequences, pad_id_));

  const at::Device device = model_device(*policy_);
  const at::Tensor targets = batch.targets.to(device);
  at::Tensor ref_logprobs;
  {
    at::NoGradGuard no_grad;
    ref_logprobs = model::token_logprobs(target_logits(*reference_, batch), targets, temperature_);
  }
  policy_->train();
  const at::Tensor logprobs = model::token_logprobs(target_logits(*policy_, batch), targets, temperature_);
  const GrpoLossOutput loss = grpo_loss(
      {.logprobs = logprobs,
       .old_logprobs = batch.old_logprobs.to(device),
       .ref_logprobs = ref_logprobs,
       .advantages = advantages.to(device),
       .mask = batch.loss_mask.to(device),
       .weights = at::tensor(weights, at::kFloat).to(device)},
      {.clip_low = options_.clip_low, .clip_high = options_.clip_high, .kl_coef = options_.kl_coef});

  optimizer_.zero_grad();
  loss.loss.backward();
  CARAVAN_ASSIGN_OR_RETURN(const double grad_norm,
                           clip_and_step(optimizer_, policy_->parameters(), options_.max_grad_norm));

  stats.loss = loss.loss.item<double>();
  stats.kl_mean = loss.kl_mean;
  stats.clip_fraction = loss.clip_fraction;
  stats.grad_norm = grad_norm;
  stats.tokens = batch.completion_tokens;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

} // namespace caravan::learner
