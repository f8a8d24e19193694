// File: weights_sync/bucket_pipeline.cpp
#include "weights_sync/bucket_pipeline.h"

#include <algorithm>
#include <cstring>

#include "core/str_cat.h"
#include "weights_sync/checksum64.h"

namespace caravan::wsync {

void seal_bucket(uint8_t* bucket, int64_t payload_size) {
  const uint64_t sum = checksum64(bucket, static_cast<size_t>(payload_size));
  std::memcpy(bucket + payload_size, &sum, sizeof(sum));
}

Status verify_bucket(int64_t index, const uint8_t* bucket, int64_t payload_size) {
  uint64_t expected;
  std::memcpy(&expected, bucket + payload_size, sizeof(expected));
  const uint64_t got = checksum64(bucket, static_cast<size_t>(payload_size));
  if (got == expected) return Status::ok_status();
  return Status::data_loss(str_cat("bucket ", index, " (", payload_size, " bytes): checksum mismatch: sent ",
                                   hex64(expected), ", received bytes hash to ", hex64(got)));
}

TensorPayload::TensorPayload(std::vector<int64_t> bytes, std::function<at::Tensor(size_t)> wire_of)
    : bytes_(std::move(bytes)), wire_of_(std::move(wire_of)) {
  for (const int64_t size : bytes_) total_ += size;
  checksums_.reserve(bytes_.size());
}

void TensorPayload::read(uint8_t* out, int64_t bytes) {
  while (bytes > 0) {
    if (!current_.defined()) {
      CARAVAN_CHECK(next_ < bytes_.size(), "TensorPayload: read past the last tensor");
      current_ = wire_of_(next_);
      CARAVAN_CHECK(current_.is_contiguous() && static_cast<int64_t>(current_.nbytes()) == bytes_[next_],
                    "TensorPayload: tensor ", next_, " has ", current_.nbytes(), " bytes, expected ", bytes_[next_]);
      checksums_.push_back(checksum64(current_.data_ptr(), current_.nbytes()));
      current_offset_ = 0;
    }
    const int64_t take = std::min(bytes, bytes_[next_] - current_offset_);
    std::memcpy(out, static_cast<const uint8_t*>(current_.data_ptr()) + current_offset_, static_cast<size_t>(take));
    out += take;
    bytes -= take;
    current_offset_ += take;
    if (current_offset_ == bytes_[next_]) {
      current_ = at::Tensor();
      ++next_;
    }
  }
  // Zero-byte tensors at the end still get their checksum.
  while (next_ < bytes_.size() && bytes_[next_] == 0) {
    checksums_.push_back(checksum64(nullptr, 0));
    ++next_;
  }
}

void BufferPayload::read(uint8_t* out, int64_t bytes) {
  CARAVAN_CHECK(offset_ + bytes <= total_bytes(), "BufferPayload: read past the end");
  std::memcpy(out, bytes_.data() + offset_, static_cast<size_t>(bytes));
  offset_ += bytes;
}

BucketPipeline::BucketPipeline(BucketLayout layout, PayloadSource& source, int depth)
    : layout_(layout), source_(source) {
  CARAVAN_CHECK(layout.bucket_bytes > 0 && depth >= 1, "BucketPipeline: bad layout or depth");
  CARAVAN_CHECK(layout.payload_bytes == source.total_bytes(), "BucketPipeline: layout of ", layout.payload_bytes,
                " bytes over a source of ", source.total_bytes());
  const int64_t slot_bytes = std::min(layout.bucket_bytes, layout.payload_bytes) + BucketLayout::kTrailerBytes;
  // One slot more than `depth`: the consumer holds one while the worker fills `depth`.
  slots_.assign(static_cast<size_t>(depth) + 1, std::vector<uint8_t>(static_cast<size_t>(slot_bytes)));
  worker_ = std::thread([this] { pack_all(); });
}

BucketPipeline::~BucketPipeline() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void BucketPipeline::pack_all() {
  try {
    const auto slots = static_cast<int64_t>(slots_.size());
    for (int64_t i = 0; i < layout_.count(); ++i) {
      {
        std::unique_lock lock(mutex_);
        // Slot i % slots is free once the consumer moved past bucket i - slots + 1 (the one it holds).
        changed_.wait(lock, [&] { return stopping_ || i - consumed_ < slots - 1; });
        if (stopping_) return;
      }
      uint8_t* bucket = slots_[static_cast<size_t>(i % slots)].data();
      source_.read(bucket, layout_.payload_size(i));
      seal_bucket(bucket, layout_.payload_size(i));
      {
        std::lock_guard lock(mutex_);
        packed_ = i + 1;
      }
      changed_.notify_all();
    }
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      failure_ = std::current_exception();
    }
    changed_.notify_all();
  }
}

std::optional<std::span<uint8_t>> BucketPipeline::next() {
  std::unique_lock lock(mutex_);
  if (consumed_ == layout_.count()) return std::nullopt;
  const int64_t i = consumed_;
  // Handing out bucket i releases bucket i - 1's slot.
  ++consumed_;
  changed_.notify_all();
  changed_.wait(lock, [&] { return packed_ > i || failure_ != nullptr; });
  if (packed_ <= i) std::rethrow_exception(failure_);
  uint8_t* bucket = slots_[static_cast<size_t>(i % static_cast<int64_t>(slots_.size()))].data();
  return std::span<uint8_t>(bucket, static_cast<size_t>(layout_.wire_size(i)));
}

} // namespace caravan::wsync
