// File: weights_sync/weight_manifest.h
// The fixed order and wire form of a model's tensors in a weight sync: sorted by parameter name
// (so every rank agrees whatever order its module registered them in), floating tensors
// converted to the receivers' inference dtype on the sender (fp32 master -> bf16), and a 64-bit
// hash of every name, shape and wire dtype that the ranks compare before any byte moves.
//
//   CARAVAN_ASSIGN_OR_RETURN(WeightManifest manifest, WeightManifest::make(named, at::kBFloat16));
//   at::Tensor bytes = manifest.wire_tensor(0);   // contiguous, in manifest.wire_dtype(0)
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/status.h"

namespace caravan::wsync {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Immutable value; copies share the tensors.
class WeightManifest {
 public:
  // `tensors` (any order, any strides) sorted by name; floating tensors travel as
  // `floating_wire_dtype`, the others as their own dtype. kInvalidArgument for an undefined
  // tensor or a duplicate name (both named).
  static Result<WeightManifest> make(const NamedTensors& tensors, at::ScalarType floating_wire_dtype);

  size_t size() const { return entries_.size(); }
  const std::string& name(size_t i) const { return entries_[i].name; }
  // The caller's tensor (its dtype and strides).
  const at::Tensor& source(size_t i) const { return entries_[i].source; }
  at::ScalarType wire_dtype(size_t i) const { return entries_[i].wire_dtype; }
  int64_t wire_bytes(size_t i) const { return entries_[i].wire_bytes; }
  int64_t total_wire_bytes() const { return total_wire_bytes_; }
  uint64_t hash() const { return hash_; }
  // "N tensors, B wire bytes, manifest hash 0x...".
  std::string describe() const;
  // source(i) in wire_dtype(i), contiguous and detached: a view of the source when it already
  // is, else a new tensor.
  at::Tensor wire_tensor(size_t i) const;

 private:
  struct Entry {
    std::string name;
    at::Tensor source;
    at::ScalarType wire_dtype;
    int64_t wire_bytes = 0;
  };
  std::vector<Entry> entries_;
  int64_t total_wire_bytes_ = 0;
  uint64_t hash_ = 0;
};

// The one dtype of the floating tensors among `tensors` (what a receiver installs); kFloat when
// there are none; kInvalidArgument naming two tensors when they differ.
Result<at::ScalarType> floating_dtype_of(const NamedTensors& tensors);

} // namespace caravan::wsync
