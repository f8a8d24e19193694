// File: model/tokenizer.h
// The interface every tokenizer implements: text <-> token ids plus the special ids the
// rollout engine and the learner need (bos to start a prompt, eos to stop, pad to fill
// left-padded batches). No LibTorch here, so rewards/ and apps/ may use it freely.
//
//   std::shared_ptr<const model::Tokenizer> tokenizer = std::make_shared<model::ByteTokenizer>();
//   std::vector<int32_t> ids = tokenizer->encode("2+2=");
//   ids.insert(ids.begin(), tokenizer->bos_id());
//   CARAVAN_ASSIGN_OR_RETURN(std::string text, tokenizer->decode(ids));  // "2+2="
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace caravan::model {

// Implementations are immutable after construction: every method is const and thread-safe,
// so one instance is shared (std::shared_ptr<const Tokenizer>) by all threads of a process.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text`. Never adds special tokens (bos/eos); callers add them explicitly.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;

  // Text of `ids`, skipping special tokens (bos, eos, pad).
  // Errors: kInvalidArgument naming the first id outside [0, vocab_size()) and its position.
  virtual Result<std::string> decode(std::span<const int32_t> ids) const = 0;

  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  virtual int32_t pad_id() const = 0;
  // Number of ids; every id produced by encode() or accepted by decode() is below it.
  virtual int32_t vocab_size() const = 0;
};

// The text of ids a model generated. An embedding may have more rows than its tokenizer has ids
// (Qwen pads 151669 ids to 151936 rows), and a sampled id beyond the tokenizer is no text: it
// decodes to nothing, as Hugging Face's tokenizers drop ids they do not know. Other errors are
// decode()'s.
inline Result<std::string> decode_generated(const Tokenizer& tokenizer, std::span<const int32_t> ids) {
  std::vector<int32_t> known;
  known.reserve(ids.size());
  for (int32_t id : ids) {
    if (id >= 0 && id < tokenizer.vocab_size()) known.push_back(id);
  }
  return tokenizer.decode(known);
}

} // namespace caravan::model
