// File: weights_sync/weight_manifest.cpp
#include "weights_sync/weight_manifest.h"

#include <algorithm>
#include <string_view>

#include <ATen/ATen.h>

#include "core/str_cat.h"
#include "weights_sync/checksum64.h"

namespace caravan::wsync {

Result<WeightManifest> WeightManifest::make(const NamedTensors& tensors, at::ScalarType floating_wire_dtype) {
  WeightManifest manifest;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) return Status::invalid_argument(str_cat("weight manifest: tensor \"", name, "\" is undefined"));
    const at::ScalarType wire = at::isFloatingType(tensor.scalar_type()) ? floating_wire_dtype : tensor.scalar_type();
    const int64_t bytes = tensor.numel() * static_cast<int64_t>(c10::elementSize(wire));
    manifest.entries_.push_back(Entry{name, tensor, wire, bytes});
    manifest.total_wire_bytes_ += bytes;
  }
  std::sort(manifest.entries_.begin(), manifest.entries_.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  uint64_t hash = 0;
  for (size_t i = 0; i < manifest.entries_.size(); ++i) {
    const Entry& entry = manifest.entries_[i];
    if (i > 0 && entry.name == manifest.entries_[i - 1].name) {
      return Status::invalid_argument(str_cat("weight manifest: tensor name \"", entry.name, "\" appears twice"));
    }
    hash = checksum64_combine(hash, checksum64(entry.name.data(), entry.name.size()));
    const std::string_view dtype = c10::toString(entry.wire_dtype);
    hash = checksum64_combine(hash, checksum64(dtype.data(), dtype.size()));
    hash = checksum64_combine(hash, static_cast<uint64_t>(entry.source.dim()));
    for (const int64_t size : entry.source.sizes()) hash = checksum64_combine(hash, static_cast<uint64_t>(size));
  }
  manifest.hash_ = hash;
  return manifest;
}

std::string WeightManifest::describe() const {
  return str_cat(entries_.size(), " tensors, ", total_wire_bytes_, " wire bytes, manifest hash ", hex64(hash_));
}

at::Tensor WeightManifest::wire_tensor(size_t i) const {
  const Entry& entry = entries_[i];
  return entry.source.detach().to(entry.wire_dtype).contiguous();
}

Result<at::ScalarType> floating_dtype_of(const NamedTensors& tensors) {
  const std::pair<std::string, at::Tensor>* first = nullptr;
  for (const auto& item : tensors) {
    if (!item.second.defined() || !at::isFloatingType(item.second.scalar_type())) continue;
    if (first == nullptr) {
      first = &item;
    } else if (item.second.scalar_type() != first->second.scalar_type()) {
      return Status::invalid_argument(str_cat("weight sync: floating tensors of two dtypes: \"", first->first, "\" is ",
                                              c10::toString(first->second.scalar_type()), ", \"", item.first, "\" is ",
                                              c10::toString(item.second.scalar_type())));
    }
  }
  return first == nullptr ? at::kFloat : first->second.scalar_type();
}

} // namespace caravan::wsync
