#include "model/kv_cache.h"

#include "core/status.h"

namespace caravan::model {

KvCache::KvCache(const core::TransformerConfig& config, int64_t batch, int64_t max_len, at::ScalarType dtype,
                 at::Device device)
    : max_length_(max_len) {
  CARAVAN_CHECK(batch > 0 && max_len > 0 && config.num_layers > 0, "KvCache needs batch, max_len and num_layers > 0, got ",
                batch, ", ", max_len, ", ", config.num_layers);
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    keys_.push_back(at::zeros({batch, config.num_kv_heads, max_len, config.head_dim()}, options));
    values_.push_back(at::zeros_like(keys_.back()));
  }
}

std::pair<at::Tensor, at::Tensor> KvCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  CARAVAN_CHECK(layer >= 0 && layer < num_layers(), "KvCache: layer ", layer, " out of range [0, ", num_layers(), ")");
  at::Tensor& keys = keys_[layer];
  at::Tensor& values = values_[layer];
  CARAVAN_CHECK(k.dim() == 4 && k.size(0) == keys.size(0) && k.size(1) == keys.size(1) && k.size(3) == keys.size(3),
                "KvCache: new keys ", k.sizes(), " do not fit cache ", keys.sizes());
  CARAVAN_CHECK(k.scalar_type() == keys.scalar_type() && v.scalar_type() == keys.scalar_type(),
                "KvCache holds ", keys.scalar_type(), " but got keys ", k.scalar_type(), " and values ", v.scalar_type(),
                " (build the cache with the model's dtype)");
  CARAVAN_CHECK(v.sizes() == k.sizes(), "KvCache: values ", v.sizes(), " differ from keys ", k.sizes());
  const int64_t end = length_ + k.size(2);
  CARAVAN_CHECK(end <= max_length_, "KvCache overflow: ", length_, " filled + ", k.size(2), " new slots exceed max_len ",
                max_length_);
  keys.slice(2, length_, end).copy_(k);
  values.slice(2, length_, end).copy_(v);
  return {keys.slice(2, 0, end), values.slice(2, 0, end)};
}

void KvCache::advance(int64_t count) {
  CARAVAN_CHECK(count >= 0 && length_ + count <= max_length_, "KvCache: cannot advance ", length_, " by ", count,
                " (max_len ", max_length_, ")");
  length_ += count;
}

void KvCache::select_rows(const at::Tensor& index) {
  CARAVAN_CHECK(index.dim() == 1 && index.scalar_type() == at::kLong, "KvCache::select_rows needs an int64 [n] index, got ",
                index.scalar_type(), " ", index.sizes());
  const at::Tensor on_device = index.to(keys_.front().device());
  for (size_t layer = 0; layer < keys_.size(); ++layer) {
    keys_[layer] = keys_[layer].index_select(0, on_device);
    values_[layer] = values_[layer].index_select(0, on_device);
  }
}

} // namespace caravan::model
