#include "rewards/math/math_verifier.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

#include "core/str_cat.h"
#include "rewards/math/answer_equivalence.h"
#include "rewards/math/answer_structure.h"
#include "rewards/math/latex_normalize.h"

namespace caravan::rewards::math {
namespace {

// `answer` read as p/100 ("28%" is 0.28), or nullopt when it is not a single value.
Result<std::optional<Answer>> hundredth(const Answer& answer, EvalBudget& budget) {
  if (answer.kind != Answer::Kind::kExpression) return std::optional<Answer>();
  CARAVAN_ASSIGN_OR_RETURN(Answer scaled, parse_answer("(" + answer.text + ")/100", budget));
  return std::optional<Answer>(std::move(scaled));
}

} // namespace

mpq_class decimal_tolerance(double tolerance) {
  char buffer[64];
  const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), tolerance);
  const std::string text(buffer, written.ptr);
  const std::size_t e = text.find('e');
  const std::string mantissa = text.substr(0, e);
  const long exponent = e == std::string::npos ? 0 : std::stol(text.substr(e + 1));
  const std::size_t point = mantissa.find('.');
  std::string digits = mantissa;
  long scale = exponent;
  if (point != std::string::npos) {
    digits.erase(point, 1);
    scale -= static_cast<long>(mantissa.size() - point - 1);
  }
  mpz_class power;
  mpz_ui_pow_ui(power.get_mpz_t(), 10, static_cast<unsigned long>(std::labs(scale)));
  mpq_class value = scale < 0 ? mpq_class(mpz_class(digits, 10), power) : mpq_class(mpz_class(digits, 10) * power);
  value.canonicalize();
  return value;
}

Result<Equality> math_answers_equivalent(std::string_view answer, std::string_view reference,
                                         const mpq_class& tolerance, EvalBudget& budget) {
  const NormalizedAnswer a = normalize_math_answer(answer);
  const NormalizedAnswer r = normalize_math_answer(reference);
  if (!a.unit.empty() && !r.unit.empty() && a.unit != r.unit) return Equality::kUnequal;
  CARAVAN_ASSIGN_OR_RETURN(Answer parsed_answer, parse_answer(a.text, budget));
  CARAVAN_ASSIGN_OR_RETURN(Answer parsed_reference, parse_answer(r.text, budget));
  // "1,22" against a single value is the decimal 1.22 (a list never equals a single value).
  if (!a.decimal_comma.empty() && parsed_reference.kind == Answer::Kind::kExpression) {
    CARAVAN_ASSIGN_OR_RETURN(parsed_answer, parse_answer(a.decimal_comma, budget));
  }
  if (!r.decimal_comma.empty() && parsed_answer.kind == Answer::Kind::kExpression) {
    CARAVAN_ASSIGN_OR_RETURN(parsed_reference, parse_answer(r.decimal_comma, budget));
  }
  CARAVAN_ASSIGN_OR_RETURN(Equality same, answers_equal(parsed_answer, parsed_reference, tolerance, budget));
  if (same == Equality::kEqual || a.percent == r.percent) return same;
  // One side is "p%": it also stands for p/100.
  const Answer& percent_side = a.percent ? parsed_answer : parsed_reference;
  CARAVAN_ASSIGN_OR_RETURN(std::optional<Answer> scaled, hundredth(percent_side, budget));
  if (!scaled) return same;
  CARAVAN_ASSIGN_OR_RETURN(Equality scaled_same, a.percent ? answers_equal(*scaled, parsed_reference, tolerance, budget)
                                                           : answers_equal(parsed_answer, *scaled, tolerance, budget));
  return scaled_same == Equality::kEqual ? scaled_same : same;
}

Verdict MathVerifier::verify(std::string_view completion, std::string_view ground_truth) const {
  return verify(completion, ground_truth, VerifySettings{});
}

Verdict MathVerifier::verify(std::string_view completion, std::string_view ground_truth,
                             const VerifySettings& settings) const {
  if (!(settings.numeric_tolerance >= 0.0) || !std::isfinite(settings.numeric_tolerance)) {
    return {0.0, VerdictStatus::kError, str_cat("numeric_tolerance must be a finite number >= 0, got ",
                                                settings.numeric_tolerance)};
  }
  const std::string reference = ground_truth_answer(ground_truth);
  if (reference.empty()) return {0.0, VerdictStatus::kError, "ground truth is empty"};
  EvalBudget budget(options_.deadline);
  const std::optional<std::string> answer = extract_math_answer(completion, options_.extraction_order);
  if (!answer) return {0.0, VerdictStatus::kWrong, "no answer found"};
  const Result<Equality> same =
      math_answers_equivalent(*answer, reference, decimal_tolerance(settings.numeric_tolerance), budget);
  if (!same.ok()) {
    if (same.status().code() == StatusCode::kTimeout) {
      return {0.0, VerdictStatus::kTimeout, str_cat("deadline of ", options_.deadline.count(), " ms exceeded")};
    }
    return {0.0, VerdictStatus::kError, same.status().to_string()};
  }
  switch (*same) {
    case Equality::kEqual: return {1.0, VerdictStatus::kOk, ""};
    case Equality::kUnequal: return {0.0, VerdictStatus::kWrong, str_cat("expected ", reference, ", got ", *answer)};
    case Equality::kUndecided:
      return {0.0, VerdictStatus::kWrong,
              str_cat("expected ", reference, ", got ", *answer, " (equivalence could not be proven exactly)")};
  }
  return {0.0, VerdictStatus::kError, "unknown equality"};
}

} // namespace caravan::rewards::math
