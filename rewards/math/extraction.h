// File: rewards/math/extraction.h
// Finds the final answer in a model's completion (and the reference answer in a dataset's
// ground truth) for the math verifier. The result is raw answer text, normalised later by
// rewards/math/latex_normalize.h.
//
//   std::optional<std::string> a = extract_math_answer("... so $\\boxed{\\frac{14}{3}}$.", kDefaultOrder);
//   // "\frac{14}{3}"
//   std::optional<std::string> b = extract_math_answer("Thus $x \\geq 5$ is the solution.", kDefaultOrder);
//   // "x \geq 5"
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caravan::rewards::math {

// Ways to find the final answer in a completion; tried in the configured order, first match
// wins.
enum class ExtractionRule {
  // The last \boxed{...} / \fbox{...} with balanced braces ("\boxed 5": one token), unless a
  // "final answer" statement comes after it (then that statement's answer, as in
  // kAnswerSentence). Boxes separated only by spacing, "$", ',' and the words "and"/"or"
  // ("\boxed{-2} \quad\text{and}\quad \boxed{1}") are one list answer "-2, 1", so a hedge
  // "\boxed{3} or \boxed{5}" is a two-item list, never 5 alone.
  kBoxed,
  // Text after the last "####", to the end of that line.
  kHashes,
  // The sentence after the last "final answer", "answer is" or "answer:" (any case): the whole
  // rest when it is a compact formula ("4 4/9", "x = 5", "12 dollars"), else its last LaTeX math
  // span or a bare number written after that span ("The largest $n$ is 34." -> 34), else the
  // rest as text ("yes").
  kAnswerSentence,
  // The content of the last LaTeX math span: "$...$" or "\(...\)" on one line, "$$...$$" or
  // "\[...\]" on any number of lines ("$5" with no closing '$' on its line is currency).
  kMathSpan,
  // The whole completion when it is only a one-line formula ("\frac{10}{9}", at most 200
  // characters, no '$'), else the last math span or the last bare number after it, whichever
  // comes later.
  kLastMathItem,
  // The last number: optional '-', digits with optional thousands groups (",ddd" or " ddd"),
  // optional decimals (".5" too, or a decimal comma "2,74" that is not a thousands group),
  // optional "/digits" ("3/4"), optional '%'; never digits glued to a preceding letter ("K2A",
  // "x2").
  kLastNumber,
};

// The order MathVerifier uses unless configured otherwise.
inline const std::vector<ExtractionRule> kDefaultExtractionOrder = {
    ExtractionRule::kBoxed, ExtractionRule::kHashes, ExtractionRule::kAnswerSentence, ExtractionRule::kLastMathItem};

// The last boxed answer of `text` as kBoxed describes, without the "final answer" competition,
// or nullopt. Only the last 16 "\boxed" occurrences are tried (bounded work on adversarial text).
std::optional<std::string> last_boxed_answer(std::string_view text);

// The final answer in `completion` by `order`, or nullopt. An empty `order` takes the whole
// completion. Thread-safe (pure function).
std::optional<std::string> extract_math_answer(std::string_view completion, const std::vector<ExtractionRule>& order);

// The reference answer inside a ground truth: its last boxed answer (a full solution), else the
// text after "####" (GSM8K), else the answer of its "final answer" / "answer is" sentence, else
// the whole string.
std::string ground_truth_answer(std::string_view ground_truth);

} // namespace caravan::rewards::math
