// File: model/bpe_tokenizer.h
// A Hugging Face byte-level BPE tokenizer loaded from tokenizer.json (GPT-2, Llama 3, Qwen 2/3),
// following the tokenizers library's pipeline: added tokens with normalized=false are cut out of
// the raw text first (longest match, never split), the text between them is normalized
// (model/normalizer.h), added tokens with normalized=true are cut out of that, the rest is
// pre-split by the regex (model/pretokenizer.h), mapped byte -> unicode symbol, and each
// pre-token is merged by BPE rank. decode() returns the exact bytes that were encoded (after
// normalization), including invalid UTF-8. No LibTorch.
//
//   CARAVAN_ASSIGN_OR_RETURN(std::shared_ptr<const model::BpeTokenizer> tokenizer,
//                            model::BpeTokenizer::load(dir / "tokenizer.json"));
//   std::vector<int32_t> ids = tokenizer->encode("<|im_start|>user\nHi");  // special kept whole
//   ids.push_back(tokenizer->eos_id());
//   CARAVAN_ASSIGN_OR_RETURN(std::string text, tokenizer->decode(ids));      // "user\nHi"
//
// Supported tokenizer.json subset (anything else fails loudly with kInvalidArgument):
//  - model: type "BPE"; vocab {token: id}; merges as "a b" strings or [a, b] arrays;
//    ignore_merges (Llama 3); dropout null; no continuing_subword_prefix/end_of_word_suffix;
//    byte_fallback false. Every one of the 256 byte symbols must be in the vocab, so any byte
//    string encodes (no unk token is ever needed).
//  - pre_tokenizer: ByteLevel (use_regex -> GPT-2 pattern; add_prefix_space prepends ' ' to each
//    text segment between added tokens), or a Sequence of Split{pattern: {Regex|String},
//    behavior: "Isolated", invert: false} and ByteLevel{use_regex: false, add_prefix_space: false}.
//  - decoder: ByteLevel (or null). normalizer: see Normalizer::parse (null, NFC, NFD, NFKC,
//    NFKD, Sequence). decode() returns the normalized text: decode(encode(x)) == x holds for
//    texts already in the normalizer's form (for NFC, nearly all real text).
//  - added_tokens: {id, content, special, normalized (default !special), lstrip, rstrip};
//    lstrip/rstrip make a match swallow the whitespace (Unicode White_Space) before/after it;
//    single_word must be false.
//  - post_processor: ByteLevel, TemplateProcessing or a Sequence of them. encode() never adds
//    special tokens; single_prefix_ids() reports what the template puts before a single text
//    (Llama 3: <|begin_of_text|>), for callers that encode as `tokenizer(text)` does.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/normalizer.h"
#include "model/pretokenizer.h"
#include "model/tokenizer.h"

namespace caravan::model {

// Names of the added tokens used for bos/eos/pad. An empty name means "identify it": the first
// added token present from these lists is used:
//   bos: <|begin_of_text|>, <s>, <|startoftext|>, <|endoftext|>   (falls back to eos)
//   eos: <|im_end|>, <|eot_id|>, <|end_of_text|>, <|endoftext|>, </s>   (required)
//   pad: <|pad|>, <|finetune_right_pad_id|>, <pad>, <|endoftext|>   (falls back to eos)
// eos prefers the chat end-of-turn tokens (<|im_end|>, <|eot_id|>), since RL rollouts of
// instruct models stop there. Qwen has no bos; <|endoftext|> is used, callers should not prepend it.
struct BpeSpecialTokens {
  std::string bos;
  std::string eos;
  std::string pad;
};

// Immutable after load(); every method is const and thread-safe (the per-word merge cache is
// guarded by a mutex). Share it as std::shared_ptr<const BpeTokenizer>.
class BpeTokenizer final : public Tokenizer {
 public:
  // Parses `tokenizer_json`. Errors: kNotFound if it cannot be read; kInvalidArgument naming
  // the file and the JSON path of the bad field ("tokenizer.json: model.merges[3]: ...") for
  // malformed or unsupported content, or when eos cannot be identified.
  static Result<std::shared_ptr<const BpeTokenizer>> load(const std::filesystem::path& tokenizer_json,
                                                           const BpeSpecialTokens& special_tokens = {});

  // Token ids of `text` (any bytes). Added tokens are matched first (normalized=false ones on
  // the raw text, then normalized=true ones on the normalized text between those), longest
  // match at the earliest position; no bos/eos is added.
  std::vector<int32_t> encode(std::string_view text) const override;

  // The exact bytes of `ids`, skipping added tokens marked special. Non-special added tokens
  // decode to their content. Errors: kInvalidArgument naming an id outside [0, vocab_size()) or
  // one no token has (a hole in the id space), and its position.
  Result<std::string> decode(std::span<const int32_t> ids) const override;

  int32_t bos_id() const override { return bos_id_; }
  int32_t eos_id() const override { return eos_id_; }
  int32_t pad_id() const override { return pad_id_; }
  // One more than the largest id of the vocab and the added tokens.
  int32_t vocab_size() const override { return static_cast<int32_t>(id_bytes_.size()); }

  // The special ids the post_processor puts before a single text (`tokenizer(text)` with
  // add_special_tokens=True): [<|begin_of_text|>] for Llama 3, empty for Qwen.
  const std::vector<int32_t>& single_prefix_ids() const { return single_prefix_ids_; }

  // The id of `token` (a vocab entry in byte-level symbols, or an added token's content).
  std::optional<int32_t> token_to_id(std::string_view token) const;

  // Merge-cache entries kept at most; words are still encoded (uncached) once it is full.
  static constexpr size_t kCacheCapacity = 100000;
  // Longer pre-tokens (long whitespace or digit runs) are never cached.
  static constexpr size_t kCacheMaxWordBytes = 256;

  // Only load() can make one (passkey idiom, so load() can use std::make_shared).
  class Key {
    friend class BpeTokenizer;
    Key() = default;
  };
  explicit BpeTokenizer(Key /*key*/) {}

 private:
  struct AddedToken {
    std::string content;
    int32_t id = 0;
    bool special = false;
    bool normalized = false;  // matched on normalized text (content normalized too)
    bool lstrip = false;      // a match also takes the whitespace before it
    bool rstrip = false;      // a match also takes the whitespace after it
  };
  // Finds added tokens in text: candidates by first byte, longest content first.
  struct AddedTokenMatcher {
    struct Match {
      size_t begin = 0;  // including swallowed whitespace (lstrip)
      size_t end = 0;    // including swallowed whitespace (rstrip)
      int32_t id = 0;
    };
    struct Entry {
      std::string content;  // normalized for normalized=true tokens
      int32_t id = 0;
      bool lstrip = false;
      bool rstrip = false;
    };
    std::array<std::vector<Entry>, 256> by_first_byte;
    bool empty = true;
    // The earliest match in text[from, end); a left strip never reaches before `from`.
    std::optional<Match> find(std::string_view text, size_t from) const;
  };
  // What a pre-tokenizer step does to a segment of text between added tokens.
  struct PreTokenizer {
    std::vector<RegexSplitter> splits;  // applied in order, each to every piece of the previous
    bool add_prefix_space = false;
  };
  struct Merge {
    int32_t rank = 0;
    int32_t merged_id = 0;
  };
  enum class IdKind : uint8_t { kNone, kVocab, kAdded, kSpecial };

  // Appends the ids of one pre-token (raw bytes).
  void encode_word(std::string_view word, std::vector<int32_t>& ids) const;
  // BPE merges of one word given as raw bytes, lowest rank first (no cache).
  std::vector<int32_t> merge_word(std::string_view bytes) const;
  // Appends the ids of raw text between normalized=false added tokens.
  void encode_unnormalized(std::string_view text, std::vector<int32_t>& ids) const;
  // Appends the ids of text that contains no added token.
  void encode_ordinary(std::string_view text, std::vector<int32_t>& ids) const;

  std::unordered_map<std::string, int32_t> vocab_;  // byte-level symbols -> id
  std::unordered_map<uint64_t, Merge> merges_;      // (left id << 32 | right id) -> merge
  std::array<int32_t, 256> byte_ids_{};             // id of each single-byte symbol
  bool ignore_merges_ = false;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;

  std::vector<AddedToken> added_tokens_;
  AddedTokenMatcher raw_added_;         // normalized=false tokens, matched on the raw text
  AddedTokenMatcher normalized_added_;  // normalized=true tokens, matched after normalization

  std::vector<std::string> id_bytes_;  // id -> decoded bytes (vocab) or content (added)
  std::vector<IdKind> id_kinds_;

  int32_t bos_id_ = 0;
  int32_t eos_id_ = 0;
  int32_t pad_id_ = 0;
  std::vector<int32_t> single_prefix_ids_;

  // Hashes std::string and std::string_view alike, so cache lookups need no allocation.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
  };
  mutable std::mutex cache_mutex_;
  // Guarded by cache_mutex_. Raw pre-token bytes -> ids.
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

} // namespace caravan::model
