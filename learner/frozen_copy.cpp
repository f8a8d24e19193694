#include "learner/frozen_copy.h"

namespace caravan::learner {

model::Llama frozen_copy(const model::Llama& source) {
  model::Llama copy(source->config());
  const at::Tensor first = source->parameters().front();
  copy->to(first.device(), first.scalar_type());
  at::NoGradGuard no_grad;
  const auto source_parameters = source->named_parameters(/*recurse=*/true);
  for (auto& item : copy->named_parameters(/*recurse=*/true)) {
    item.value().copy_(source_parameters[item.key()]);
    item.value().set_requires_grad(false);
  }
  const auto source_buffers = source->named_buffers(/*recurse=*/true);
  for (auto& item : copy->named_buffers(/*recurse=*/true)) item.value().copy_(source_buffers[item.key()]);
  copy->eval();
  return copy;
}

} // namespace caravan::learner
