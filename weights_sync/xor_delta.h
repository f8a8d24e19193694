// File: weights_sync/xor_delta.h
// The compressed XOR delta of [weights_sync] delta = "xor_bf16": the new bytes of a tensor XOR
// the bytes the receiver has installed, as 16-bit words (one bf16 value each), coded as runs of
// zero words and runs of literal words. Between two training steps most bf16 values do not change
// at all (a small update is below bf16's resolution), so the XOR is mostly zero runs.
//
// Encoding of `size` bytes: records {varint zero_words, varint literal_words, literal_words x 2
// bytes of XOR} until size / 2 words are covered, then, when size is odd, 1 byte of XOR.
//
//   std::vector<uint8_t> delta;
//   xor_delta_encode(new_bytes, base_bytes, size, delta);
//   CARAVAN_RETURN_IF_ERROR(xor_delta_decode(delta.data(), delta.size(), base_bytes, out, size));
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace caravan::wsync {

// Appends the delta of `current` against `base` (both `size` bytes) to `out`. Thread-safe (pure).
void xor_delta_encode(const uint8_t* current, const uint8_t* base, size_t size, std::vector<uint8_t>& out);

// Writes base XOR the delta in [delta, delta + delta_size) to `out` (`size` bytes; may alias
// `base`). kDataLoss when the delta is malformed or does not cover exactly `size` bytes.
Status xor_delta_decode(const uint8_t* delta, size_t delta_size, const uint8_t* base, uint8_t* out, size_t size);

} // namespace caravan::wsync
