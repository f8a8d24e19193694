#include "rewards/math/value_equivalence.h"

#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rewards/math/real_compare.h"

namespace caravan::rewards::math {
namespace {

using Bindings = std::map<std::string, mpq_class, std::less<>>;

// Fixed, so that verdicts are reproducible.
constexpr std::uint32_t kPointSeed = 20240527;

template <class T>
bool timed_out(const Result<T>& result) {
  return !result.ok() && result.status().code() == StatusCode::kTimeout;
}

std::set<std::string> joined(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out = a;
  out.insert(b.begin(), b.end());
  return out;
}

// kIdentityPoints assignments of small rationals to `variables`: points 0-3 give every variable
// a positive value (so square roots of several variables are defined somewhere), points 4-5 a
// negative one, points 6-7 alternate the sign from variable to variable; every even-numbered
// point is non-integer. pi and e always get positive values, like their true values.
std::vector<Bindings> identity_points(const std::set<std::string>& variables) {
  std::mt19937 rng(kPointSeed);
  std::uniform_int_distribution<int> numerator(1, 29);
  std::uniform_int_distribution<int> denominator(2, 7);
  std::vector<Bindings> points(kIdentityPoints);
  for (int i = 0; i < kIdentityPoints; ++i) {
    int j = 0;
    for (const std::string& name : variables) {
      const bool constant = name == kPiName || name == kEulerName;
      const bool negative = !constant && (i == 4 || i == 5 || (i >= 6 && (i + j) % 2 == 0));
      const int den = i % 2 == 0 ? denominator(rng) : 1;
      int num = numerator(rng);
      if (den > 1 && num % den == 0) ++num;  // keep it non-integer
      mpq_class value(negative ? -num : num, den);
      value.canonicalize();
      points[static_cast<std::size_t>(i)].emplace(name, std::move(value));
      ++j;
    }
  }
  return points;
}

Equality from_difference_sign(Sign sign) {
  switch (sign) {
    case Sign::kZero: return Equality::kEqual;
    case Sign::kNegative:
    case Sign::kPositive: return Equality::kUnequal;
    case Sign::kUnknown: return Equality::kUndecided;
  }
  return Equality::kUndecided;
}

bool finite(const PointValue& v) { return v.kind == PointValue::Kind::kFinite; }

struct PointPair {
  PointValue answer;
  PointValue reference;
};

// Both sides at `point`; nullopt when either cannot be computed exactly there (an irrational
// exponent, a value beyond the limits). Only a timeout is an error.
Result<std::optional<PointPair>> evaluate_both(const Expression& answer, const Expression& reference,
                                               const Bindings& point, RealArena& arena, EvalBudget& budget) {
  Result<PointValue> x = answer.evaluate(point, arena, budget);
  if (timed_out(x)) return x.status();
  Result<PointValue> y = reference.evaluate(point, arena, budget);
  if (timed_out(y)) return y.status();
  if (!x.ok() || !y.ok()) return std::optional<PointPair>();
  return std::optional<PointPair>(PointPair{std::move(*x), std::move(*y)});
}

// The equality a certified sign of a difference shows; a failure other than a timeout is
// kUndecided.
Result<Equality> equality_from(const Result<Sign>& difference) {
  if (timed_out(difference)) return difference.status();
  if (!difference.ok()) return Equality::kUndecided;
  return from_difference_sign(*difference);
}

// The points of an identity test so far.
class PointTally {
 public:
  void skip_undecided() { undecided_ = true; }
  // Records one point; true when the test is already decided (an unequal point).
  bool add(Equality here) {
    if (here == Equality::kUndecided) undecided_ = true;
    if (here == Equality::kEqual) ++agreeing_;
    return here == Equality::kUnequal;
  }
  Equality result() const {
    return undecided_ || agreeing_ < kMinAgreeingPoints ? Equality::kUndecided : Equality::kEqual;
  }

 private:
  int agreeing_ = 0;
  bool undecided_ = false;
};

// Both sides at the true values of pi and e (no variables).
Result<Equality> compare_constants(const Expression& answer, const Expression& reference, const mpq_class& tolerance,
                                   EvalBudget& budget) {
  RealArena arena;
  CARAVAN_ASSIGN_OR_RETURN(std::optional<PointPair> values, evaluate_both(answer, reference, {}, arena, budget));
  if (!values) return Equality::kUndecided;
  const PointValue& x = values->answer;
  const PointValue& y = values->reference;
  if (x.kind == PointValue::Kind::kUndefined || y.kind == PointValue::Kind::kUndefined) return Equality::kUnequal;
  if (!finite(x) || !finite(y)) return x.kind == y.kind ? Equality::kEqual : Equality::kUnequal;
  if (sgn(tolerance) > 0) {
    Result<Sign> within = within_relative_tolerance(arena, x.value, y.value, tolerance, budget);
    if (timed_out(within)) return within.status();
    if (!within.ok() || *within == Sign::kUnknown) return Equality::kUndecided;
    return *within == Sign::kPositive ? Equality::kEqual : Equality::kUnequal;
  }
  return equality_from(sign_of_difference(arena, x.value, y.value, budget));
}

// Identity test over `symbols` (see the header).
Result<Equality> identity_test(const Expression& answer, const Expression& reference,
                               const std::set<std::string>& symbols, EvalBudget& budget) {
  PointTally tally;
  for (const Bindings& point : identity_points(symbols)) {
    RealArena arena;
    CARAVAN_ASSIGN_OR_RETURN(std::optional<PointPair> values, evaluate_both(answer, reference, point, arena, budget));
    if (!values) {
      tally.skip_undecided();
      continue;
    }
    if (!finite(values->answer) || !finite(values->reference)) continue;  // outside a domain: says nothing
    CARAVAN_ASSIGN_OR_RETURN(Equality here,
                             equality_from(sign_of_difference(arena, values->answer.value, values->reference.value, budget)));
    if (tally.add(here)) return Equality::kUnequal;
  }
  return tally.result();
}

} // namespace

Result<Equality> expressions_equal(const Expression& answer, const Expression& reference, const mpq_class& tolerance,
                                   EvalBudget& budget) {
  const std::set<std::string> variables = joined(answer.variables(), reference.variables());
  const std::set<std::string> constants = joined(answer.constants(), reference.constants());
  if (variables.empty()) {
    CARAVAN_ASSIGN_OR_RETURN(Equality at_true_values, compare_constants(answer, reference, tolerance, budget));
    // Without pi and e the comparison at the true values is final. With them it can prove
    // inequality (or closeness within a tolerance) but not exact equality: that is left to the
    // identity test, where pi and e are symbols.
    if (constants.empty() || at_true_values != Equality::kUndecided) return at_true_values;
  }
  return identity_test(answer, reference, joined(variables, constants), budget);
}

Result<Equality> proportional(const Expression& answer, const Expression& reference, Factor factor,
                              EvalBudget& budget) {
  const std::set<std::string> symbols = joined(joined(answer.variables(), reference.variables()),
                                               joined(answer.constants(), reference.constants()));
  RealArena arena;  // one arena: the factor found at one point is reused at the others
  std::optional<Real> ratio;
  PointTally tally;
  for (const Bindings& point : identity_points(symbols)) {
    CARAVAN_ASSIGN_OR_RETURN(std::optional<PointPair> values, evaluate_both(answer, reference, point, arena, budget));
    if (!values) {
      tally.skip_undecided();
      continue;
    }
    if (!finite(values->answer) || !finite(values->reference)) continue;
    const Real& x = values->answer.value;
    const Real& y = values->reference.value;
    if (ratio) {
      Result<Real> scaled = arena.multiply(*ratio, y);
      if (!scaled.ok()) {
        tally.skip_undecided();
        continue;
      }
      CARAVAN_ASSIGN_OR_RETURN(Equality here, equality_from(sign_of_difference(arena, x, *scaled, budget)));
      if (tally.add(here)) return Equality::kUnequal;
      continue;
    }
    CARAVAN_ASSIGN_OR_RETURN(Sign reference_sign, certified_sign(arena, y, budget));
    if (reference_sign == Sign::kUnknown) {
      tally.skip_undecided();
      continue;
    }
    if (reference_sign == Sign::kZero) {  // then the answer must be 0 too
      CARAVAN_ASSIGN_OR_RETURN(Equality here, equality_from(certified_sign(arena, x, budget)));
      if (tally.add(here)) return Equality::kUnequal;
      continue;
    }
    Result<Real> quotient = arena.multiply(x, *arena.inverse(y));
    if (!quotient.ok()) return Equality::kUndecided;
    ratio = std::move(*quotient);
    CARAVAN_ASSIGN_OR_RETURN(Sign ratio_sign, certified_sign(arena, *ratio, budget));
    if (ratio_sign == Sign::kUnknown) return Equality::kUndecided;
    if (ratio_sign == Sign::kZero || (factor == Factor::kPositive && ratio_sign == Sign::kNegative)) {
      return Equality::kUnequal;
    }
    tally.add(Equality::kEqual);
  }
  if (!ratio) return Equality::kUndecided;
  return tally.result();
}

} // namespace caravan::rewards::math
