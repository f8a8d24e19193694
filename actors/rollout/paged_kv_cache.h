// File: actors/rollout/paged_kv_cache.h
// The rollout engine's KV memory (a model::KvMemory): per layer one key and one value pool of
// num_blocks fixed-size blocks, allocated once at construction and never grown. A sequence
// lives in a slot (the BatchLayout memory_slot) whose block table lists the blocks holding its
// positions 0, 1, ... in order (position p in block table[p / block_size] at offset p %
// block_size). Blocks are reference counted (BlockAllocator): fork() lets the samples of a
// GRPO group share their prompt's blocks, and a shared, partly filled last block is copied
// before a sequence writes into it (copy on write). Full blocks are published under their chained
// token hash, so a later sequence with the same prompt prefix attaches them instead of
// recomputing them.
//
//   PagedKvCache cache(config, /*num_blocks=*/512, /*block_size=*/16, at::kFloat, at::kCPU);
//   int64_t slot = cache.open_sequence();
//   int64_t reused = cache.attach_prefix(slot, prompt, prompt.size() - 1);  // cached full blocks
//   if (!cache.reserve(slot, prompt.size() - reused)) { /* preempt someone, retry */ }
//   model->forward(tokens, layout /*memory_slot = slot, past = reused*/, &cache);
//   cache.publish_full_blocks(slot, prompt);
//   int64_t sibling = cache.fork(slot);                                      // shares every block
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "actors/rollout/block_allocator.h"
#include "core/transformer_config.h"
#include "model/kv_memory.h"

namespace caravan::rollout {

// Owner thread only (the engine's). Not copyable (it owns the pools).
class PagedKvCache : public model::KvMemory {
 public:
  // num_blocks >= 1, block_size >= 1.
  PagedKvCache(const core::TransformerConfig& config, int64_t num_blocks, int64_t block_size, at::ScalarType dtype,
               at::Device device);
  PagedKvCache(const PagedKvCache&) = delete;
  PagedKvCache& operator=(const PagedKvCache&) = delete;

  // Bytes one block takes over every layer, keys and values.
  static int64_t block_bytes(const core::TransformerConfig& config, int64_t block_size, at::ScalarType dtype);

  int64_t block_size() const { return block_size_; }
  // Blocks needed to hold `tokens` positions.
  int64_t blocks_for(int64_t tokens) const { return (tokens + block_size_ - 1) / block_size_; }
  const BlockAllocator& blocks() const { return blocks_; }

  // A new empty sequence slot.
  int64_t open_sequence();
  // Releases the slot's blocks; the slot id may be handed out again.
  void close_sequence(int64_t slot);
  // A new slot holding the same positions as `slot`, sharing every block (one more reference
  // each). Allocates nothing.
  int64_t fork(int64_t slot);
  // Positions the slot holds.
  int64_t length(int64_t slot) const { return sequence(slot).length; }
  const std::vector<int32_t>& block_table(int64_t slot) const { return sequence(slot).table; }

  // Blocks reserve(slot, count) would allocate (copy on write included).
  int64_t blocks_needed(int64_t slot, int64_t count) const;
  // Makes room for `count` more positions: copies a shared, partly filled last block, then
  // appends blocks. Returns false, changing nothing, when too few blocks are free.
  bool reserve(int64_t slot, int64_t count);

  // For an empty slot: attaches the published blocks that hold `tokens`' leading full blocks,
  // at most max_tokens positions' worth, and returns the positions now held (a multiple of
  // block_size; the slot's length).
  int64_t attach_prefix(int64_t slot, std::span<const int32_t> tokens, int64_t max_tokens);
  // Publishes the slot's full blocks not published yet; `tokens` are the tokens at the slot's
  // positions (at least length(slot) of them).
  void publish_full_blocks(int64_t slot, std::span<const int32_t> tokens);
  // Forgets every published block (new weights: the cached keys are stale).
  void forget_prefixes() { blocks_.forget_prefixes(); }

  // The pool row (of keys(layer) and values(layer)) that holds `position` of `slot`; the
  // position must be reserved.
  int64_t pool_row(int64_t slot, int64_t position) const;
  // Per-layer pools, [num_blocks * block_size, num_kv_heads, head_dim], for a forward that stores
  // and reads through its own index tensors (a replayed CUDA graph, DecodeGraphs).
  const at::Tensor& keys(int64_t layer) const { return keys_.at(static_cast<size_t>(layer)); }
  const at::Tensor& values(int64_t layer) const { return values_.at(static_cast<size_t>(layer)); }
  // Records `count` more positions of `slot` computed by such a forward (what end_forward does
  // for a forward through this memory); they must be reserved (CARAVAN_CHECK).
  void advance(int64_t slot, int64_t count);

  // model::KvMemory. A layout slot that is not open, whose past differs from its length, or
  // whose new tokens exceed the reserved blocks is a bug (CARAVAN_CHECK).
  void begin_forward(const model::BatchLayout& layout) override;
  void store(int64_t layer, const at::Tensor& keys, const at::Tensor& values) override;
  std::pair<at::Tensor, at::Tensor> read(int64_t layer, size_t group) override;
  void end_forward() override;

 private:
  struct Sequence {
    bool open = false;
    int64_t length = 0;
    std::vector<int32_t> table;
    // Chained hashes of the first hashes.size() blocks, all published.
    std::vector<uint64_t> hashes;
  };
  const Sequence& sequence(int64_t slot) const;
  Sequence& sequence(int64_t slot);
  int64_t position_slot(const Sequence& sequence, int64_t position) const;

  int64_t block_size_;
  BlockAllocator blocks_;
  std::vector<at::Tensor> keys_;    // per layer [num_blocks * block_size, num_kv_heads, head_dim]
  std::vector<at::Tensor> values_;  // same shape
  std::vector<Sequence> sequences_;
  std::vector<int64_t> closed_slots_;
  // Set by begin_forward, cleared by end_forward.
  const model::BatchLayout* layout_ = nullptr;
  at::Tensor write_index_;               // int64 [N]: pool row of every new token
  std::vector<at::Tensor> read_index_;   // per group int64 [G * S]: pool rows of every member's keys
};

} // namespace caravan::rollout
