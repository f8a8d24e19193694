#include "model/kv_cache.h"

#include "core/status.h"

namespace caravan::model {

KvCache::KvCache(const core::TransformerConfig& config, int64_t rows, int64_t max_len, at::ScalarType dtype,
                 at::Device device)
    : max_length_(max_len), lengths_(static_cast<size_t>(std::max<int64_t>(rows, 0)), 0) {
  CARAVAN_CHECK(rows > 0 && max_len > 0 && config.num_layers > 0, "KvCache needs rows, max_len and num_layers > 0, got ",
                rows, ", ", max_len, ", ", config.num_layers);
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    keys_.push_back(at::zeros({rows, config.num_kv_heads, max_len, config.head_dim()}, options));
    values_.push_back(at::zeros_like(keys_.back()));
  }
}

void KvCache::begin_forward(const BatchLayout& layout) {
  CARAVAN_CHECK(layout_ == nullptr, "KvCache: begin_forward without end_forward");
  std::vector<int64_t> token_rows;
  std::vector<int64_t> token_slots;
  token_rows.reserve(static_cast<size_t>(layout.num_tokens()));
  token_slots.reserve(static_cast<size_t>(layout.num_tokens()));
  for (const BatchLayout::Sequence& sequence : layout.sequences()) {
    const int64_t row = sequence.memory_slot;
    CARAVAN_CHECK(row >= 0 && row < rows(), "KvCache: memory slot ", row, " is not a row of ", rows());
    CARAVAN_CHECK(sequence.past == length(row), "KvCache: row ", row, " holds ", length(row), " tokens, the layout says ",
                  sequence.past);
    CARAVAN_CHECK(sequence.past + sequence.new_tokens <= max_length_, "KvCache overflow: row ", row, " holds ",
                  sequence.past, " + ", sequence.new_tokens, " new tokens > max_len ", max_length_);
    for (int64_t t = 0; t < sequence.new_tokens; ++t) {
      token_rows.push_back(row);
      token_slots.push_back(sequence.past + t);
    }
  }
  const at::Device device = keys_.front().device();
  token_rows_ = at::tensor(token_rows, at::kLong).to(device);
  token_slots_ = at::tensor(token_slots, at::kLong).to(device);
  group_rows_.clear();
  for (const BatchLayout::Group& group : layout.groups()) {
    std::vector<int64_t> rows;
    bool identity = true;
    for (size_t m = 0; m < group.members.size(); ++m) {
      rows.push_back(layout.sequences()[static_cast<size_t>(group.members[m])].memory_slot);
      identity = identity && rows.back() == static_cast<int64_t>(m);
    }
    group_rows_.push_back(identity ? at::Tensor() : at::tensor(rows, at::kLong).to(device));
  }
  layout_ = &layout;
}

void KvCache::store(int64_t layer, const at::Tensor& keys, const at::Tensor& values) {
  CARAVAN_CHECK(layout_ != nullptr, "KvCache: store outside a forward");
  CARAVAN_CHECK(layer >= 0 && layer < num_layers(), "KvCache: layer ", layer, " out of range [0, ", num_layers(), ")");
  at::Tensor& cache_keys = keys_[static_cast<size_t>(layer)];
  CARAVAN_CHECK(keys.dim() == 3 && keys.size(0) == layout_->num_tokens() && keys.size(1) == cache_keys.size(1) &&
                    keys.size(2) == cache_keys.size(3) && values.sizes() == keys.sizes(),
                "KvCache: new keys ", keys.sizes(), " and values ", values.sizes(), " do not fit cache ", cache_keys.sizes());
  CARAVAN_CHECK(keys.scalar_type() == cache_keys.scalar_type() && values.scalar_type() == cache_keys.scalar_type(),
                "KvCache holds ", cache_keys.scalar_type(), " but got keys ", keys.scalar_type(), " and values ",
                values.scalar_type(), " (build the cache with the model's dtype)");
  using at::indexing::Slice;
  // Advanced indices around a slice: the indexed shape is [N, num_kv_heads, head_dim].
  cache_keys.index_put_({token_rows_, Slice(), token_slots_}, keys);
  values_[static_cast<size_t>(layer)].index_put_({token_rows_, Slice(), token_slots_}, values);
}

std::pair<at::Tensor, at::Tensor> KvCache::read(int64_t layer, size_t group) {
  CARAVAN_CHECK(layout_ != nullptr && group < group_rows_.size(), "KvCache: read of group ", group, " outside a forward");
  const BatchLayout::Group& spec = layout_->groups()[group];
  const at::Tensor& rows = group_rows_[group];
  const auto select = [&](const at::Tensor& all) {
    const at::Tensor filled = all.slice(2, 0, spec.keys);
    return rows.defined() ? filled.index_select(0, rows) : filled.slice(0, 0, static_cast<int64_t>(spec.members.size()));
  };
  return {select(keys_[static_cast<size_t>(layer)]), select(values_[static_cast<size_t>(layer)])};
}

void KvCache::end_forward() {
  CARAVAN_CHECK(layout_ != nullptr, "KvCache: end_forward without begin_forward");
  for (const BatchLayout::Sequence& sequence : layout_->sequences()) {
    lengths_[static_cast<size_t>(sequence.memory_slot)] = sequence.past + sequence.new_tokens;
  }
  layout_ = nullptr;
}

} // namespace caravan::model
