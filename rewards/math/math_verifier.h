// File: rewards/math/math_verifier.h
// Reward for competition-math answers (MATH, GSM8K and similar): extracts the model's final
// answer, normalises both it and the ground truth (rewards/math/latex_normalize.h) and decides
// mathematical equivalence: integers, decimals, fractions, mixed numbers, scientific notation,
// radicals, pi, simple algebraic expressions (rewards/math/expression.h), intervals, tuples,
// sets, "\pm" solution pairs and multiple-choice letters.
//
//   MathVerifier verifier;  // registered as "math" in make_default_registry()
//   verifier.verify("... so the answer is $\\boxed{\\dfrac{14}{3}}$.", "\\frac{14}{3}");  // kOk
//   verifier.verify("#### 0.5", "$\\frac12$");                                            // kOk
//   verifier.verify("I think \\boxed{(1,2]}", "(1,2)");                                   // kWrong
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rewards/math/expression.h"
#include "rewards/verifier.h"

namespace caravan::rewards::math {

// Ways to find the final answer in a completion; tried in MathVerifierOptions order.
enum class ExtractionRule {
  // Content of the last "\boxed{...}" or "\fbox{...}" with balanced (nested) braces; also
  // "\boxed 5" (one token after a space).
  kBoxed,
  // Text after the last "####", to the end of that line.
  kHashes,
  // Text after the last "answer is" (any case, optional ':'), to the end of that sentence
  // (". " or a newline).
  kAnswerIs,
  // The last number: optional '-', digits with optional comma groups, optional decimals (".5" too),
  // optional "/digits" ("3/4").
  kLastNumber,
};

// A plain value.
struct MathVerifierOptions {
  // Wall-clock budget for one verify() call (parsing and evaluation check it cooperatively).
  // Exceeding it yields VerdictStatus::kTimeout. Range: >= 0 ms.
  std::chrono::milliseconds deadline{200};
  // Extraction rules, first match wins. Empty: the whole completion is the answer.
  std::vector<ExtractionRule> extraction_order{ExtractionRule::kBoxed, ExtractionRule::kHashes,
                                               ExtractionRule::kAnswerIs, ExtractionRule::kLastNumber};
  // Relative tolerance for comparisons that are not exact-rational: when either side is
  // written with a decimal point (0.3333333 vs \frac13, 1.41421356 vs \sqrt2), for irrationals
  // (pi, radicals) and for expressions at sample points. Range: [0, 1).
  double relative_tolerance = 1e-6;
};

// Content of the last balanced, non-empty \boxed{...} / \fbox{...} in `text` (trimmed), or
// nullopt. Only the last 16 occurrences are considered (bounded work on adversarial text).
std::optional<std::string> last_boxed_content(std::string_view text);

// The final answer in `completion` by `order` (see ExtractionRule), or nullopt. Thread-safe.
std::optional<std::string> extract_math_answer(std::string_view completion,
                                               const std::vector<ExtractionRule>& order);

// The reference answer inside a ground truth: the last \boxed{} of a full solution, else the
// text after "####", else the whole string.
std::string ground_truth_answer(std::string_view ground_truth);

// Whether two raw answers (not yet normalised) are equivalent. Both are normalised, then:
//  - identical text is equivalent;
//  - a reference that is a choice letter A-E ("B", "(B)") matches only the same letter;
//  - shapes must agree: a union ("\cup", order-insensitive), a set "\{..\}"
//    (order-insensitive), a bracketed tuple/interval "(a,b]" (ordered; brackets must match), a
//    bare comma list "1, -2" (a list of solutions: order-insensitive), one "\pm" (the two
//    solutions, order-insensitive), or a scalar; items compare recursively;
//  - scalars with '=' compare side by side; other scalars are parsed as expressions and
//    compared with expressions_equivalent() (tolerance also for exact values when either side
//    contains a decimal point). Two or more bare letters are a word ("yes", "Monday"), never a
//    product of variables, so "ab" and "ba" differ while "2ab" and "2ba" are equal. Text that
//    does not parse is equal only if identical.
// kTimeout when `budget` runs out. Thread-safe with one budget per call.
Result<bool> math_answers_equivalent(std::string_view answer, std::string_view reference,
                                     double relative_tolerance, EvalBudget& budget);

// Stateless after construction; thread-safe.
class MathVerifier : public Verifier {
 public:
  static constexpr std::string_view kName = "math";

  explicit MathVerifier(MathVerifierOptions options = {}) : options_(std::move(options)) {}

  std::string_view name() const override { return kName; }

  // {1.0, kOk, ""} when equivalent; {0.0, kWrong, detail} when no answer was found or it
  // differs ("expected \frac{14}{3}, got 4.6"); {0.0, kTimeout, ...} when the deadline passed;
  // {0.0, kError, ...} for an empty ground truth.
  Verdict verify(std::string_view completion, std::string_view ground_truth) const override;

 private:
  MathVerifierOptions options_;
};

} // namespace caravan::rewards::math
