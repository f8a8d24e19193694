// File: model/pretokenizer.h
// The two pieces of a Hugging Face byte-level pre-tokenizer, without LibTorch:
//  - RegexSplitter: a PCRE2 regex (core/regex.h: UTF + UCP, JIT when available) that cuts text into
//    pre-tokens with the "Isolated" behaviour: every match is one piece, and every gap between
//    matches is one piece too, so the pieces always concatenate back to the input.
//  - The GPT-2 byte <-> unicode table (bytes_to_unicode): each byte maps to one printable code
//    point, so a byte-level BPE vocabulary is a set of ordinary strings.
//
//   CARAVAN_ASSIGN_OR_RETURN(model::RegexSplitter splitter,
//                            model::RegexSplitter::compile(model::kGpt2SplitPattern));
//   std::vector<std::string_view> pieces = splitter.split("Hello  world");
//   // {"Hello", " ", " world"}
//   std::string symbols = model::byte_level_encode(" world");  // "Ġworld"
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/regex.h"
#include "core/status.h"

namespace caravan::model {

// GPT-2's split pattern (also what HF's ByteLevel pre-tokenizer uses when use_regex is true).
inline constexpr std::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Llama 3's split pattern (its tokenizer.json Split pre-tokenizer).
inline constexpr std::string_view kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Qwen 2 / 2.5's split pattern (like Llama 3's, but digits one at a time).
inline constexpr std::string_view kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// A compiled PCRE2 pattern. Immutable after compile(); split() is const and thread-safe.
// Copies share the compiled code.
class RegexSplitter {
 public:
  // kRegex: PCRE2 syntax (HF "Regex"; its Rust regex patterns above are PCRE2-compatible);
  // kLiteral: the pattern is a literal string (HF "String").
  using Syntax = core::Regex::Syntax;

  // Compiles `pattern` (core::Regex::compile). Errors: kInvalidArgument with PCRE2's message and
  // the offset.
  static Result<RegexSplitter> compile(std::string_view pattern, Syntax syntax = Syntax::kRegex);

  // Cuts `text` into consecutive non-empty pieces that concatenate to `text`: each match and
  // each gap between matches is one piece. Any bytes are accepted: invalid UTF-8 never matches
  // and so lands in gap pieces. The views point into `text`.
  std::vector<std::string_view> split(std::string_view text) const;

  const std::string& pattern() const { return regex_.pattern(); }

 private:
  explicit RegexSplitter(core::Regex regex) : regex_(std::move(regex)) {}

  core::Regex regex_;
};

// The GPT-2 table: byte b -> the UTF-8 encoding of its code point. Printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves, the other 68 to U+0100.. in byte order
// (so ' ' -> "Ġ", '\n' -> "Ċ").
const std::array<std::string, 256>& byte_level_table();

// Maps each byte of `bytes` through byte_level_table(); the result is valid UTF-8.
std::string byte_level_encode(std::string_view bytes);

// The inverse of byte_level_encode; empty if `symbols` contains a code point outside the table
// or is not valid UTF-8.
std::optional<std::string> byte_level_decode(std::string_view symbols);

} // namespace caravan::model
