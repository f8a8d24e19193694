// File: weights_sync/xor_delta.cpp
#include "weights_sync/xor_delta.h"

#include <cstring>

#include "core/str_cat.h"

namespace caravan::wsync {
namespace {

void put_varint(uint64_t value, std::vector<uint8_t>& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

// Reads a varint at `at`, advancing it; false when the input ends inside it or it is too long.
bool get_varint(const uint8_t* data, size_t size, size_t& at, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && at < size; shift += 7) {
    const uint8_t byte = data[at++];
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

uint16_t word_at(const uint8_t* bytes, size_t word) {
  uint16_t value;
  std::memcpy(&value, bytes + 2 * word, sizeof(value));
  return value;
}

} // namespace

void xor_delta_encode(const uint8_t* current, const uint8_t* base, size_t size, std::vector<uint8_t>& out) {
  const size_t words = size / 2;
  size_t word = 0;
  while (word < words) {
    const size_t zeros_begin = word;
    while (word < words && word_at(current, word) == word_at(base, word)) ++word;
    const size_t literal_begin = word;
    // A literal run ends at the first pair of equal words: one equal word costs 2 bytes as a
    // literal, less than closing the run (two varints).
    while (word < words && (word_at(current, word) != word_at(base, word) ||
                            (word + 1 < words && word_at(current, word + 1) != word_at(base, word + 1)))) {
      ++word;
    }
    put_varint(literal_begin - zeros_begin, out);
    put_varint(word - literal_begin, out);
    for (size_t w = literal_begin; w < word; ++w) {
      const uint16_t x = word_at(current, w) ^ word_at(base, w);
      out.push_back(static_cast<uint8_t>(x));
      out.push_back(static_cast<uint8_t>(x >> 8));
    }
  }
  if (size % 2 == 1) out.push_back(current[size - 1] ^ base[size - 1]);
}

Status xor_delta_decode(const uint8_t* delta, size_t delta_size, const uint8_t* base, uint8_t* out, size_t size) {
  const size_t words = size / 2;
  size_t word = 0;
  size_t at = 0;
  while (word < words) {
    uint64_t zeros = 0;
    uint64_t literals = 0;
    if (!get_varint(delta, delta_size, at, zeros) || !get_varint(delta, delta_size, at, literals) ||
        zeros > words - word || literals > words - word - zeros || (zeros == 0 && literals == 0) ||
        literals * 2 > delta_size - at) {
      return Status::data_loss(str_cat("xor delta: malformed record at byte ", at, " of ", delta_size, " (word ", word,
                                       " of ", words, ")"));
    }
    if (out != base) std::memcpy(out + 2 * word, base + 2 * word, 2 * zeros);
    word += zeros;
    for (uint64_t i = 0; i < literals; ++i, ++word, at += 2) {
      const uint16_t x = static_cast<uint16_t>(delta[at] | (delta[at + 1] << 8));
      const uint16_t value = word_at(base, word) ^ x;
      std::memcpy(out + 2 * word, &value, sizeof(value));
    }
  }
  if (size % 2 == 1) {
    if (at >= delta_size) return Status::data_loss("xor delta: the last odd byte is missing");
    out[size - 1] = base[size - 1] ^ delta[at++];
  }
  if (at != delta_size) {
    return Status::data_loss(str_cat("xor delta: ", delta_size - at, " bytes left over after ", size, " bytes"));
  }
  return Status::ok_status();
}

} // namespace caravan::wsync
