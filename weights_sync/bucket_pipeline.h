// File: weights_sync/bucket_pipeline.h
// The payload of a weight sync cut into flat buckets of a fixed size, each sealed with a 64-bit
// checksum trailer, and packed on a worker thread so that packing bucket i+1 (dtype conversion,
// copy, checksum) overlaps sending bucket i.
//
// Wire form of bucket i: payload bytes [i * bucket_bytes, min((i + 1) * bucket_bytes, total))
// followed by 8 bytes: checksum64 of those payload bytes (little-endian).
//
//   TensorPayload payload(tensors);              // or a BufferPayload over encoded bytes
//   BucketPipeline pipeline(BucketLayout{payload.total_bytes(), 4 << 20}, payload);
//   while (std::optional<std::span<uint8_t>> bucket = pipeline.next()) send(*bucket);
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/status.h"

namespace caravan::wsync {

// How a payload of `payload_bytes` is cut into buckets of at most `bucket_bytes` payload each.
struct BucketLayout {
  static constexpr int64_t kTrailerBytes = 8;

  int64_t payload_bytes = 0;
  // > 0.
  int64_t bucket_bytes = 0;

  int64_t count() const { return (payload_bytes + bucket_bytes - 1) / bucket_bytes; }
  int64_t offset(int64_t i) const { return i * bucket_bytes; }
  int64_t payload_size(int64_t i) const { return std::min(bucket_bytes, payload_bytes - offset(i)); }
  // Bytes on the wire: payload and trailer.
  int64_t wire_size(int64_t i) const { return payload_size(i) + kTrailerBytes; }
};

// Writes the checksum trailer after `payload_size` bytes at `bucket`.
void seal_bucket(uint8_t* bucket, int64_t payload_size);

// ok when the trailer after `payload_size` bytes at `bucket` matches them; else kDataLoss naming
// bucket `index` and both checksums.
Status verify_bucket(int64_t index, const uint8_t* bucket, int64_t payload_size);

// A sequential source of payload bytes. Read on the pipeline's worker thread.
class PayloadSource {
 public:
  virtual ~PayloadSource() = default;
  virtual int64_t total_bytes() const = 0;
  // Copies the next `bytes` bytes to `out`; the calls together read total_bytes() exactly.
  virtual void read(uint8_t* out, int64_t bytes) = 0;
};

// The bytes of tensors, one after the other; each is produced by `wire_of(i)` (e.g. a dtype
// conversion) only when the pipeline reaches it, and its checksum64 is recorded.
class TensorPayload final : public PayloadSource {
 public:
  // `count` tensors of `bytes[i]` bytes each; wire_of(i) returns tensor i as a contiguous
  // tensor of exactly bytes[i] bytes (checked).
  TensorPayload(std::vector<int64_t> bytes, std::function<at::Tensor(size_t)> wire_of);
  int64_t total_bytes() const override { return total_; }
  void read(uint8_t* out, int64_t bytes) override;
  // checksum64 of each tensor's bytes; complete once every byte was read.
  const std::vector<uint64_t>& checksums() const { return checksums_; }

 private:
  const std::vector<int64_t> bytes_;
  const std::function<at::Tensor(size_t)> wire_of_;
  int64_t total_ = 0;
  size_t next_ = 0;
  at::Tensor current_;
  int64_t current_offset_ = 0;
  std::vector<uint64_t> checksums_;
};

// Bytes already in memory (an encoded delta); not owned, must outlive the source.
class BufferPayload final : public PayloadSource {
 public:
  explicit BufferPayload(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  int64_t total_bytes() const override { return static_cast<int64_t>(bytes_.size()); }
  void read(uint8_t* out, int64_t bytes) override;

 private:
  std::span<const uint8_t> bytes_;
  int64_t offset_ = 0;
};

// Packs the buckets of `layout` from `source` on a worker thread, `depth` buckets ahead of the
// consumer. Owner thread: next(); the worker only reads `source`. Non-copyable. The destructor
// stops the worker (after the bucket it is packing) and joins it.
class BucketPipeline {
 public:
  // `source` must outlive the pipeline; layout.payload_bytes == source.total_bytes() (checked).
  BucketPipeline(BucketLayout layout, PayloadSource& source, int depth = 2);
  BucketPipeline(const BucketPipeline&) = delete;
  BucketPipeline& operator=(const BucketPipeline&) = delete;
  ~BucketPipeline();

  // The next sealed bucket in wire form (valid until the following next() call), blocking until
  // it is packed; nullopt after the last one. Rethrows what the worker threw.
  std::optional<std::span<uint8_t>> next();

 private:
  void pack_all();

  const BucketLayout layout_;
  PayloadSource& source_;
  std::vector<std::vector<uint8_t>> slots_;
  std::mutex mutex_;
  std::condition_variable changed_;
  // Guarded by mutex_: buckets packed so far, buckets handed out (the slot of the last one is
  // in use until the next call), a stop request and the worker's exception.
  int64_t packed_ = 0;
  int64_t consumed_ = 0;
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::thread worker_;
};

} // namespace caravan::wsync
