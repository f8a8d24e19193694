#include "learner/train_step.h"

#include <algorithm>
#include <cmath>

#include <torch/nn/utils/clip_grad.h>

namespace caravan::learner {

double linear_warmup_learning_rate(double peak, int64_t warmup_steps, int64_t step) {
  if (warmup_steps == 0) return peak;
  const double fraction = static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  return peak * std::min(1.0, fraction);
}

at::Device model_device(const model::LlamaImpl& model) {
  const std::vector<at::Tensor> parameters = model.parameters();
  CARAVAN_CHECK(!parameters.empty(), "model has no parameters");
  return parameters.front().device();
}

at::Tensor target_logits(model::LlamaImpl& model, const SequenceBatch& batch) {
  const at::Device device = model_device(model);
  const int64_t length = batch.tokens.size(1);
  const at::Tensor logits =
      model.forward(batch.tokens.to(device), batch.positions.to(device), batch.key_mask.to(device), nullptr);
  // TODO(perf): the last position's logits predict nothing; the model could skip its head.
  return logits.slice(/*dim=*/1, /*start=*/0, /*end=*/length - 1);
}

Result<double> clip_and_step(torch::optim::Optimizer& optimizer, const std::vector<at::Tensor>& parameters,
                             double max_grad_norm) {
  CARAVAN_CHECK(max_grad_norm > 0, "max_grad_norm must be > 0, got ", max_grad_norm);
  const double grad_norm = torch::nn::utils::clip_grad_norm_(parameters, max_grad_norm);
  if (!std::isfinite(grad_norm)) {
    optimizer.zero_grad();
    return Status::internal(str_cat("non-finite gradient norm ", grad_norm, "; update skipped"));
  }
  optimizer.step();
  return grad_norm;
}

} // namespace caravan::learner
