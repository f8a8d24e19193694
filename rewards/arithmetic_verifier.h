// File: rewards/arithmetic_verifier.h
// Reward for math word problems with a numeric answer (GSM8K-style): 1.0 when the completion's
// final answer equals the ground-truth number exactly, else 0.0.
//
//   ArithmeticVerifier verifier;
//   Verdict v = verifier.verify("6 * 7 = 42\n#### 42", "42");    // {1.0, kOk, ""}
//   Verdict w = verifier.verify("The answer is 13.", "12");       // {0.0, kWrong, "expected 12, got 13"}
#pragma once

#include <string_view>

#include "rewards/verifier.h"

namespace caravan::rewards {

// Stateless; thread-safe.
class ArithmeticVerifier : public Verifier {
 public:
  static constexpr std::string_view kName = "arithmetic";

  std::string_view name() const override { return kName; }

  // The answer is found with extract_final_answer() and compared with parse_exact_number()
  // (exact rational equality, any number of digits). Returns:
  //  - {1.0, kOk, ""} when equal;
  //  - {0.0, kWrong, detail} when no answer was found ("no number found"), the answer is not a
  //    number ("answer is not a number: 'x'") or differs ("expected 12, got 13");
  //  - {0.0, kError, "ground truth is not a number: 'x'"} when the dataset is at fault.
  Verdict verify(std::string_view completion, std::string_view ground_truth) const override;
};

} // namespace caravan::rewards
