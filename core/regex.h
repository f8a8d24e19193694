// File: core/regex.h
// PCRE2 regular expressions for matching patterns against untrusted text: tokenizer pre-split
// patterns (model/pretokenizer.h) and the format checks of reward configs (core/reward_config.h).
// Perl syntax with Unicode properties (\p{L}, UTF + UCP); invalid UTF-8 in the subject is
// tolerated (it never matches a character class). Matching uses PCRE2's JIT when available and
// falls back to the interpreter, whose backtracking lives on the heap, so no subject can
// overflow the stack (std::regex recurses per character and crashes on long completions); a
// match limit and a heap limit bound the work and memory of a pathological pattern.
//
//   CARAVAN_ASSIGN_OR_RETURN(core::Regex answer, core::Regex::compile(R"(Answer:\s*\d+)"));
//   Result<std::optional<core::Regex::Span>> found = answer.find("... Answer: 42");
//   if (!found.ok()) ...        // kResourceExhausted: the pattern hit its match or heap limit
//   else if (*found) ...        // (*found)->begin, (*found)->end: byte offsets of the match
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

// PCRE2's match data (pcre2_match_data with 8-bit code units), kept out of this header.
struct pcre2_real_match_data_8;

namespace caravan::core {

// Immutable after compile(); find() and find_all() are const and thread-safe (each call has its
// own match data). Copies share the compiled code.
class Regex {
 public:
  enum class Syntax {
    kRegex,    // PCRE2 (Perl) syntax
    kLiteral,  // the pattern is a literal string
  };

  // Byte offsets [begin, end) of a match in the subject.
  struct Span {
    size_t begin = 0;
    size_t end = 0;
  };

  // Work bounds of one find(). PCRE2's defaults are 10M and 20 GB; the heap default is lowered
  // so that a hostile subject costs at most this much memory per call.
  static constexpr uint32_t kMatchLimit = 10'000'000;
  static constexpr uint32_t kHeapLimitKiB = 64 * 1024;

  // Compiles `pattern` with PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, plus PCRE2_UCP (kRegex) or
  // PCRE2_LITERAL (kLiteral), and JIT-compiles it when PCRE2 has JIT.
  // Errors: kInvalidArgument "regex 'PATTERN': REASON at offset N".
  static Result<Regex> compile(std::string_view pattern, Syntax syntax = Syntax::kRegex);

  // The leftmost match starting at or after byte `start` (<= text.size()); nullopt when there is
  // none. kResourceExhausted naming the pattern when the match or heap limit is hit;
  // kInternal for any other PCRE2 failure.
  Result<std::optional<Span>> find(std::string_view text, size_t start = 0) const;

  // Every non-empty match, left to right and non-overlapping: each search starts where the
  // previous match ended, or one code point further after an empty match. One match buffer
  // serves the whole scan. Errors as find().
  Result<std::vector<Span>> find_all(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  Regex(std::string pattern, std::shared_ptr<const Code> code) : pattern_(std::move(pattern)), code_(std::move(code)) {}

  // pcre2_match of `text` from `start` into `match`, on the interpreter again when the JIT's
  // stack overflows: PCRE2's return code (>= 0 on a match).
  int match_at(pcre2_real_match_data_8* match, std::string_view text, size_t start) const;
  // The Status for a failing return code of match_at() other than "no match".
  Status failure(int rc, size_t text_size) const;

  std::string pattern_;
  std::shared_ptr<const Code> code_;
};

} // namespace caravan::core
