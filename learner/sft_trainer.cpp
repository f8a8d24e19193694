#include "learner/sft_trainer.h"

#include <algorithm>

#include "learner/autocast.h"
#include "learner/lr_schedule.h"
#include "learner/micro_batch.h"
#include "learner/sequence_batch.h"
#include "learner/sft_loss.h"
#include "learner/train_step.h"

namespace caravan::learner {
namespace {

// A (prompt, target) pair as a tokenised sequence: the prompt is context, the target trained.
TrainingSequence as_training_sequence(const SftExample& example) {
  TrainingSequence sequence;
  sequence.ids = example.prompt;
  sequence.ids.insert(sequence.ids.end(), example.target.begin(), example.target.end());
  sequence.loss_mask.assign(example.prompt.size(), 0);
  sequence.loss_mask.resize(sequence.ids.size(), 1);
  return sequence;
}

} // namespace

SftTrainer::SftTrainer(model::Llama policy, const SftOptions& options, int32_t pad_id)
    : policy_(std::move(policy)),
      options_(options),
      pad_id_(pad_id),
      optimizer_(policy_->parameters(), torch::optim::AdamWOptions(options.learning_rate).weight_decay(0.0)) {
  CARAVAN_CHECK(options.learning_rate > 0 && options.warmup_steps >= 0, "bad SFT options: learning_rate ",
                options.learning_rate, " warmup_steps ", options.warmup_steps);
  policy_->set_gradient_checkpointing(options.gradient_checkpointing);
}

void SftTrainer::restore_steps_done(int64_t steps) {
  CARAVAN_CHECK(steps >= 0, "restore_steps_done(", steps, ")");
  steps_done_ = steps;
}

double SftTrainer::learning_rate_at(int64_t step) const {
  return options_.learning_rate *
         lr_multiplier({.kind = LrScheduleKind::kConstant, .warmup_steps = options_.warmup_steps}, step,
                       options_.steps);
}

Result<SftStepStats> SftTrainer::step(const std::vector<SftExample>& batch) {
  if (batch.empty()) return Status::invalid_argument("SFT step: empty batch");
  std::vector<TrainingSequence> sequences;
  sequences.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const SequenceSpec sequence{.prompt = batch[i].prompt, .completion = batch[i].target};
    CARAVAN_RETURN_IF_ERROR_CTX(validate_sequence(sequence, policy_->config()), str_cat("SFT step: example ", i));
    sequences.push_back(as_training_sequence(batch[i]));
  }
  return train_on(sequences);
}

Result<SftStepStats> SftTrainer::step(const std::vector<TrainingSequence>& batch) {
  if (batch.empty()) return Status::invalid_argument("SFT step: empty batch");
  for (size_t i = 0; i < batch.size(); ++i) {
    CARAVAN_RETURN_IF_ERROR_CTX(validate_training_sequence(batch[i], policy_->config()),
                                str_cat("SFT step: sequence ", i));
  }
  return train_on(batch);
}

Result<SftStepStats> SftTrainer::train_on(const std::vector<TrainingSequence>& sequences) {
  const double learning_rate = learning_rate_at(steps_done_++);
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) {
    group.options().set_lr(learning_rate);
  }
  std::vector<int64_t> lengths;
  int64_t trained_tokens = 0;
  for (const TrainingSequence& sequence : sequences) {
    lengths.push_back(static_cast<int64_t>(sequence.ids.size()));
    trained_tokens += sequence.trained_tokens();
  }

  policy_->train();
  optimizer_.zero_grad();
  double loss_value = 0;
  const SequenceRange all{.begin = 0, .end = static_cast<int64_t>(sequences.size())};
  for (const SequenceRange& range : split_by_token_budget(lengths, all, options_.batching)) {
    CARAVAN_ASSIGN_OR_RETURN(
        const SequenceBatch packed,
        pack_training_sequences(
            std::vector<TrainingSequence>(sequences.begin() + range.begin, sequences.begin() + range.end), pad_id_,
            row_layout(options_.batching)));
    // sft_loss is the mean over this micro-batch's trained tokens: weighted by their share of the
    // step's, the micro-batches' gradients add up to the mean over the step's tokens.
    const double share = static_cast<double>(packed.completion_tokens) / static_cast<double>(std::max<int64_t>(trained_tokens, 1));
    at::Tensor loss;
    {
      const BfloatAutocast autocast(model_device(*policy_), options_.bf16_autocast);
      const at::Tensor logits = target_logits(*policy_, packed);
      loss = sft_loss(logits, packed.targets.to(logits.device()), packed.loss_mask.to(logits.device())) * share;
    }
    loss.backward();
    loss_value += loss.item<double>();
  }
  CARAVAN_ASSIGN_OR_RETURN(const double grad_norm, clip_and_step(optimizer_, policy_->parameters(), kMaxGradNorm));
  return SftStepStats{
      .loss = loss_value, .grad_norm = grad_norm, .tokens = trained_tokens, .learning_rate = learning_rate};
}

Result<SftEvaluation> SftTrainer::evaluate(const std::vector<TrainingSequence>& sequences, int64_t batch_size) {
  CARAVAN_CHECK(batch_size >= 1, "evaluation batch_size must be >= 1, got ", batch_size);
  if (sequences.empty()) return Status::invalid_argument("SFT evaluation: no sequences");
  at::NoGradGuard no_grad;
  policy_->eval();
  double loss_sum = 0;
  SftEvaluation result;
  for (size_t begin = 0; begin < sequences.size(); begin += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(sequences.size(), begin + static_cast<size_t>(batch_size));
    const std::vector<TrainingSequence> batch(sequences.begin() + static_cast<std::ptrdiff_t>(begin),
                                              sequences.begin() + static_cast<std::ptrdiff_t>(end));
    for (size_t i = 0; i < batch.size(); ++i) {
      CARAVAN_RETURN_IF_ERROR_CTX(validate_training_sequence(batch[i], policy_->config()),
                                  str_cat("SFT evaluation: sequence ", begin + i));
    }
    CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch packed,
                             pack_training_sequences(batch, pad_id_, row_layout(options_.batching)));
    const BfloatAutocast autocast(model_device(*policy_), options_.bf16_autocast);
    const at::Tensor logits = target_logits(*policy_, packed);
    // sft_loss is the mean over this batch's trained tokens; weight it by their count.
    const double batch_loss =
        sft_loss(logits, packed.targets.to(logits.device()), packed.loss_mask.to(logits.device())).item<double>();
    loss_sum += batch_loss * static_cast<double>(packed.completion_tokens);
    result.tokens += packed.completion_tokens;
  }
  result.loss = loss_sum / static_cast<double>(result.tokens);
  return result;
}

} // namespace caravan::learner
