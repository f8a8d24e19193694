#include "learner/sft_loss.h"

#include "core/status.h"

namespace caravan::learner {

at::Tensor sft_loss(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& mask) {
  CARAVAN_CHECK(logits.dim() == 3, "logits must be [B,T,V], got rank ", logits.dim());
  CARAVAN_CHECK(targets.sizes() == logits.sizes().slice(0, 2) && mask.sizes() == targets.sizes(),
                "sft_loss shapes disagree: logits ", logits.sizes(), " targets ", targets.sizes(), " mask ",
                mask.sizes());
  const int64_t vocab = logits.size(2);
  const at::Tensor token_loss =
      at::cross_entropy_loss(logits.reshape({-1, vocab}), targets.reshape({-1}), /*weight=*/{},
                             at::Reduction::None)
          .view(targets.sizes());
  const at::Tensor weights = mask.detach().to(logits.scalar_type());
  return (token_loss * weights).sum() / weights.sum().clamp_min(1.0);
}

} // namespace caravan::learner
