#include "rewards/arithmetic_verifier.h"

#include <optional>
#include <string>

#include "core/str_cat.h"
#include "rewards/answer_extraction.h"
#include "rewards/exact_number.h"

namespace caravan::rewards {

Verdict ArithmeticVerifier::verify(std::string_view completion, std::string_view ground_truth) const {
  const std::optional<ExactNumber> expected = parse_exact_number(ground_truth);
  if (!expected) {
    return {0.0, VerdictStatus::kError, str_cat("ground truth is not a number: '", ground_truth, "'")};
  }
  const std::optional<std::string> answer = extract_final_answer(completion);
  if (!answer) return {0.0, VerdictStatus::kWrong, "no number found"};
  const std::optional<ExactNumber> got = parse_exact_number(*answer);
  if (!got) return {0.0, VerdictStatus::kWrong, str_cat("answer is not a number: '", *answer, "'")};
  if (*got != *expected) {
    return {0.0, VerdictStatus::kWrong, str_cat("expected ", ground_truth, ", got ", *answer)};
  }
  return {1.0, VerdictStatus::kOk, ""};
}

} // namespace caravan::rewards
