// File: learner/sft_loss.h
// Supervised fine-tuning loss: cross entropy of the next token, averaged over the tokens
// selected by a mask (the answer tokens; prompt and padding are excluded).
//
//   at::Tensor loss = learner::sft_loss(logits, batch.targets, batch.loss_mask);
//   loss.backward();
#pragma once

#include <ATen/ATen.h>

namespace caravan::learner {

// loss = -sum(mask * log_softmax(logits)[targets]) / sum(mask), a scalar.
// `logits`: [B,T,V] floating; `targets`: [B,T] int64 in [0, V); `mask`: [B,T], 1 = counted.
// An all-zero mask gives 0 (differentiable, zero gradient). Targets under a zero mask may be
// any valid id (e.g. padding). Mismatched shapes are a bug (CARAVAN_CHECK). Thread-safe.
at::Tensor sft_loss(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& mask);

} // namespace caravan::learner
