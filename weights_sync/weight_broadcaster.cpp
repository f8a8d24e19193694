// File: weights_sync/weight_broadcaster.cpp
#include "weights_sync/weight_broadcaster.h"

#include <bit>
#include <chrono>
#include <cstdio>
#include <string_view>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "core/str_cat.h"

namespace caravan::wsync {
namespace {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// What every rank must agree on before any tensor data moves.
struct Layout {
  int64_t count = 0;
  int64_t bytes = 0;
  uint64_t hash = 0;

  bool operator==(const Layout&) const = default;
};

// FNV-1a, 64 bit.
class Fnv1a {
 public:
  void add(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash_ = (hash_ ^ bytes[i]) * 1099511628211ULL;
    }
  }
  void add(std::string_view text) {
    add(text.data(), text.size());
    add("\0", 1);  // separator, so ("ab", "c") and ("a", "bc") differ
  }
  void add(int64_t value) { add(&value, sizeof(value)); }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 14695981039346656037ULL;
};

Layout layout_of(const NamedTensors& tensors) {
  Layout layout;
  Fnv1a hash;
  for (const auto& [name, tensor] : tensors) {
    CARAVAN_CHECK(tensor.defined(), "WeightBroadcaster: tensor \"", name, "\" is undefined");
    hash.add(name);
    hash.add(std::string_view(c10::toString(tensor.scalar_type())));
    hash.add(tensor.dim());
    for (int64_t size : tensor.sizes()) hash.add(size);
    layout.bytes += static_cast<int64_t>(tensor.nbytes());
  }
  layout.count = static_cast<int64_t>(tensors.size());
  layout.hash = hash.value();
  return layout;
}

std::string describe(const Layout& layout) {
  char hash[19];
  std::snprintf(hash, sizeof(hash), "0x%016llx", static_cast<unsigned long long>(layout.hash));
  return str_cat(layout.count, " tensors, ", layout.bytes, " bytes, layout hash ", hash);
}

} // namespace

WeightBroadcaster::WeightBroadcaster(Communicator& communicator, int64_t bucket_bytes)
    : communicator_(communicator), bucket_bytes_(bucket_bytes) {
  CARAVAN_CHECK(bucket_bytes >= kMinBucketBytes, "WeightBroadcaster: bucket_bytes must be >= ", kMinBucketBytes,
                ", got ", bucket_bytes);
}

Result<BroadcastStats> WeightBroadcaster::broadcast(const NamedTensors& tensors, uint64_t version) {
  const auto start = std::chrono::steady_clock::now();
  BroadcastStats stats;
  CARAVAN_ASSIGN_OR_RETURN(stats.version, agree_on_layout(tensors, version));
  at::NoGradGuard no_grad;
  for (const Bucket& bucket : plan_buckets(tensors)) {
    CARAVAN_RETURN_IF_ERROR_CTX(transfer(tensors, bucket),
                                str_cat("weight broadcast of version ", stats.version, ": bucket of tensors \"",
                                        tensors[bucket.first].first, "\"..\"", tensors[bucket.last - 1].first, "\""));
    stats.bytes += bucket.bytes;
    ++stats.buckets;
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

Result<uint64_t> WeightBroadcaster::agree_on_layout(const NamedTensors& tensors, uint64_t version) {
  const int rank = communicator_.rank();
  const Layout local = layout_of(tensors);
  // TODO(nccl): allocate the header and flags on the communicator's device.
  at::Tensor header = at::tensor({std::bit_cast<int64_t>(version), local.count, local.bytes,
                                  std::bit_cast<int64_t>(local.hash)},
                                 at::kLong);
  CARAVAN_RETURN_IF_ERROR_CTX(communicator_.broadcast(header, kRoot), "weight broadcast: header");
  const int64_t* fields = header.data_ptr<int64_t>();
  const Layout expected{fields[1], fields[2], std::bit_cast<uint64_t>(fields[3])};
  const uint64_t root_version = std::bit_cast<uint64_t>(fields[0]);

  at::Tensor flags = at::zeros({communicator_.world_size()}, at::kInt);
  flags.data_ptr<int32_t>()[rank] = expected == local ? 0 : 1;
  CARAVAN_RETURN_IF_ERROR_CTX(communicator_.all_reduce(flags, ReduceOp::kMax), "weight broadcast: layout agreement");
  if (expected != local) {
    return Status::failed_precondition(str_cat("weight broadcast of version ", root_version, ": rank ", rank,
                                               " layout mismatch with root rank ", kRoot, ": expected ",
                                               describe(expected), "; got ", describe(local),
                                               "; tensors left untouched"));
  }
  std::string mismatched;
  const int32_t* flag = flags.data_ptr<int32_t>();
  for (int r = 0; r < communicator_.world_size(); ++r) {
    if (flag[r] != 0) mismatched += str_cat(mismatched.empty() ? "" : ", ", r);
  }
  if (!mismatched.empty()) {
    return Status::failed_precondition(str_cat("weight broadcast of version ", root_version, ": rank(s) ",
                                               mismatched, " reported a layout mismatch with root rank ", kRoot,
                                               " (", describe(expected), "); nothing was transferred"));
  }
  return root_version;
}

std::vector<WeightBroadcaster::Bucket> WeightBroadcaster::plan_buckets(const NamedTensors& tensors) const {
  std::vector<Bucket> buckets;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor& tensor = tensors[i].second;
    const auto bytes = static_cast<int64_t>(tensor.nbytes());
    if (!buckets.empty()) {
      Bucket& open = buckets.back();
      const at::Tensor& previous = tensors[open.last - 1].second;
      const bool fits = open.bytes + bytes <= bucket_bytes_ && tensor.scalar_type() == previous.scalar_type() &&
                        tensor.device() == previous.device();
      if (fits) {
        open.last = i + 1;
        open.bytes += bytes;
        continue;
      }
    }
    buckets.push_back(Bucket{i, i + 1, bytes});
  }
  return buckets;
}

Status WeightBroadcaster::transfer(const NamedTensors& tensors, const Bucket& bucket) {
  const bool root = communicator_.rank() == kRoot;
  const at::Tensor& first = tensors[bucket.first].second;
  if (bucket.last == bucket.first + 1 && bucket.bytes > bucket_bytes_ && first.is_contiguous()) {
    at::Tensor in_place = first;  // a handle: broadcast writes into the caller's storage
    return communicator_.broadcast(in_place, kRoot);
  }
  // A single oversized non-contiguous tensor gets a temporary buffer instead of the staging one.
  at::Tensor flat = bucket.bytes > bucket_bytes_ ? at::empty({first.numel()}, first.options())
                                                 : staging(bucket.bytes, first);
  int64_t offset = 0;
  for (size_t i = bucket.first; i < bucket.last; ++i) {
    const at::Tensor& tensor = tensors[i].second;
    if (root) flat.narrow(0, offset, tensor.numel()).view(tensor.sizes()).copy_(tensor);
    offset += tensor.numel();
  }
  CARAVAN_RETURN_IF_ERROR(communicator_.broadcast(flat, kRoot));
  if (root) return Status::ok_status();
  offset = 0;
  for (size_t i = bucket.first; i < bucket.last; ++i) {
    at::Tensor tensor = tensors[i].second;
    tensor.copy_(flat.narrow(0, offset, tensor.numel()).view(tensor.sizes()));
    offset += tensor.numel();
  }
  return Status::ok_status();
}

at::Tensor WeightBroadcaster::staging(int64_t bytes, const at::Tensor& like) {
  if (!staging_.defined() || staging_.device() != like.device()) {
    staging_ = at::empty({bucket_bytes_}, like.options().dtype(at::kByte));
  }
  // The bucket holds whole elements of one dtype, so `bytes` divides evenly.
  return staging_.narrow(0, 0, bytes).view(like.scalar_type());
}

} // namespace caravan::wsync
