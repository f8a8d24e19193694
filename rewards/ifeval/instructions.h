// File: rewards/ifeval/instructions.h
// The IFEval instruction checkers (google-research instruction_following_eval/instructions.py),
// one per instruction id, with IFEval's parameter names, so a prompt's
// "instruction_id_list" + "kwargs" map one-to-one onto check_instruction() calls. Checks follow
// IFEval's *strict* mode and mirror its regexes by hand (no std::regex: bounded, linear work on
// adversarial completions). Known approximations are documented per function below.
//
//   nlohmann::json kwargs = {{"num_words", 300}, {"relation", "at least"}};
//   Result<bool> followed = check_instruction("length_constraints:number_words", kwargs, text);
//   if (!followed.ok()) ...            // unknown id or malformed kwargs (kInvalidArgument)
//   else if (*followed) ...            // the completion follows the instruction
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace caravan::rewards::ifeval {

// IFEval's comparison relations. "less than" is strict (actual < n); "at least" is inclusive
// (actual >= n).
enum class Relation { kLessThan, kAtLeast };

// Parses "less than" / "at least" (exact spelling); kInvalidArgument otherwise.
Result<Relation> parse_relation(std::string_view text);

// Whether `actual` satisfies `relation` against `threshold`.
bool relation_holds(std::int64_t actual, Relation relation, std::int64_t threshold);

// Checks one instruction. `kwargs` is that instruction's parameter object (IFEval names, e.g.
// {"num_words": 300, "relation": "at least"}); null or absent keys count as missing, unused keys
// are ignored, and a null `kwargs` is an empty object. Integer parameters may be JSON integers
// or integral floats (3.0).
// Returns true / false (followed or not) or kInvalidArgument naming the id and the parameter
// when the id is unknown or a required parameter is missing or has the wrong type/range.
// Never throws; thread-safe.
Result<bool> check_instruction(std::string_view instruction_id, const nlohmann::json& kwargs,
                               std::string_view response);

// Every instruction id check_instruction() accepts, in IFEval's registry order.
const std::vector<std::string_view>& supported_instruction_ids();

// Number of \w+ runs (IFEval count_words uses nltk RegexpTokenizer(r"\w+")). Word characters:
// ASCII letters, digits, '_' and non-ASCII code points outside the common punctuation blocks.
std::size_t count_words(std::string_view text);

// Number of sentences. Approximates IFEval's split_into_sentences: a sentence ends at a run of
// '.', '!' or '?' followed by whitespace, a closing quote or the end of the text, except after
// common abbreviations ("Mr.", "Dr.", "e.g.", ...) and single-letter initials ("J. Smith");
// trailing text without a terminator is one more sentence. Newlines alone do not split.
std::size_t count_sentences(std::string_view text);

// Writing systems the script-based language detector distinguishes.
enum class Script {
  // No letters at all.
  kNone,
  kLatin,
  kGreek,
  kCyrillic,
  kHebrew,
  kArabic,
  kDevanagari,
  kBengali,
  kGurmukhi,
  kGujarati,
  kTamil,
  kTelugu,
  kKannada,
  kMalayalam,
  kThai,
  kHangul,
  // Chinese characters (also used by Japanese).
  kHan,
  // Japanese hiragana / katakana.
  kKana,
};

// The script with the most letters in `text` (invalid UTF-8 bytes are skipped); kNone when there
// are no letters; ties go to the script listed first above. Han and Kana compete as one group:
// the result is kKana when that group wins and any kana occurs (Japanese), kHan otherwise.
Script dominant_script(std::string_view text);

// Whether `text` is written in `language` (an ISO 639-1 code as langdetect reports it).
// Latin-script languages "en", "es", "pt", "fr", "de", "it", "pl", "vi", "sw", "fi" (those IFEval
// prompts ask for) need Latin as dominant_script() and detect_latin_language() to pick them
// (latin_language.h); Latin text with no function word of any of them counts as "en" only.
// Other languages are decided by dominant_script(): "ar"/"fa"/"ur" Arabic, "ru"/"uk"/"bg"/"mk"/
// "sr" Cyrillic, "hi"/"mr"/"ne" Devanagari, "el" Greek, "he"/"iw" Hebrew, "th" Thai, "ko" Hangul,
// "ja" Kana (Han with kana), "zh"/"zh-cn"/"zh-tw" Han without kana, "bn", "pa", "gu", "ta", "te",
// "kn", "ml" their Indic scripts. Text without letters is not in any language (IFEval counts it
// as followed; we do not, so a letter-free answer cannot collect the reward).
// kInvalidArgument for any other code (e.g. "nl", "tr").
Result<bool> is_language(std::string_view text, std::string_view language);

} // namespace caravan::rewards::ifeval
