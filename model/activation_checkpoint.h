// File: model/activation_checkpoint.h
// Activation (gradient) checkpointing: run a block without keeping its intermediate
// activations, and run it again during the backward pass to get its gradients. Memory for a
// stack of L blocks falls from L blocks' activations to L block inputs plus one block's
// activations, for one extra forward of each block. The reentrant variant of PyTorch's
// torch.utils.checkpoint, as a LibTorch custom autograd Function: the forward runs under
// no-grad; the backward enables grad, reruns the block on a detached copy of the saved input and
// backpropagates the incoming gradient through it, which accumulates the gradients of the
// block's parameters into their .grad and returns the input's.
//
//   hidden = model::checkpointed([layer, rope, allowed](const at::Tensor& x) {
//     return layer->forward(x, rope, allowed, nullptr);
//   }, hidden);
//
// The block must be deterministic (no dropout or other random draws: the rerun must compute the
// same function) and must not mutate state (no KV cache). Parameters get their gradient during
// the backward pass like those of an ordinary block; torch::autograd::grad() restricted to other
// inputs still accumulates them (the reentrant variant's known limitation).
#pragma once

#include <functional>

#include <ATen/ATen.h>

namespace caravan::model {

// `block` maps a [.., H] tensor to a tensor; it is copied and kept until the backward pass (its
// captures must stay valid: capture tensors and module handles by value). Without grad mode
// this is just block(input).
at::Tensor checkpointed(const std::function<at::Tensor(const at::Tensor&)>& block, const at::Tensor& input);

} // namespace caravan::model
