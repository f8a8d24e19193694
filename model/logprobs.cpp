#include "model/logprobs.h"

#include "core/status.h"

namespace caravan::model {

at::Tensor token_logprobs(const at::Tensor& logits, const at::Tensor& targets, double temperature) {
  CARAVAN_CHECK(logits.dim() == 3 && targets.dim() == 2 && logits.size(0) == targets.size(0) &&
                    logits.size(1) == targets.size(1),
                "token_logprobs: logits ", logits.sizes(), " and targets ", targets.sizes(), " disagree");
  CARAVAN_CHECK(targets.scalar_type() == at::kLong, "token_logprobs: targets must be int64, got ",
                targets.scalar_type());
  return scaled_log_softmax(logits, temperature).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
}

at::Tensor scaled_log_softmax(const at::Tensor& logits, double temperature) {
  const double scale = temperature > 0.0 ? temperature : 1.0;
  // Half and bfloat16 are upcast to float32; float64 (gradient checks) stays float64.
  return at::log_softmax(logits.to(at::promote_types(logits.scalar_type(), at::kFloat)) / scale, -1);
}

} // namespace caravan::model
