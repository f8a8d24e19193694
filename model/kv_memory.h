// File: model/kv_memory.h
// Where a forward pass of model::Llama keeps and finds keys and values: the interface between
// the model and a KV cache. The model hands each layer's new keys/values to store() and asks
// read() for the keys/values each attention group of the BatchLayout attends; the memory
// decides where they live. Implementations: model::KvCache (dense, contiguous rows) and
// rollout::PagedKvCache (fixed-size blocks). Without memory (nullptr) the model attends only the
// layout's new tokens: the learner's teacher-forced forward.
//
// The call sequence of one forward (the model makes it; callers only pass the memory):
//   memory.begin_forward(layout);
//   for each layer: memory.store(layer, k, v); for each group g: memory.read(layer, g);
//   memory.end_forward();
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include <ATen/ATen.h>

#include "model/batch_layout.h"

namespace caravan::model {

// Not thread-safe: one forward at a time.
class KvMemory {
 public:
  virtual ~KvMemory() = default;

  // Starts a forward over `layout` (which must outlive end_forward()): every sequence's
  // memory_slot must be known to the memory and hold exactly `past` tokens, with room for its
  // new tokens (CARAVAN_CHECK: the caller reserves room first).
  virtual void begin_forward(const BatchLayout& layout) = 0;

  // Stores layer `layer`'s keys and values of the layout's N new tokens, each [N, num_kv_heads,
  // head_dim] in flat token order, after each sequence's `past` slots.
  virtual void store(int64_t layer, const at::Tensor& keys, const at::Tensor& values) = 0;

  // Keys and values of layer `layer` that group `group` of the layout attends, each [G,
  // num_kv_heads, S, head_dim] with S = the group's `keys`: row m holds member m's past + new
  // keys in position order; slots beyond a member's own length are unspecified (masked out).
  // Valid after store() for this layer.
  virtual std::pair<at::Tensor, at::Tensor> read(int64_t layer, size_t group) = 0;

  // Ends the forward: every sequence now holds past + new_tokens tokens.
  virtual void end_forward() = 0;
};

} // namespace caravan::model
