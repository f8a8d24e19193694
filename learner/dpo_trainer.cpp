#include "learner/dpo_trainer.h"

#include <algorithm>

#include "learner/frozen_copy.h"
#include "learner/lr_schedule.h"
#include "learner/train_step.h"
#include "model/logprobs.h"

namespace caravan::learner {
namespace {

DpoLossType loss_type_of(const DpoOptions& options) {
  Result<DpoLossType> type = dpo_loss_type_from_name(options.loss);
  CARAVAN_CHECK(type.ok(), "[dpo] loss: ", type.status().message());
  return *type;
}

// Sequence log-probabilities [rows] of `model` on the packed batch, on the model's device.
at::Tensor sequence_logprobs_of(model::LlamaImpl& model, const SequenceBatch& packed, DpoLossType type) {
  const at::Tensor logits = target_logits(model, packed);
  const at::Tensor tokens = model::token_logprobs(logits, packed.targets.to(logits.device()), /*temperature=*/1.0);
  return sequence_logprobs(tokens, packed.loss_mask.to(logits.device()), type);
}

} // namespace

DpoMetrics dpo_metrics(const DpoLossTerms& terms) {
  const at::Tensor margins = terms.chosen_rewards - terms.rejected_rewards;
  return DpoMetrics{.loss = terms.loss.item<double>(),
                    .chosen_reward = terms.chosen_rewards.mean().item<double>(),
                    .rejected_reward = terms.rejected_rewards.mean().item<double>(),
                    .margin = margins.mean().item<double>(),
                    .accuracy = margins.gt(0).to(at::kDouble).mean().item<double>(),
                    .pairs = terms.chosen_rewards.size(0)};
}

DpoTrainer::DpoTrainer(model::Llama policy, const DpoOptions& options, int32_t pad_id)
    : policy_(std::move(policy)),
      reference_(frozen_copy(policy_)),
      options_(options),
      loss_type_(loss_type_of(options)),
      pad_id_(pad_id),
      optimizer_(policy_->parameters(), torch::optim::AdamWOptions(options.learning_rate).weight_decay(0.0)) {
  CARAVAN_CHECK(options.learning_rate > 0 && options.warmup_steps >= 0 && options.beta > 0 &&
                    options.max_grad_norm > 0,
                "bad DPO options: learning_rate ", options.learning_rate, " warmup_steps ", options.warmup_steps,
                " beta ", options.beta, " max_grad_norm ", options.max_grad_norm);
}

double DpoTrainer::learning_rate_at(int64_t step) const {
  return options_.learning_rate *
         lr_multiplier({.kind = LrScheduleKind::kConstant, .warmup_steps = options_.warmup_steps}, step,
                       options_.steps);
}

Result<DpoTrainer::BatchTerms> DpoTrainer::loss_terms(const std::vector<PreferencePair>& batch, const char* what) {
  if (batch.empty()) return Status::invalid_argument(str_cat(what, ": no preference pairs"));
  std::vector<TrainingSequence> sequences(batch.size() * 2);
  for (size_t i = 0; i < batch.size(); ++i) {
    CARAVAN_RETURN_IF_ERROR_CTX(validate_training_sequence(batch[i].chosen, policy_->config()),
                                str_cat(what, ": pair ", i, " chosen"));
    CARAVAN_RETURN_IF_ERROR_CTX(validate_training_sequence(batch[i].rejected, policy_->config()),
                                str_cat(what, ": pair ", i, " rejected"));
    sequences[i] = batch[i].chosen;
    sequences[batch.size() + i] = batch[i].rejected;
  }
  CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch packed, pack_training_sequences(sequences, pad_id_));
  at::Tensor reference;
  {
    at::NoGradGuard no_grad;
    reference = sequence_logprobs_of(*reference_, packed, loss_type_);
  }
  const at::Tensor policy = sequence_logprobs_of(*policy_, packed, loss_type_);
  const auto pairs = static_cast<int64_t>(batch.size());
  return BatchTerms{.terms = dpo_loss(policy.slice(0, 0, pairs), policy.slice(0, pairs), reference.slice(0, 0, pairs),
                                      reference.slice(0, pairs), options_.beta),
                    .tokens = packed.completion_tokens};
}

Result<DpoStepStats> DpoTrainer::step(const std::vector<PreferencePair>& batch) {
  policy_->train();
  CARAVAN_ASSIGN_OR_RETURN(const BatchTerms batch_terms, loss_terms(batch, "DPO step"));
  const double learning_rate = learning_rate_at(steps_done_++);
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) {
    group.options().set_lr(learning_rate);
  }
  optimizer_.zero_grad();
  batch_terms.terms.loss.backward();
  CARAVAN_ASSIGN_OR_RETURN(const double grad_norm,
                           clip_and_step(optimizer_, policy_->parameters(), options_.max_grad_norm));
  return DpoStepStats{.metrics = dpo_metrics(batch_terms.terms),
                      .grad_norm = grad_norm,
                      .learning_rate = learning_rate,
                      .tokens = batch_terms.tokens};
}

Result<DpoMetrics> DpoTrainer::evaluate(const std::vector<PreferencePair>& pairs, int64_t batch_size) {
  CARAVAN_CHECK(batch_size >= 1, "evaluation batch_size must be >= 1, got ", batch_size);
  if (pairs.empty()) return Status::invalid_argument("DPO evaluation: no preference pairs");
  at::NoGradGuard no_grad;
  policy_->eval();
  DpoMetrics total;
  for (size_t begin = 0; begin < pairs.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(pairs.size(), begin + static_cast<size_t>(batch_size));
    const std::vector<PreferencePair> batch(pairs.begin() + static_cast<std::ptrdiff_t>(begin),
                                            pairs.begin() + static_cast<std::ptrdiff_t>(end));
    CARAVAN_ASSIGN_OR_RETURN(const BatchTerms batch_terms, loss_terms(batch, "DPO evaluation"));
    const DpoMetrics part = dpo_metrics(batch_terms.terms);
    const auto weight = static_cast<double>(part.pairs);
    total.loss += part.loss * weight;
    total.chosen_reward += part.chosen_reward * weight;
    total.rejected_reward += part.rejected_reward * weight;
    total.margin += part.margin * weight;
    total.accuracy += part.accuracy * weight;
    total.pairs += part.pairs;
  }
  const auto count = static_cast<double>(total.pairs);
  for (double* mean : {&total.loss, &total.chosen_reward, &total.rejected_reward, &total.margin, &total.accuracy}) {
    *mean /= count;
  }
  return total;
}

} // namespace caravan::learner
