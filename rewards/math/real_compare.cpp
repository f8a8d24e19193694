#include "rewards/math/real_compare.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "rewards/math/interval.h"
#include "rewards/math/separation_bound.h"

namespace caravan::rewards::math {
namespace {

constexpr long kFirstIntervalBits = 64;

Sign sign_of(int s) { return s > 0 ? Sign::kPositive : (s < 0 ? Sign::kNegative : Sign::kZero); }

// An enclosure of node `id` at `precision` bits, or nullopt when a divisor or an even root's
// radicand cannot be enclosed away from 0 at this precision.
Result<std::optional<Interval>> enclose(const RealArena& arena, std::int32_t id, mpfr_prec_t precision,
                                        EvalBudget& budget) {
  std::vector<std::optional<Interval>> value(static_cast<std::size_t>(id) + 1);
  auto at = [&value](std::int32_t i) -> const Interval& { return *value[static_cast<std::size_t>(i)]; };
  for (const std::int32_t i : arena.reachable(id)) {
    CARAVAN_RETURN_IF_ERROR(budget.tick());
    const RealNode& node = arena.node(i);
    std::optional<Interval> result;
    switch (node.op) {
      case RealOp::kRational: result = Interval::of_rational(node.rational, precision); break;
      case RealOp::kPi: result = Interval::pi(precision); break;
      case RealOp::kE: result = Interval::e(precision); break;
      case RealOp::kAdd: result = Interval::add(at(node.a), at(node.b)); break;
      case RealOp::kMultiply: result = Interval::multiply(at(node.a), at(node.b)); break;
      case RealOp::kNegate: result = Interval::negate(at(node.a)); break;
      case RealOp::kInverse: result = Interval::inverse(at(node.a)); break;
      case RealOp::kRoot: result = Interval::root(at(node.a), node.root_index); break;
    }
    if (!result) return std::optional<Interval>();
    value[static_cast<std::size_t>(i)] = std::move(result);
  }
  return std::move(value[static_cast<std::size_t>(id)]);
}

Result<Real> absolute(RealArena& arena, const Real& value, Sign sign) {
  return sign == Sign::kNegative ? arena.negate(value) : value;
}

} // namespace

Result<Sign> certified_sign(const RealArena& arena, const Real& value, EvalBudget& budget) {
  if (value.is_rational()) return sign_of(sgn(value.rational));
  const std::optional<long> bound = separation_bound_bits(arena, value.node, kMaxIntervalBits);
  const long cap = arena.node(value.node).transcendental ? kMaxTranscendentalIntervalBits : kMaxIntervalBits;
  for (long precision = kFirstIntervalBits;;) {
    CARAVAN_ASSIGN_OR_RETURN(std::optional<Interval> interval, enclose(arena, value.node, precision, budget));
    if (interval) {
      if (const int s = interval->sign(); s != 0) return sign_of(s);
      // Nonzero algebraic values have |value| >= 2^-bound: an enclosure inside that proves 0.
      if (bound && interval->inside_power_of_two(-*bound)) return Sign::kZero;
    }
    if (precision >= cap) return Sign::kUnknown;
    // Straight to the precision the bound needs (plus slack for rounding in the intermediates).
    precision = std::min(std::max(precision * 4, bound ? *bound + 64 : 0), cap);
  }
}

Result<Sign> sign_of_difference(RealArena& arena, const Real& a, const Real& b, EvalBudget& budget) {
  CARAVAN_ASSIGN_OR_RETURN(Real difference, arena.subtract(a, b));
  return certified_sign(arena, difference, budget);
}

Result<Sign> within_relative_tolerance(RealArena& arena, const Real& answer, const Real& reference,
                                       const mpq_class& tolerance, EvalBudget& budget) {
  CARAVAN_ASSIGN_OR_RETURN(Real difference, arena.subtract(answer, reference));
  CARAVAN_ASSIGN_OR_RETURN(Sign difference_sign, certified_sign(arena, difference, budget));
  if (difference_sign == Sign::kZero) return Sign::kPositive;
  CARAVAN_ASSIGN_OR_RETURN(Sign reference_sign, certified_sign(arena, reference, budget));
  if (reference_sign == Sign::kUnknown) return Sign::kUnknown;
  if (reference_sign == Sign::kZero) return difference_sign == Sign::kUnknown ? Sign::kUnknown : Sign::kNegative;
  CARAVAN_ASSIGN_OR_RETURN(Real magnitude, absolute(arena, reference, reference_sign));
  CARAVAN_ASSIGN_OR_RETURN(Real allowed, arena.multiply(Real(tolerance), magnitude));
  // Within iff allowed - |difference| >= 0. With the sign of the difference unknown (it is
  // tiny but not provably 0), both allowed - difference and allowed + difference must be >= 0.
  std::vector<Real> slacks;
  if (difference_sign != Sign::kNegative) {
    CARAVAN_ASSIGN_OR_RETURN(Real slack, arena.subtract(allowed, difference));
    slacks.push_back(std::move(slack));
  }
  if (difference_sign != Sign::kPositive) {
    CARAVAN_ASSIGN_OR_RETURN(Real slack, arena.add(allowed, difference));
    slacks.push_back(std::move(slack));
  }
  Sign verdict = Sign::kPositive;
  for (const Real& slack : slacks) {
    CARAVAN_ASSIGN_OR_RETURN(Sign s, certified_sign(arena, slack, budget));
    if (s == Sign::kNegative) return Sign::kNegative;
    if (s == Sign::kUnknown) verdict = Sign::kUnknown;
  }
  return verdict;
}

} // namespace caravan::rewards::math
