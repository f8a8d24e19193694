// File: rewards/math/real_compare.h
// Certified decisions about Reals (rewards/math/real_value.h): the sign of a value, equality
// of two values, and whether an answer lies within a relative tolerance of a reference. A
// rational is decided exactly. An irrational value is enclosed in intervals
// (rewards/math/interval.h) of increasing precision until the interval excludes 0, which proves
// the sign, or, for an algebraic value, until it lies inside the separation bound
// (rewards/math/separation_bound.h), which proves the value is 0. Nothing is ever decided by a
// fixed numerical tolerance; what cannot be proven within the precision cap is kUnknown.
//
//   RealArena arena;
//   Real a = ...;  Real b = ...;
//   Result<Sign> s = sign_of_difference(arena, a, b, budget);   // kZero: proven equal
#pragma once

#include <gmpxx.h>

#include "core/status.h"
#include "rewards/math/eval_budget.h"
#include "rewards/math/real_value.h"

namespace caravan::rewards::math {

enum class Sign { kNegative, kZero, kPositive, kUnknown };

// Largest interval precision, in bits, tried before a sign is reported kUnknown: for algebraic
// values (enough for their separation bound), and for values with pi or e, whose zero cannot be
// proven here anyway (rewards/math/value_equivalence.h then tests the identity with pi and e as
// symbols, so this cap only decides how hard the fast inequality check tries).
inline constexpr long kMaxIntervalBits = long{1} << 15;
inline constexpr long kMaxTranscendentalIntervalBits = 1024;

// The certified sign of `value`. For values with pi or e only a nonzero sign can be proven
// (kUnknown when the enclosures keep containing 0). kTimeout when `budget` runs out.
Result<Sign> certified_sign(const RealArena& arena, const Real& value, EvalBudget& budget);

// The certified sign of a - b.
Result<Sign> sign_of_difference(RealArena& arena, const Real& a, const Real& b, EvalBudget& budget);

// Whether |answer - reference| <= tolerance * |reference| (tolerance >= 0; a zero reference
// needs an exact zero): kPositive = within, kNegative = outside, kUnknown = not provable.
Result<Sign> within_relative_tolerance(RealArena& arena, const Real& answer, const Real& reference,
                                       const mpq_class& tolerance, EvalBudget& budget);

} // namespace caravan::rewards::math
