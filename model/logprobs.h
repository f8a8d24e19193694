// File: model/logprobs.h
// Log-probabilities of chosen tokens under temperature-scaled logits. The rollout sampler and
// the learner both call this one function, so the logprobs recorded at sampling time and the
// ones recomputed for the loss agree exactly for the same logits.
//
//   at::Tensor logits = llama->forward(tokens, positions, mask);         // [B, T, V]
//   at::Tensor next = tokens.slice(1, 1);                                 // targets
//   at::Tensor lp = model::token_logprobs(logits.slice(1, 0, -1), next, /*temperature=*/0.7);
#pragma once

#include <ATen/ATen.h>

namespace caravan::model {

// log_softmax(logits / temperature, over V)[b, t, targets[b, t]] as float32 [B, T] (float64 for
// float64 logits).
// logits: [B, T, V] any floating dtype (half types upcast to float32 first). targets: [B, T] int64 in
// [0, V). temperature <= 0 (greedy decoding) is treated as 1.0, so greedy rollouts record the
// model's unscaled logprobs. Differentiable with respect to logits. Shape mismatches are bugs
// (CARAVAN_CHECK).
at::Tensor token_logprobs(const at::Tensor& logits, const at::Tensor& targets, double temperature);

// log_softmax(logits / temperature) over the last dimension, computed exactly as token_logprobs
// does (same upcast, same temperature rule), for callers that need more than the targets' values
// (the rollout sampler's top logprobs).
at::Tensor scaled_log_softmax(const at::Tensor& logits, double temperature);

} // namespace caravan::model
