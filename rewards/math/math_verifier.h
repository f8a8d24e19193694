// File: rewards/math/math_verifier.h
// Reward for competition-math answers (MATH, GSM8K and similar): extracts the model's final
// answer (rewards/math/extraction.h), normalises it and the reference without dropping meaning
// (rewards/math/latex_normalize.h), parses both into shapes (rewards/math/answer_structure.h)
// and decides equivalence exactly (rewards/math/answer_equivalence.h): integers of any size,
// decimals and fractions as exact rationals, radicals proven equal or unequal with certified
// intervals, pi and e as transcendental symbols, expressions with variables at seeded exact
// points, tuples, intervals, sets, unions, matrices, relations, multiple-choice letters and
// text. Nothing is compared with a tolerance unless the sample's source asks for one
// (VerifySettings::numeric_tolerance, from `numeric_tolerance` in the reward config).
//
//   MathVerifier verifier;  // registered as "math" in make_default_registry()
//   verifier.verify("... so the answer is $\\boxed{\\dfrac{14}{3}}$.", "\\frac{14}{3}");  // kOk
//   verifier.verify("#### 0.5", "$\\frac12$");                                            // kOk
//   verifier.verify("\\boxed{12345.68}", "12345.67");                                     // kWrong
//   verifier.verify("\\boxed{0.333}", "\\frac13", {.numeric_tolerance = 0.01});           // kOk
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <gmpxx.h>

#include "core/status.h"
#include "rewards/math/eval_budget.h"
#include "rewards/math/extraction.h"
#include "rewards/math/value_equivalence.h"
#include "rewards/verifier.h"

namespace caravan::rewards::math {

// A plain value.
struct MathVerifierOptions {
  // Wall-clock budget for one verify() call (parsing and evaluation check it cooperatively).
  // Exceeding it yields VerdictStatus::kTimeout. Range: >= 0 ms.
  std::chrono::milliseconds deadline{200};
  // Extraction rules, first match wins. Empty: the whole completion is the answer.
  std::vector<ExtractionRule> extraction_order = kDefaultExtractionOrder;
};

// Whether two raw answers (not yet normalised) are equivalent: both are normalised, parsed and
// compared as answers_equal() describes, and then:
//  - units: when both name a unit, the units must be the same ("5 cm" != "5 m"); a unit on one
//    side only is dropped (it can only name the unit of the reference);
//  - percent: when one side carries a percent sign, "p%" matches p (the sign dropped, as MATH
//    answers often omit it) and p/100.
// `tolerance` >= 0 is the relative tolerance for values without variables (0 = exact).
// kTimeout when `budget` runs out. Thread-safe with one budget per call.
Result<Equality> math_answers_equivalent(std::string_view answer, std::string_view reference,
                                         const mpq_class& tolerance, EvalBudget& budget);

// The exact rational of a tolerance given as a double, read as its shortest decimal form
// (1e-06 is exactly 1/1000000, not the binary double nearest to it).
mpq_class decimal_tolerance(double tolerance);

// Stateless after construction; thread-safe.
class MathVerifier : public Verifier {
 public:
  static constexpr std::string_view kName = "math";

  explicit MathVerifier(MathVerifierOptions options = {}) : options_(std::move(options)) {}

  std::string_view name() const override { return kName; }

  // {1.0, kOk, ""} when equivalent; {0.0, kWrong, detail} when no answer was found, it differs
  // ("expected \frac{14}{3}, got 4.6") or equivalence could not be proven; {0.0, kTimeout, ...}
  // when the deadline passed; {0.0, kError, ...} for an empty ground truth or a negative or
  // non-finite settings.numeric_tolerance.
  Verdict verify(std::string_view completion, std::string_view ground_truth) const override;
  Verdict verify(std::string_view completion, std::string_view ground_truth,
                 const VerifySettings& settings) const override;

 private:
  MathVerifierOptions options_;
};

} // namespace caravan::rewards::math
