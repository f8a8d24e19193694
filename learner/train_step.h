// File: learner/train_step.h
// The pieces every trainer step shares (SFT and GRPO): a teacher-forced forward pass over a
// packed batch, and the clip-then-step optimizer update.
//
//   policy->train();
//   at::Tensor logits = learner::target_logits(*policy, batch);    // [B, L-1, V]
//   at::Tensor loss = learner::sft_loss(logits, batch.targets.to(logits.device()), ...);
//   optimizer.zero_grad();
//   loss.backward();
//   CARAVAN_ASSIGN_OR_RETURN(double grad_norm, learner::clip_and_step(optimizer, policy->parameters(), 1.0));
#pragma once

#include <vector>

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include "core/status.h"
#include "learner/sequence_batch.h"
#include "model/llama.h"

namespace caravan::learner {

// The device of `model`'s parameters (where batches must go).
at::Device model_device(const model::LlamaImpl& model);

// Runs `model` over batch.tokens (no KV cache, attention blocks batch.segments) on the model's
// device and returns the logits that predict batch.targets: [R, L-1, V] float32, cell j
// predicting targets[:, j]. Records
// autograd history unless the caller holds a NoGradGuard. Not thread-safe (uses the model).
at::Tensor target_logits(model::LlamaImpl& model, const SequenceBatch& batch);

// Like target_logits, but stops before the output head: the final-normed hidden states
// [R, L-1, hidden] (the parameters' dtype) whose rows predict batch.targets. With
// output_head_weight() they feed learner/chunked_logprobs.h, which never materialises the
// [B, L-1, V] logits. Not thread-safe (uses the model).
at::Tensor target_hidden_states(model::LlamaImpl& model, const SequenceBatch& batch);

// The output head's weight [vocab_size, hidden] (the embedding's when tie_word_embeddings): the
// Hugging Face parameter "lm_head.weight" or "model.embed_tokens.weight" (model/llama.h).
at::Tensor output_head_weight(model::LlamaImpl& model);

// Zeroes the gradient of each of `parameters` that has one (an optimizer's zero_grad() reaches
// only its own parameters: a data-parallel rank's ZeRO-1 shard holds some of the model's).
void zero_gradients(const std::vector<at::Tensor>& parameters);

// The gradients must already be accumulated (after loss.backward()). Clips their global L2
// norm to `max_grad_norm` (> 0), runs optimizer.step() and returns the norm before clipping.
// A non-finite norm (NaN/Inf loss or gradient) skips the update, zeroes the gradients, and
// returns kInternal so that a diverged step never corrupts the weights.
Result<double> clip_and_step(torch::optim::Optimizer& optimizer, const std::vector<at::Tensor>& parameters,
                             double max_grad_norm);

} // namespace caravan::learner
