#include "learner/train_step.h"

#include <algorithm>
#include <cmath>

#include <torch/nn/utils/clip_grad.h>

namespace caravan::learner {

at::Device model_device(const model::LlamaImpl& model) {
  const std::vector<at::Tensor> parameters = model.parameters();
  CARAVAN_CHECK(!parameters.empty(), "model has no parameters");
  return parameters.front().device();
}

at::Tensor target_logits(model::LlamaImpl& model, const SequenceBatch& batch) {
  // The head runs on the target rows alone: the last position of each row predicts nothing, and
  // slicing [R, L, V] logits afterwards would copy them whole in the loss and zero-fill a
  // gradient of that size in the backward pass (about 5% of a CPU training step at V = 32768).
  return model.logits(target_hidden_states(model, batch));
}

at::Tensor target_hidden_states(model::LlamaImpl& model, const SequenceBatch& batch) {
  const auto body = std::dynamic_pointer_cast<model::LlamaModelImpl>(model.named_children()["model"]);
  CARAVAN_CHECK(body != nullptr, "the causal LM has no \"model\" body (model/llama.h)");
  const at::Device device = model_device(model);
  const int64_t rows = batch.tokens.size(0);
  const int64_t length = batch.tokens.size(1);
  // The batch's attention blocks (learner/sequence_batch.h): a padded row's pads sit after its
  // real tokens, so causal attention keeps them out of every real token's view.
  const model::BatchLayout layout = model::BatchLayout::packed(batch.segments, device);
  const at::Tensor hidden = body->forward(batch.tokens.to(device).reshape({-1}), layout, nullptr).view({rows, length, -1});
  return hidden.slice(/*dim=*/1, /*start=*/0, /*end=*/length - 1);
}

at::Tensor output_head_weight(model::LlamaImpl& model) {
  const auto parameters = model.named_parameters(/*recurse=*/true);
  const at::Tensor* head = parameters.find("lm_head.weight");
  if (head == nullptr) head = parameters.find("model.embed_tokens.weight");
  CARAVAN_CHECK(head != nullptr, "the causal LM has neither lm_head.weight nor model.embed_tokens.weight");
  return *head;
}

void zero_gradients(const std::vector<at::Tensor>& parameters) {
  for (const at::Tensor& parameter : parameters) {
    if (parameter.grad().defined()) parameter.mutable_grad().zero_();
  }
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
