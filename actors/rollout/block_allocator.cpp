#include "actors/rollout/block_allocator.h"

#include "core/hash.h"
#include "core/status.h"

namespace caravan::rollout {

uint64_t block_hash(uint64_t previous, std::span<const int32_t> tokens) {
  uint64_t hash = core::splitmix64(previous ^ 0x6b76626c6f636bULL);
  for (const int32_t token : tokens) hash = core::splitmix64(hash ^ static_cast<uint32_t>(token));
  return hash;
}

BlockAllocator::BlockAllocator(int64_t num_blocks)
    : ref_counts_(static_cast<size_t>(num_blocks > 0 ? num_blocks : 0), 0),
      free_position_(ref_counts_.size()),
      hash_of_(ref_counts_.size()) {
  CARAVAN_CHECK(num_blocks >= 1, "BlockAllocator needs at least one block, got ", num_blocks);
  for (int32_t block = 0; block < num_blocks; ++block) {
    free_position_[static_cast<size_t>(block)] = free_.insert(free_.end(), block);
  }
}

int32_t BlockAllocator::ref_count(int32_t block) const {
  CARAVAN_CHECK(block >= 0 && block < num_blocks(), "block ", block, " out of range [0, ", num_blocks(), ")");
  return ref_counts_[static_cast<size_t>(block)];
}

std::optional<int32_t> BlockAllocator::allocate() {
  if (free_.empty()) return std::nullopt;
  const int32_t block = free_.front();
  free_.pop_front();
  auto& hash = hash_of_[static_cast<size_t>(block)];
  if (hash) {
    const auto found = by_hash_.find(*hash);
    if (found != by_hash_.end() && found->second == block) by_hash_.erase(found);
    hash.reset();
  }
  ref_counts_[static_cast<size_t>(block)] = 1;
  return block;
}

void BlockAllocator::retain(int32_t block) {
  CARAVAN_CHECK(ref_count(block) > 0, "retain of free block ", block);
  ++ref_counts_[static_cast<size_t>(block)];
}

void BlockAllocator::release(int32_t block) {
  CARAVAN_CHECK(ref_count(block) > 0, "double free of block ", block);
  if (--ref_counts_[static_cast<size_t>(block)] == 0) {
    free_position_[static_cast<size_t>(block)] = free_.insert(free_.end(), block);
  }
}

void BlockAllocator::publish(int32_t block, uint64_t hash) {
  CARAVAN_CHECK(ref_count(block) > 0, "publish of free block ", block);
  auto& current = hash_of_[static_cast<size_t>(block)];
  if (current) {
    const auto found = by_hash_.find(*current);
    if (found != by_hash_.end() && found->second == block) by_hash_.erase(found);
  }
  current = hash;
  by_hash_[hash] = block;
}

std::optional<int32_t> BlockAllocator::find(uint64_t hash) {
  ++prefix_lookups_;
  const auto found = by_hash_.find(hash);
  if (found == by_hash_.end()) return std::nullopt;
  const int32_t block = found->second;
  if (ref_counts_[static_cast<size_t>(block)] == 0) free_.erase(free_position_[static_cast<size_t>(block)]);
  ++ref_counts_[static_cast<size_t>(block)];
  ++prefix_hits_;
  return block;
}

void BlockAllocator::forget_prefixes() {
  by_hash_.clear();
  for (auto& hash : hash_of_) hash.reset();
}

} // namespace caravan::rollout
