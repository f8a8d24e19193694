#include "learner/sft_trainer.h"

#include "learner/lr_schedule.h"
#include "learner/sequence_batch.h"
#include "learner/sft_loss.h"
#include "learner/train_step.h"

namespace caravan::learner {

SftTrainer::SftTrainer(model::Llama policy, const core::SftOptions& options, int32_t pad_id)
    : policy_(std::move(policy)),
      options_(options),
      pad_id_(pad_id),
      optimizer_(policy_->parameters(), torch::optim::AdamWOptions(options.learning_rate).weight_decay(0.0)) {
  CARAVAN_CHECK(options.learning_rate > 0 && options.warmup_steps >= 0, "bad SFT options: learning_rate ",
                options.learning_rate, " warmup_steps ", options.warmup_steps);
}

double SftTrainer::learning_rate_at(int64_t step) const {
  return options_.learning_rate *
         lr_multiplier({.kind = core::LrScheduleKind::kConstant, .warmup_steps = options_.warmup_steps}, step,
                       options_.steps);
}

Result<SftStepStats> SftTrainer::step(const std::vector<SftExample>& batch) {
  if (batch.empty()) return Status::invalid_argument("SFT step: empty batch");
  std::vector<SequenceSpec> sequences;
  for (size_t i = 0; i < batch.size(); ++i) {
    const SequenceSpec sequence{.prompt = batch[i].prompt, .completion = batch[i].target};
    CARAVAN_RETURN_IF_ERROR_CTX(validate_sequence(sequence, policy_->config()), str_cat("SFT step: example ", i));
    sequences.push_back(sequence);
  }
  CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch packed, pack_sequences(sequences, pad_id_));

  const double learning_rate = learning_rate_at(steps_done_++);
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) {
    group.options().set_lr(learning_rate);
  }

  policy_->train();
  const at::Tensor logits = target_logits(*policy_, packed);
  const at::Tensor loss =
      sft_loss(logits, packed.targets.to(logits.device()), packed.loss_mask.to(logits.device()));
  optimizer_.zero_grad();
  loss.backward();
  CARAVAN_ASSIGN_OR_RETURN(const double grad_norm, clip_and_step(optimizer_, policy_->parameters(), kMaxGradNorm));
  return SftStepStats{.loss = loss.item<double>(),
                      .grad_norm = grad_norm,
                      .tokens = packed.completion_tokens,
                      .learning_rate = learning_rate};
}

} // namespace caravan::learner
