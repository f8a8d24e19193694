// File: core/utf8.h
// Byte-level UTF-8 helpers shared by the regex scanner and the byte-level tokenizer tables.
//
//   size_t step = core::utf8_sequence_length(static_cast<unsigned char>(text[i]));  // 1..4
#pragma once

#include <cstddef>

namespace caravan::core {

// Length of the UTF-8 sequence that starts with `lead`: 1 for ASCII, continuation and invalid
// bytes, else 2, 3 or 4 as the lead byte announces (the sequence itself is not validated).
constexpr size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

} // namespace caravan::core
