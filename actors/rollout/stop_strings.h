// File: actors/rollout/stop_strings.h
// Stop strings on generated text: TokenText holds the bytes each token id decodes to (built once
// per tokenizer, shared by every sequence), and a StopStringMatcher, one per sequence, is fed each
// generated token's bytes and reports when the text so far contains a stop string. A stop string
// may span any number of tokens and may split a multi-byte UTF-8 character: matching is on bytes,
// and the matcher keeps only the last (longest stop string - 1) bytes between tokens.
//
//   auto token_text = std::make_shared<const TokenText>(TokenText::from_tokenizer(*tokenizer));
//   StopStringMatcher matcher({"\n\n", "</answer>"});
//   for (int32_t token : generated) {
//     if (matcher.append(token_text->bytes(token))) break;  // `token` completed a stop string
//   }
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer.h"

namespace caravan::rollout {

// Immutable after construction; thread-safe to share.
class TokenText {
 public:
  // bytes[id] is the text of token id.
  explicit TokenText(std::vector<std::string> bytes) : bytes_(std::move(bytes)) {}
  // Each id of `tokenizer` decoded alone (model::Tokenizer::decode: exact bytes, special tokens
  // decode to nothing). Cost: vocab_size() decode calls.
  static TokenText from_tokenizer(const model::Tokenizer& tokenizer);

  // The bytes of `id`; empty for an id beyond the table (an embedding row the tokenizer lacks
  // decodes to no text, as model::decode_generated has it).
  std::string_view bytes(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < bytes_.size() ? std::string_view(bytes_[static_cast<size_t>(id)])
                                                               : std::string_view();
  }

 private:
  std::vector<std::string> bytes_;
};

// One sequence's matcher. Not thread-safe (one owner).
class StopStringMatcher {
 public:
  // `stop_strings`: each non-empty (CARAVAN_CHECK; SamplingParams::validate reports it).
  explicit StopStringMatcher(std::vector<std::string> stop_strings);

  // Appends the next token's bytes; true when the text generated so far now contains one of the
  // stop strings and did not before (the match ends inside `bytes`). Once true, further calls
  // are a bug (CARAVAN_CHECK).
  bool append(std::string_view bytes);

  // True if there is nothing to match (no stop strings).
  bool empty() const { return stop_strings_.empty(); }

 private:
  std::vector<std::string> stop_strings_;
  // The last (longest stop string - 1) bytes of the text: enough for any match that ends in a
  // later token.
  std::string tail_;
  size_t keep_ = 0;
  bool matched_ = false;
};

} // namespace caravan::rollout
