// File: actors/rollout/block_allocator.h
// The bookkeeping of a paged KV cache's blocks, without tensors: a fixed pool of block ids, a
// reference count per block (sequences sharing a prompt's blocks each hold a reference), a free
// list, and the prefix cache: a full block can be published under the hash of the tokens it and
// every block before it hold (chained), and a later sequence whose prompt starts with the same
// tokens takes a reference to it instead of recomputing it. A published block whose last
// reference is released stays findable until the allocator hands its id out again (least
// recently freed first), so freed prefixes are reused while memory allows.
//
//   BlockAllocator blocks(/*num_blocks=*/1024);
//   std::optional<int32_t> block = blocks.allocate();    // refcount 1
//   blocks.publish(*block, chained_hash);                // once the block is full
//   std::optional<int32_t> hit = blocks.find(chained_hash);  // refcount 2
//   blocks.release(*hit);
//   blocks.release(*block);                              // free again, still findable
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace caravan::rollout {

// The chained hash of a full block: mixes the previous block's hash (0 for the first block)
// with the block's token ids.
uint64_t block_hash(uint64_t previous, std::span<const int32_t> tokens);

// Owner thread only (the engine's).
class BlockAllocator {
 public:
  // num_blocks >= 1.
  explicit BlockAllocator(int64_t num_blocks);

  int64_t num_blocks() const { return static_cast<int64_t>(ref_counts_.size()); }
  // Blocks with no reference (cached prefixes included): what allocate() can hand out.
  int64_t num_free() const { return static_cast<int64_t>(free_.size()); }
  int64_t num_used() const { return num_blocks() - num_free(); }
  int32_t ref_count(int32_t block) const;

  // A free block with reference count 1 (its published hash, if any, forgotten), or nullopt
  // when every block is referenced.
  std::optional<int32_t> allocate();
  // One more reference to a referenced block (CARAVAN_CHECK otherwise).
  void retain(int32_t block);
  // Drops one reference; the last one returns the block to the free list. Releasing a free
  // block is a double free: CARAVAN_CHECK.
  void release(int32_t block);

  // Makes a referenced, full block findable under `hash` (replacing an older block of the same
  // hash in the index).
  void publish(int32_t block, uint64_t hash);
  // The block published under `hash`, with one more reference (taken off the free list if it
  // had none), or nullopt. Counts a lookup and, when found, a hit.
  std::optional<int32_t> find(uint64_t hash);
  // Forgets every published hash (the weights changed: cached keys are stale).
  void forget_prefixes();

  int64_t prefix_lookups() const { return prefix_lookups_; }
  int64_t prefix_hits() const { return prefix_hits_; }

 private:
  std::vector<int32_t> ref_counts_;
  std::list<int32_t> free_;  // least recently freed first
  std::vector<std::list<int32_t>::iterator> free_position_;  // valid while the block is free
  std::vector<std::optional<uint64_t>> hash_of_;             // per block, when published
  std::unordered_map<uint64_t, int32_t> by_hash_;
  int64_t prefix_lookups_ = 0;
  int64_t prefix_hits_ = 0;
};

} // namespace caravan::rollout
