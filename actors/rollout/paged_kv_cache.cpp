#include "actors/rollout/paged_kv_cache.h"

#include <algorithm>

#include "core/status.h"

namespace caravan::rollout {

PagedKvCache::PagedKvCache(const core::TransformerConfig& config, int64_t num_blocks, int64_t block_size,
                           at::ScalarType dtype, at::Device device)
    : block_size_(block_size), blocks_(num_blocks) {
  CARAVAN_CHECK(block_size >= 1, "PagedKvCache: block_size must be >= 1, got ", block_size);
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    keys_.push_back(at::zeros({num_blocks * block_size, config.num_kv_heads, config.head_dim()}, options));
    values_.push_back(at::zeros_like(keys_.back()));
  }
}

int64_t PagedKvCache::block_bytes(const core::TransformerConfig& config, int64_t block_size, at::ScalarType dtype) {
  return 2 * config.num_layers * block_size * config.num_kv_heads * config.head_dim() *
         static_cast<int64_t>(c10::elementSize(dtype));
}

const PagedKvCache::Sequence& PagedKvCache::sequence(int64_t slot) const {
  CARAVAN_CHECK(slot >= 0 && slot < static_cast<int64_t>(sequences_.size()) && sequences_[static_cast<size_t>(slot)].open,
                "PagedKvCache: slot ", slot, " is not open");
  return sequences_[static_cast<size_t>(slot)];
}

PagedKvCache::Sequence& PagedKvCache::sequence(int64_t slot) {
  return const_cast<Sequence&>(static_cast<const PagedKvCache*>(this)->sequence(slot));
}

int64_t PagedKvCache::open_sequence() {
  int64_t slot = static_cast<int64_t>(sequences_.size());
  if (!closed_slots_.empty()) {
    slot = closed_slots_.back();
    closed_slots_.pop_back();
  } else {
    sequences_.emplace_back();
  }
  sequences_[static_cast<size_t>(slot)] = Sequence{.open = true};
  return slot;
}

void PagedKvCache::close_sequence(int64_t slot) {
  Sequence& closing = sequence(slot);
  for (const int32_t block : closing.table) blocks_.release(block);
  closing = Sequence{};
  closed_slots_.push_back(slot);
}

int64_t PagedKvCache::fork(int64_t slot) {
  const int64_t child = open_sequence();
  Sequence copy = sequence(slot);  // after open_sequence: sequences_ may have grown
  for (const int32_t block : copy.table) blocks_.retain(block);
  sequences_[static_cast<size_t>(child)] = std::move(copy);
  return child;
}

int64_t PagedKvCache::blocks_needed(int64_t slot, int64_t count) const {
  const Sequence& s = sequence(slot);
  const bool copy_on_write =
      count > 0 && s.length % block_size_ != 0 && blocks_.ref_count(s.table.back()) > 1;
  return std::max<int64_t>(0, blocks_for(s.length + count) - static_cast<int64_t>(s.table.size())) +
         (copy_on_write ? 1 : 0);
}

bool PagedKvCache::reserve(int64_t slot, int64_t count) {
  if (blocks_needed(slot, count) > blocks_.num_free()) return false;
  Sequence& s = sequence(slot);
  if (count > 0 && s.length % block_size_ != 0 && blocks_.ref_count(s.table.back()) > 1) {
    const int32_t shared = s.table.back();
    const int32_t copy = *blocks_.allocate();
    for (size_t layer = 0; layer < keys_.size(); ++layer) {
      keys_[layer].slice(0, copy * block_size_, (copy + 1) * block_size_)
          .copy_(keys_[layer].slice(0, shared * block_size_, (shared + 1) * block_size_));
      values_[layer].slice(0, copy * block_size_, (copy + 1) * block_size_)
          .copy_(values_[layer].slice(0, shared * block_size_, (shared + 1) * block_size_));
    }
    blocks_.release(shared);
    s.table.back() = copy;
  }
  while (static_cast<int64_t>(s.table.size()) < blocks_for(s.length + count)) s.table.push_back(*blocks_.allocate());
  return true;
}

int64_t PagedKvCache::attach_prefix(int64_t slot, std::span<const int32_t> tokens, int64_t max_tokens) {
  Sequence& s = sequence(slot);
  CARAVAN_CHECK(s.length == 0 && s.table.empty(), "PagedKvCache: attach_prefix on a non-empty slot ", slot);
  const int64_t full_blocks = std::min<int64_t>(static_cast<int64_t>(tokens.size()), max_tokens) / block_size_;
  uint64_t previous = 0;
  for (int64_t b = 0; b < full_blocks; ++b) {
    const uint64_t hash = block_hash(previous, tokens.subspan(static_cast<size_t>(b * block_size_),
                                                              static_cast<size_t>(block_size_)));
    const std::optional<int32_t> block = blocks_.find(hash);
    if (!block) break;
    s.table.push_back(*block);
    s.hashes.push_back(hash);
    previous = hash;
  }
  s.length = static_cast<int64_t>(s.table.size()) * block_size_;
  return s.length;
}

void PagedKvCache::publish_full_blocks(int64_t slot, std::span<const int32_t> tokens) {
  Sequence& s = sequence(slot);
  CARAVAN_CHECK(static_cast<int64_t>(tokens.size()) >= s.length, "PagedKvCache: ", tokens.size(), " tokens for slot ",
                slot, " of length ", s.length);
  for (int64_t b = static_cast<int64_t>(s.hashes.size()); b < s.length / block_size_; ++b) {
    const uint64_t previous = b == 0 ? 0 : s.hashes.back();
    const uint64_t hash = block_hash(previous, tokens.subspan(static_cast<size_t>(b * block_size_),
                                                              static_cast<size_t>(block_size_)));
    blocks_.publish(s.table[static_cast<size_t>(b)], hash);
    s.hashes.push_back(hash);
  }
}

int64_t PagedKvCache::position_slot(const Sequence& s, int64_t position) const {
  return static_cast<int64_t>(s.table[static_cast<size_t>(position / block_size_)]) * block_size_ + position % block_size_;
}

int64_t PagedKvCache::pool_row(int64_t slot, int64_t position) const {
  const Sequence& s = sequence(slot);
  CARAVAN_CHECK(position >= 0 && position < static_cast<int64_t>(s.table.size()) * block_size_, "PagedKvCache: slot ",
                slot, " has no block for position ", position);
  return position_slot(s, position);
}

void PagedKvCache::advance(int64_t slot, int64_t count) {
  CARAVAN_CHECK(layout_ == nullptr, "PagedKvCache: advance inside a forward");
  Sequence& s = sequence(slot);
  CARAVAN_CHECK(count >= 0 && blocks_for(s.length + count) <= static_cast<int64_t>(s.table.size()), "PagedKvCache: slot ",
                slot, " has ", s.table.size(), " blocks for ", s.length + count, " positions (reserve first)");
  s.length += count;
}

void PagedKvCache::begin_forward(const model::BatchLayout& layout) {
  CARAVAN_CHECK(layout_ == nullptr, "PagedKvCache: begin_forward without end_forward");
  std::vector<int64_t> writes;
  writes.reserve(static_cast<size_t>(layout.num_tokens()));
  for (const model::BatchLayout::Sequence& entry : layout.sequences()) {
    const Sequence& s = sequence(entry.memory_slot);
    CARAVAN_CHECK(entry.past == s.length, "PagedKvCache: slot ", entry.memory_slot, " holds ", s.length,
                  " positions, the layout says ", entry.past);
    CARAVAN_CHECK(blocks_for(entry.past + entry.new_tokens) <= static_cast<int64_t>(s.table.size()),
                  "PagedKvCache: slot ", entry.memory_slot, " has ", s.table.size(), " blocks for ",
                  entry.past + entry.new_tokens, " positions (reserve first)");
    for (int64_t t = 0; t < entry.new_tokens; ++t) writes.push_back(position_slot(s, entry.past + t));
  }
  const at::Device device = keys_.front().device();
  write_index_ = at::tensor(writes, at::kLong).to(device);
  read_index_.clear();
  for (const model::BatchLayout::Group& group : layout.groups()) {
    std::vector<int64_t> reads;
    reads.reserve(group.members.size() * static_cast<size_t>(group.keys));
    for (const int64_t m : group.members) {
      const model::BatchLayout::Sequence& entry = layout.sequences()[static_cast<size_t>(m)];
      const Sequence& s = sequence(entry.memory_slot);
      const int64_t filled = entry.past + entry.new_tokens;
      for (int64_t j = 0; j < group.keys; ++j) reads.push_back(position_slot(s, std::min(j, filled - 1)));
    }
    read_index_.push_back(at::tensor(reads, at::kLong).to(device));
  }
  layout_ = &layout;
}

void PagedKvCache::store(int64_t layer, const at::Tensor& keys, const at::Tensor& values) {
  CARAVAN_CHECK(layout_ != nullptr, "PagedKvCache: store outside a forward");
  at::Tensor& pool_keys = keys_.at(static_cast<size_t>(layer));
  CARAVAN_CHECK(keys.dim() == 3 && keys.size(0) == layout_->num_tokens() && keys.size(1) == pool_keys.size(1) &&
                    keys.size(2) == pool_keys.size(2) && values.sizes() == keys.sizes() &&
                    keys.scalar_type() == pool_keys.scalar_type() && values.scalar_type() == pool_keys.scalar_type(),
                "PagedKvCache: new keys ", keys.scalar_type(), keys.sizes(), " and values ", values.scalar_type(),
                values.sizes(), " do not fit the pool ", pool_keys.scalar_type(), pool_keys.sizes());
  pool_keys.index_copy_(0, write_index_, keys);
  values_[static_cast<size_t>(layer)].index_copy_(0, write_index_, values);
}

std::pair<at::Tensor, at::Tensor> PagedKvCache::read(int64_t layer, size_t group) {
  CARAVAN_CHECK(layout_ != nullptr && group < read_index_.size(), "PagedKvCache: read of group ", group,
                " outside a forward");
  const model::BatchLayout::Group& spec = layout_->groups()[group];
  const int64_t members = static_cast<int64_t>(spec.members.size());
  const auto gather = [&](const at::Tensor& pool) {
    // [G * S, H_kv, D] -> [G, H_kv, S, D]
    return pool.index_select(0, read_index_[group]).view({members, spec.keys, pool.size(1), pool.size(2)}).transpose(1, 2);
  };
  return {gather(keys_.at(static_cast<size_t>(layer))), gather(values_.at(static_cast<size_t>(layer)))};
}

void PagedKvCache::end_forward() {
  CARAVAN_CHECK(layout_ != nullptr, "PagedKvCache: end_forward without begin_forward");
  for (const model::BatchLayout::Sequence& entry : layout_->sequences()) {
    sequence(entry.memory_slot).length = entry.past + entry.new_tokens;
  }
  layout_ = nullptr;
}

} // namespace caravan::rollout
