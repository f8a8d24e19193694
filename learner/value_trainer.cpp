#include "learner/value_trainer.h"

#include <utility>

#include "learner/lr_schedule.h"
#include "learner/policy_loss.h"
#include "learner/train_step.h"

namespace caravan::learner {
namespace {

// verl's critic/vf_explained_var: 1 - Var(returns - values) / (Var(returns) + 1e-5), masked
// (biased) variances.
double explained_variance(const at::Tensor& values, const at::Tensor& returns, const at::Tensor& mask) {
  at::NoGradGuard no_grad;
  const at::Tensor count = mask.sum().clamp_min(1.0);
  const auto variance = [&](const at::Tensor& x) {
    const at::Tensor mean = (x * mask).sum() / count;
    const at::Tensor centered = (x - mean) * mask;
    return (centered * centered).sum() / count;
  };
  return (1.0 - variance(returns - values) / (variance(returns) + 1e-5)).item<double>();
}

} // namespace

ValueTrainer::ValueTrainer(ValueModel model, const ValueModelOptions& options, const ValueUpdateOptions& update)
    : model_(std::move(model)),
      options_(options),
      update_(update),
      optimizer_(model_->parameters(),
                 torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay)) {
  CARAVAN_CHECK(options.learning_rate > 0 && options.weight_decay >= 0 && options.warmup_steps >= 0 &&
                    options.loss_coef > 0 && options.vf_clip > 0 && update.max_grad_norm > 0,
                "bad value model options: learning_rate ", options.learning_rate, " weight_decay ",
                options.weight_decay, " warmup_steps ", options.warmup_steps, " loss_coef ", options.loss_coef,
                " vf_clip ", options.vf_clip, " max_grad_norm ", update.max_grad_norm);
  model_->body()->set_gradient_checkpointing(update.gradient_checkpointing);
}

void ValueTrainer::restore(int64_t steps_done) {
  CARAVAN_CHECK(steps_done >= 0, "value model steps_done must be >= 0, got ", steps_done);
  steps_done_ = steps_done;
}

at::Tensor ValueTrainer::values(const SequenceBatch& batch) {
  at::NoGradGuard no_grad;
  return model_->forward(batch);
}

Result<ValueUpdateStats> ValueTrainer::update(const SequenceBatch& batch, const at::Tensor& old_values,
                                              const at::Tensor& returns) {
  model_->train();
  const at::Tensor values = model_->forward(batch);
  const at::Tensor mask = batch.loss_mask.to(values.device()).to(at::kFloat);
  const ValueLossOutput loss = clipped_value_loss(
      {.values = values, .old_values = old_values, .returns = returns, .mask = mask}, options_.vf_clip,
      update_.aggregation, update_.max_tokens);

  const learner::LrScheduleOptions warmup{.kind = learner::LrScheduleKind::kConstant, .warmup_steps = options_.warmup_steps};
  ValueUpdateStats stats;
  stats.learning_rate = options_.learning_rate * lr_multiplier(warmup, steps_done_, /*total_steps=*/0);
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) {
    group.options().set_lr(stats.learning_rate);
  }
  optimizer_.zero_grad();
  (options_.loss_coef * loss.loss).backward();
  CARAVAN_ASSIGN_OR_RETURN(stats.grad_norm, clip_and_step(optimizer_, model_->parameters(), update_.max_grad_norm));
  ++steps_done_;
  stats.loss = loss.loss.item<double>();
  stats.clip_fraction = loss.clip_fraction;
  stats.explained_variance = explained_variance(values.detach(), returns, mask);
  return stats;
}

Result<std::unique_ptr<ValueTrainer>> make_value_trainer(const ValueModelOptions& options, const model::Llama& policy,
                                                         at::ScalarType dtype, const ValueUpdateOptions& update) {
  if (!options.enabled()) return std::unique_ptr<ValueTrainer>();
  ValueModel model{nullptr};
  if (options.path.empty()) {
    model = value_model_from_policy(policy);
  } else {
    CARAVAN_ASSIGN_OR_RETURN(model, load_value_model(options.path, policy->config().vocab_size, dtype));
    const at::Tensor first = policy->parameters().front();
    model->to(first.device());
  }
  return std::make_unique<ValueTrainer>(std::move(model), options, update);
}

} // namespace caravan::learner
