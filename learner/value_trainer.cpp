#include "learner/value_trainer.h"

#include <algorithm>
#include <utility>

#include "learner/autocast.h"
#include "learner/lr_schedule.h"
#include "learner/policy_loss.h"
#include "learner/train_step.h"

namespace caravan::learner {
namespace {

// verl's critic/vf_explained_var: 1 - Var(returns - values) / (Var(returns) + 1e-5), masked
// (biased) variances over the whole batch (the means, then the squared deviations, summed over
// the ranks with `sum_over_ranks`).
Result<double> explained_variance(const at::Tensor& values, const at::Tensor& returns, const at::Tensor& mask,
                                  const SumOverRanks& sum_over_ranks) {
  at::NoGradGuard no_grad;
  const at::Tensor residual = returns - values;
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<at::Tensor> sums,
                           sum_scalars({mask.sum(), (residual * mask).sum(), (returns * mask).sum()}, sum_over_ranks));
  const at::Tensor count = sums[0].clamp_min(1.0);
  const at::Tensor residual_centered = (residual - sums[1] / count) * mask;
  const at::Tensor returns_centered = (returns - sums[2] / count) * mask;
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<at::Tensor> squares,
                           sum_scalars({(residual_centered * residual_centered).sum(),
                                        (returns_centered * returns_centered).sum()},
                                       sum_over_ranks));
  return (1.0 - (squares[0] / count) / (squares[1] / count + 1e-5)).item<double>();
}

} // namespace

ValueTrainer::ValueTrainer(ValueModel model, const ValueModelOptions& options, const ValueUpdateOptions& update,
                           DataParallel* data_parallel)
    : model_(std::move(model)),
      options_(options),
      update_(update),
      data_parallel_(data_parallel),
      sum_over_ranks_(sum_over_ranks_of(data_parallel)),
      // ZeRO-1: a data-parallel rank keeps AdamW state for its own parameters only.
      optimizer_(data_parallel != nullptr ? data_parallel->owned_parameters(model_->parameters())
                                          : model_->parameters(),
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

Result<at::Tensor> ValueTrainer::sequence_values(const ValueBatch& batch, SequenceRange range) {
  CARAVAN_ASSIGN_OR_RETURN(const SequenceBatch laid_out, batch.lay_out(range));
  const BfloatAutocast autocast(model_device(*model_->body()), update_.bf16_autocast);
  return per_sequence(laid_out, model_->forward(laid_out));
}

Result<at::Tensor> ValueTrainer::values(const ValueBatch& batch) {
  at::NoGradGuard no_grad;
  at::Tensor whole = at::zeros_like(batch.mask);
  for (const MiniBatch& mini : batch.plan) {
    for (const SequenceRange& range : mini.micro_batches) {
      CARAVAN_ASSIGN_OR_RETURN(const at::Tensor micro, sequence_values(batch, range));
      rows_of(whole, range, micro.size(1)).copy_(micro);
    }
  }
  return whole;
}

Result<ValueUpdateStats> ValueTrainer::update(const ValueBatch& batch, const at::Tensor& old_values,
                                              const at::Tensor& returns) {
  CARAVAN_CHECK(batch.epochs >= 1, "value update: epochs must be >= 1, got ", batch.epochs);
  model_->train();
  const learner::LrScheduleOptions warmup{.kind = learner::LrScheduleKind::kConstant, .warmup_steps = options_.warmup_steps};
  ValueUpdateStats stats;
  stats.learning_rate = options_.learning_rate * lr_multiplier(warmup, steps_done_, /*total_steps=*/0);
  for (torch::optim::OptimizerParamGroup& group : optimizer_.param_groups()) {
    group.options().set_lr(stats.learning_rate);
  }
  const int64_t columns = batch.mask.size(1);
  const std::vector<at::Tensor> parameters = model_->parameters();
  double loss_sum = 0;
  double clipped_tokens = 0;
  double tokens = 0;
  int64_t updates = 0;
  for (int64_t epoch = 0; epoch < batch.epochs; ++epoch) {
    for (const MiniBatch& mini : batch.plan) {
      // The mini-batch's counts (over every rank's part of it) normalise every micro-batch's
      // loss, so that the summed gradients are the whole mini-batch's.
      CARAVAN_ASSIGN_OR_RETURN(
          const AggregationScope scope,
          whole_scope(aggregation_scope(rows_of(batch.mask, mini.sequences, columns)), sum_over_ranks_));
      if (scope.sequences == 0) continue;  // empty on every rank: no step (AdamW would still move)
      zero_gradients(parameters);
      for (const SequenceRange& range : mini.micro_batches) {
        CARAVAN_ASSIGN_OR_RETURN(const at::Tensor micro_values, sequence_values(batch, range));
        const int64_t micro_columns = micro_values.size(1);
        const at::Tensor mask = rows_of(batch.mask, range, micro_columns);
        const ValueLossOutput loss = clipped_value_loss(
            {.values = micro_values,
             .old_values = rows_of(old_values, range, micro_columns),
             .returns = rows_of(returns, range, micro_columns),
             .mask = mask,
             .sequence_weights = batch.sequence_weights.defined()
                                     ? batch.sequence_weights.slice(0, range.begin, range.end)
                                     : at::Tensor(),
             .scope = &scope},
            options_.vf_clip, update_.aggregation, update_.max_tokens);
        (options_.loss_coef * loss.loss).backward();
        const double micro_tokens = mask.sum().item<double>();
        loss_sum += loss.loss.item<double>();
        clipped_tokens += loss.clip_fraction * micro_tokens;
        tokens += micro_tokens;
      }
      CARAVAN_ASSIGN_OR_RETURN(const double grad_norm,
                               clip_and_step(optimizer_, parameters, update_.max_grad_norm, data_parallel_));
      stats.grad_norm += grad_norm;
      ++updates;
    }
  }
  ++steps_done_;
  // The whole batch's: each rank's losses are parts of the mini-batches' (normalised by their
  // whole counts), and the grad norms are the same on every rank.
  CARAVAN_ASSIGN_OR_RETURN(const std::vector<double> whole,
                           sum_values({loss_sum, clipped_tokens, tokens}, sum_over_ranks_));
  const auto steps = static_cast<double>(std::max<int64_t>(updates, 1));
  stats.loss = whole[0] / steps;
  stats.grad_norm /= steps;
  stats.clip_fraction = whole[1] / std::max(whole[2], 1.0);
  CARAVAN_ASSIGN_OR_RETURN(stats.explained_variance,
                           explained_variance(old_values, returns, batch.mask, sum_over_ranks_));
  return stats;
}

Result<std::unique_ptr<ValueTrainer>> make_value_trainer(const ValueModelOptions& options, const model::Llama& policy,
                                                         at::ScalarType dtype, const ValueUpdateOptions& update,
                                                         DataParallel* data_parallel) {
  if (!options.enabled()) return std::unique_ptr<ValueTrainer>();
  ValueModel model{nullptr};
  if (options.path.empty()) {
    model = value_model_from_policy(policy);
  } else {
    CARAVAN_ASSIGN_OR_RETURN(model, load_value_model(options.path, policy->config().vocab_size, dtype));
    const at::Tensor first = policy->parameters().front();
    model->to(first.device());
  }
  return std::make_unique<ValueTrainer>(std::move(model), options, update, data_parallel);
}

} // namespace caravan::learner
