// File: learner/chunked_logprobs.h
// Token logprobs and entropies straight from the final hidden states and the output head,
// computed a chunk of positions at a time, in the forward pass and again in the backward pass,
// so that the [tokens x vocab] float32 logits (and their softmax, which autograd would keep for
// backward) never exist at once: at most [chunk_size x vocab] does. The same idea as Liger
// Kernel's fused linear cross entropy, in plain ATen.
//
//   at::Tensor hidden = learner::target_hidden_states(*policy, batch);           // [B, L-1, H]
//   learner::TokenStatistics s = learner::chunked_token_statistics(
//       hidden, learner::output_head_weight(*policy), targets, temperature, /*chunk_size=*/1024);
//   // s.logprobs == model::token_logprobs(policy->forward(...)[:, :-1], targets, temperature)
//
// Forward, per row n with z = (hidden[n] . W^T) / temperature (float32; float64 for float64
// inputs), logZ = logsumexp(z):
//   logprob[n] = z[target[n]] - logZ,    entropy[n] = logZ - sum_v softmax(z)_v z_v.
// Backward recomputes z per chunk; with p = softmax(z), for incoming gradients g and h:
//   dL/dz_v = (g (1[v = target] - p_v) - h p_v (log p_v + entropy)) / temperature
// and dL/dhidden = dL/dz . W, dL/dW = sum_n dL/dz^T hidden (accumulated in float32 or wider).
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace caravan::learner {

struct TokenStatistics {
  // log softmax(z)[target], [B,T] float32 (float64 for float64 inputs), differentiable w.r.t.
  // hidden and the head weight.
  at::Tensor logprobs;
  // Entropy of softmax(z), [B,T] (nats), same dtype, differentiable likewise.
  at::Tensor entropy;
};

// hidden: [B,T,H] floating; head_weight: [V,H] floating (the same dtype, or under autocast a
// float32 weight with bfloat16 hidden states: at::linear casts); targets: [B,T] int64 in [0, V). temperature <= 0 is treated as 1 (as
// model::token_logprobs does); chunk_size >= 1 positions. Shape or dtype mismatches are bugs
// (CARAVAN_CHECK). Not thread-safe with respect to concurrent backward passes over shared tensors
// (plain autograd rules).
TokenStatistics chunked_token_statistics(const at::Tensor& hidden, const at::Tensor& head_weight,
                                         const at::Tensor& targets, double temperature, int64_t chunk_size);

} // namespace caravan::learner
