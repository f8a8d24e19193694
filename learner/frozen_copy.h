// File: learner/frozen_copy.h
// The frozen reference model of the KL penalty (GRPO) and of DPO's log-ratios: a copy of the
// policy at one moment that never trains.
//
//   model::Llama reference = learner::frozen_copy(policy);
//   at::NoGradGuard no_grad;
//   at::Tensor logits = reference->forward(...);
#pragma once

#include "model/llama.h"

namespace caravan::learner {

// A new Llama with `source`'s config, device, dtype, weights and buffers; its parameters do not
// require gradients and it is in eval mode. Not thread-safe with respect to `source`.
model::Llama frozen_copy(const model::Llama& source);

} // namespace caravan::learner
