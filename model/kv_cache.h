// File: model/kv_cache.h
// A preallocated, contiguous key/value cache (a model::KvMemory): per layer one K and one V
// tensor [rows, num_kv_heads, max_len, head_dim]. A sequence lives in one row (its
// BatchLayout memory_slot) and fills that row's slots 0, 1, ... in position order; each row has
// its own length. It serves tests and simple generation; the rollout engine's paged cache is
// actors/rollout/paged_kv_cache.h.
//
//   model::KvCache cache(config, /*rows=*/2, /*max_len=*/64, at::kFloat, at::kCPU);
//   model::BatchLayout prefill({{.new_tokens = 5, .past = 0, .memory_slot = 0},
//                               {.new_tokens = 3, .past = 0, .memory_slot = 1}}, at::kCPU);
//   at::Tensor logits = model->forward(prompts /*[8]*/, prefill, &cache);  // rows hold 5 and 3
//   model::BatchLayout step({{.new_tokens = 1, .past = 5, .memory_slot = 0}}, at::kCPU);
//   logits = model->forward(next /*[1]*/, step, &cache);                  // row 0 holds 6
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/transformer_config.h"
#include "model/kv_memory.h"

namespace caravan::model {

// Owns its tensors. Not thread-safe: one forward at a time.
class KvCache : public KvMemory {
 public:
  KvCache(const core::TransformerConfig& config, int64_t rows, int64_t max_len, at::ScalarType dtype,
          at::Device device);

  int64_t rows() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t max_length() const { return max_length_; }
  int64_t num_layers() const { return static_cast<int64_t>(keys_.size()); }
  // Filled slots of `row`.
  int64_t length(int64_t row) const { return lengths_.at(static_cast<size_t>(row)); }

  // KvMemory. A layout whose slot is not a row, whose past differs from the row's length, or
  // whose new tokens overflow max_len, and keys of another dtype than the cache's, are bugs
  // (CARAVAN_CHECK): build the cache with the model's parameter dtype.
  void begin_forward(const BatchLayout& layout) override;
  void store(int64_t layer, const at::Tensor& keys, const at::Tensor& values) override;
  std::pair<at::Tensor, at::Tensor> read(int64_t layer, size_t group) override;
  void end_forward() override;

 private:
  int64_t max_length_;
  std::vector<int64_t> lengths_;    // per row
  std::vector<at::Tensor> keys_;    // per layer [rows, num_kv_heads, max_len, head_dim]
  std::vector<at::Tensor> values_;  // same shape
  // Set by begin_forward, cleared by end_forward.
  const BatchLayout* layout_ = nullptr;
  at::Tensor token_rows_;               // int64 [N]: the row of each new token
  at::Tensor token_slots_;              // int64 [N]: its slot in that row
  std::vector<at::Tensor> group_rows_;  // per group int64 [G]; undefined when the rows are 0..G-1
};

} // namespace caravan::model
