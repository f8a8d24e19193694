// File: model/kv_cache.h
// A preallocated, contiguous key/value cache for incremental decoding with model::Llama:
// per layer one K and one V tensor [batch, num_kv_heads, max_len, head_dim]. Every row of the
// batch has the same number of filled slots, length(); rows are left-padded by the caller,
// who also passes the key mask that says which slots hold real tokens.
//
//   model::KvCache cache(config, /*batch=*/4, /*max_len=*/64, at::kFloat, at::kCPU);
//   at::Tensor logits = model->forward(prompt, positions, mask, &cache);  // fills T slots
//   logits = model->forward(next_token, next_position, mask_plus_one, &cache);
//   cache.select_rows(unfinished_rows);  // drop finished sequences
//
// (The paged cache of the rollout engine lives in actors/; this one serves tests, the learner's
// reference scoring and simple generation.)
#pragma once

#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/transformer_config.h"

namespace caravan::model {

// Owns its tensors. Not thread-safe: one forward at a time.
class KvCache {
 public:
  KvCache(const core::TransformerConfig& config, int64_t batch, int64_t max_len, at::ScalarType dtype,
          at::Device device);

  // Filled slots per row (the `past` of the next forward).
  int64_t length() const { return length_; }
  int64_t max_length() const { return max_length_; }
  int64_t batch_size() const { return keys_.front().size(0); }
  int64_t num_layers() const { return static_cast<int64_t>(keys_.size()); }

  // Writes k and v ([batch, num_kv_heads, T, head_dim]) into slots [length(), length() + T) of
  // `layer` and returns views of that layer's keys and values over slots [0, length() + T).
  // Does not change length(): call advance(T) once every layer has appended.
  // length() + T > max_length(), a shape mismatch or a dtype other than the cache's is a bug
  // (CARAVAN_CHECK): build the cache with the model's parameter dtype.
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k, const at::Tensor& v);

  // Marks `count` more slots as filled.
  void advance(int64_t count);

  // Keeps the batch rows listed in `index` (int64 [n], in that order) and drops the others;
  // length() is unchanged. Callers select the same rows of their key mask.
  void select_rows(const at::Tensor& index);

 private:
  int64_t max_length_;
  int64_t length_ = 0;
  std::vector<at::Tensor> keys_;    // per layer [batch, num_kv_heads, max_len, head_dim]
  std::vector<at::Tensor> values_;  // same shape
};

} // namespace caravan::model
