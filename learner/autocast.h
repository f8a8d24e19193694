// File: learner/autocast.h
// bf16 mixed precision with fp32 master weights: inside a BfloatAutocast scope, LibTorch's
// autocast runs the matmul-type ops (linear, matmul, bmm, ...) in bfloat16 on float32
// parameters and inputs, and keeps the precision-sensitive ones (softmax, norms, reductions) in
// float32; the parameters, their gradients and the optimizer state stay float32. The scope
// covers the forward pass only; backward() runs after it (as torch.autocast prescribes), each
// op's gradient in the dtype its forward used.
//
//   {
//     learner::BfloatAutocast autocast(device, /*enabled=*/options.bf16_autocast);
//     logprobs = ...policy forward...;
//   }
//   loss.backward();
//
// Device support: CUDA autocast (bf16 on Ampere and newer) and LibTorch 1.13's CPU autocast,
// which covers linear/matmul in bfloat16 (slow on CPUs without bf16 instructions: a numerics
// switch on CPU, a speed switch on GPUs).
#pragma once

#include <ATen/ATen.h>

namespace caravan::learner {

// RAII: enables autocast to bfloat16 for `device`'s type (kCPU or kCUDA) when `enabled`, and
// restores the previous autocast state (enabled flag, dtype) on destruction, clearing the cast
// cache when the outermost scope ends. Owner thread only (autocast state is thread-local).
// Another device type is a bug (CARAVAN_CHECK).
class BfloatAutocast {
 public:
  BfloatAutocast(at::Device device, bool enabled);
  ~BfloatAutocast();
  BfloatAutocast(const BfloatAutocast&) = delete;
  BfloatAutocast& operator=(const BfloatAutocast&) = delete;

 private:
  bool enabled_;
  bool cuda_ = false;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

} // namespace caravan::learner
