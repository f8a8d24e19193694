// File: model/byte_tokenizer.h
// The tokenizer of the embedded tiny models: one token per byte (ids 0..255) plus three
// special tokens. It round-trips any byte string exactly, including invalid UTF-8, so tests
// and the quickstart run without a tokenizer.json.
//
//   model::ByteTokenizer tokenizer;
//   std::vector<int32_t> ids = tokenizer.encode("hi");    // {104, 105}
//   ids.push_back(model::ByteTokenizer::kEosId);
//   std::string text = tokenizer.decode(ids).value();      // "hi" (eos skipped)
#pragma once

#include "model/tokenizer.h"

namespace caravan::model {

// Stateless; thread-safe.
class ByteTokenizer final : public Tokenizer {
 public:
  static constexpr int32_t kBosId = 256;  // <|bos|>
  static constexpr int32_t kEosId = 257;  // <|eos|>
  static constexpr int32_t kPadId = 258;  // <|pad|>
  static constexpr int32_t kVocabSize = 259;

  std::vector<int32_t> encode(std::string_view text) const override;
  Result<std::string> decode(std::span<const int32_t> ids) const override;

  int32_t bos_id() const override { return kBosId; }
  int32_t eos_id() const override { return kEosId; }
  int32_t pad_id() const override { return kPadId; }
  int32_t vocab_size() const override { return kVocabSize; }
};

} // namespace caravan::model
