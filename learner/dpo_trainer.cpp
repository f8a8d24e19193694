#include "learner/dpo_trainer.h"

#include <algorithm>

#include "learner/autocast.h"
#include "learner/frozen_copy.h"
#include "learner/lr_schedule.h"
#include "learner/sequence_batch.h"
#include "learner/train_step.h"
#include "model/logprobs.h"

namespace caravan::learner {
namespace {

DpoLossType loss_type_of(const DpoOptions& options) {
  Result<DpoLossType> type = dpo_loss_type_from_name(options.loss);
  CARAVAN_CHECK(type.ok(), "[dpo] loss: ", type.status().message());
  return *type;
}

// Sequence log-probabilities [sequences] of `model` on the laid-out batch, on the model's device.
at::Tensor sequence_logprobs_of(model::LlamaImpl& model, const SequenceBatch& packed, DpoLossType type) {
  const at::Tensor logits = target_logits(model, packed);
  const at::Tensor tokens = model::token_logprobs(logits, packed.targets.to(logits.device()), /*temperature=*/1.0);
  return sequence_logprobs(per_sequence(packed, tokens), per_sequence(packed, packed.loss_mask.to(logits.device())),
                           type);
}

// Adds `part` to `total` weighted by its pairs (means are divided by total.pairs in finish_mean).
void add_weighted(DpoMetrics& total, const DpoMetrics& part) {
  const auto weight = static_cast<double>(part.pairs);
  total.loss += part.loss * weight;
  total.chosen_reward += part.chosen_reward * weight;
  total.rejected_reward += part.rejected_reward * weight;
  total.margin += part.margin * weight;
  total.accuracy += part.accuracy * weight;
  total.pairs += part.pairs;
}

void finish_mean(DpoMetrics& total) {
  const auto count = static_cast<double>(total.pairs);
  for (double* mean : {&total.loss, &total.chosen_reward, &total.rejected_reward, &total.margin, &total.accuracy}) {
    *mean /= count;
  }
}

// Forward cost of each pair (learner/micro_batch.h): its two rows padded to the longer, or packed.
std::vector<int64_t> pair_lengths(const std::vector<PreferencePair>& pairs, RowLayout layout) {
  std::vector<int64_t> lengths;
  for (const PreferencePair& pair : pairs) {
    const auto chosen = static_cast<int64_t>(pair.chosen.ids.size());
    const auto rejected = static_cast<int64_t>(pair.rejected.ids.size());
    lengths.push_back(layout == RowLayout::kPacked ? chosen + rejected : 2 * std::max(chosen, rejected));
  }
  return lengths;
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
  policy_->set_gradient_checkpointing(options.gradient_checkpointing);
}

void DpoTrainer::restore_steps_done(int64_t steps) {
  CARAVAN_CHECK(steps >= 0, "restore_steps_done(", steps, ")");
  steps_done_ = steps;
}

double DpoTrainer::learning_rate_at(int64_t step) const {
  return options_.learning_rate *
         lr_multiplier({.kind = LrScheduleKind::kConstant, .warmup_steps = options_.warmup_steps}, step,
                       options_.steps);
}

Result<DpoTrainer::BatchTerms> DpoTrainer::loss_terms(const std::vector<PreferencePair>& pairs, SequenceRange range,
                                                      const char* what) {
  if (range.size() == 0) return Status::invalid_argument(str_cat(what, ": no preference pairs"));
  const auto count = static_cast<size_t>(range.size());
  std::vector<TrainingSequence> sequences(count * 2);
  for (size_t i = 0; i < count; ++i) {
    const size_t pair = static_cast<size_t>(range.begin) + i;
    CARAVAN_RETURN_IF_ERROR_CTX(validate_training_sequence(pairs[pair].chosen, policy_->config()),
                                str_cat(what, ": pair ", pair, " chosen"));
    CARAVAN_RETURN_IF_ERROR_CTX(validate_training_sequence(pairs[pair].rejected, policy_->config()),
                                str_cat(what, ": pair ", pair, " rejected"));
    sequences[i] = pairs[pair].chosen;
    sequences[count + i] = pairs[pair].rejected;
  }
  CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch packed,
                           pack_training_sequences(sequences, pad_id_, row_layout(options_.batching)));
  // The forward passes only: the caller's backward() runs after this scope, as autocast wants.
  const BfloatAutocast autocast(model_device(*policy_), options_.bf16_autocast);
  at::Tensor reference;
  {
    at::NoGradGuard no_grad;
    reference = sequence_logprobs_of(*reference_, packed, loss_type_);
  }
  const at::Tensor policy = sequence_logprobs_of(*policy_, packed, loss_type_);
  const auto n = static_cast<int64_t>(count);
  return BatchTerms{.terms = dpo_loss(policy.slice(0, 0, n), policy.slice(0, n), reference.slice(0, 0, n),
                                      reference.slice(0, n), options_.beta),
                    .tokens = packed.completion_tokens};
}

Result<DpoStepStats> DpoTrainer::step(const std::vector<PreferencePair>& batch) {
  if (batch.empty()) return Status::invalid_argument("DPO step: no preference pairs");
  policy_->train();
  const double learning_rate = learning_rate_at(steps_done_);
  optimizer_.zero_grad();
  DpoMetrics metrics;
  int64_t tokens = 0;
  const std::vector<int64_t> lengths = pair_lengths(batch, row_layout(options_.batching));
  const SequenceRange all{.begin = 0, .end = static_cast<int64_t>(batch.size())};
  for (const SequenceRange& range : split_by_token_budget(lengths, all, options_.batching)) {
    CARAVAN_ASSIGN_OR_RETURN(const BatchTerms batch_terms, loss_terms(batch, range, "DPO step"));
    // dpo_loss is the mean over this micro-batch's pairs: weighted by their share of the step's.
    (batch_terms.terms.loss * (static_cast<double>(range.size()) / static_cast<double>(batch.size()))).backward();
    add_weighted(metrics, dpo_metrics(batch_terms.terms));
    tokens += batch_terms.tokens;
  }
  finish_mean(metrics);
  ++steps_done_;
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) {
    group.options().set_lr(learning_rate);
  }
  CARAVAN_ASSIGN_OR_RETURN(const double grad_norm,
                           clip_and_step(optimizer_, policy_->parameters(), options_.max_grad_norm));
  return DpoStepStats{.metrics = metrics, .grad_norm = grad_norm, .learning_rate = learning_rate, .tokens = tokens};
}

Result<DpoMetrics> DpoTrainer::evaluate(const std::vector<PreferencePair>& pairs, int64_t batch_size) {
  CARAVAN_CHECK(batch_size >= 1, "evaluation batch_size must be >= 1, got ", batch_size);
  if (pairs.empty()) return Status::invalid_argument("DPO evaluation: no preference pairs");
  at::NoGradGuard no_grad;
  policy_->eval();
  DpoMetrics total;
  const auto count = static_cast<int64_t>(pairs.size());
  for (int64_t begin = 0; begin < count; begin += batch_size) {
    const SequenceRange range{.begin = begin, .end = std::min(count, begin + batch_size)};
    CARAVAN_ASSIGN_OR_RETURN(const BatchTerms batch_terms, loss_terms(pairs, range, "DPO evaluation"));
    add_weighted(total, dpo_metrics(batch_terms.terms));
  }
  finish_mean(total);
  return total;
}

} // namespace caravan::learner
