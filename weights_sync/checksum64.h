// File: weights_sync/checksum64.h
// The 64-bit checksum of weight-sync payloads: the XXH64 algorithm (public domain spec, written
// here from it), ~10 GB/s on one core, so verifying every bucket and every tensor costs a
// fraction of moving the bytes. Not cryptographic: it detects corruption and mix-ups (a bucket
// from another version, a tensor of another layout), not an adversary.
//
//   const uint64_t sum = checksum64(bucket.data(), bucket.size());
//   const uint64_t combined = checksum64_combine(previous, tensor_sum);  // an ordered list of sums
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace caravan::wsync {

// XXH64 of `size` bytes at `data` with `seed`. Thread-safe (pure).
uint64_t checksum64(const void* data, size_t size, uint64_t seed = 0);

// Folds `value` into a running checksum of an ordered list of 64-bit values (start from 0).
uint64_t checksum64_combine(uint64_t running, uint64_t value);

// "0x" and 16 hex digits, for error messages that show an expected and a received checksum.
std::string hex64(uint64_t value);

} // namespace caravan::wsync
