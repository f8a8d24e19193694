// File: rewards/math/value_equivalence.h
// Decides whether two parsed expressions (rewards/math/expression.h) denote the same value,
// exactly:
//  - Without variables, both sides are evaluated exactly (rewards/math/real_value.h) and
//    compared with certified arithmetic (rewards/math/real_compare.h): rationals exactly,
//    radicals by interval refinement plus a separation bound, so 2\sqrt{2} = \sqrt{8} is proven
//    and 1393/985 != \sqrt{2} is proven. pi and e are transcendental: a value with pi or e is
//    first checked at the true pi and e (which can only prove inequality: 355/113 != pi), then
//    equality is proven as an identity in pi and e treated as symbols (2\pi = \pi + \pi).
//  - With variables (and pi and e as symbols), both sides are evaluated exactly at
//    kIdentityPoints seeded rational points, negative and non-integer ones included; points
//    where either side is undefined are skipped, at least kMinAgreeingPoints must remain, and
//    every remaining point must agree exactly.
// A tolerance applies only to values without variables: |a - b| <= tolerance * |b| with b the
// reference; tolerance 0 (the default everywhere) is exact equality.
//
//   Result<Equality> same = expressions_equal(*answer, *reference, /*tolerance=*/0, budget);
#pragma once

#include <gmpxx.h>

#include "core/status.h"
#include "rewards/math/eval_budget.h"
#include "rewards/math/expression.h"

namespace caravan::rewards::math {

// kUndecided: neither equality nor inequality could be proven (an irrational exponent, a value
// beyond the exact-arithmetic limits, a function undefined at every sample point). Callers
// treat it as "not shown equal".
enum class Equality { kEqual, kUnequal, kUndecided };

inline constexpr int kIdentityPoints = 8;
inline constexpr int kMinAgreeingPoints = 4;

// Whether `answer` and `reference` are the same value (see the file comment). kTimeout when
// `budget` runs out; every other failure is kUndecided.
Result<Equality> expressions_equal(const Expression& answer, const Expression& reference, const mpq_class& tolerance,
                                   EvalBudget& budget);

// Which constant factors proportional() accepts.
enum class Factor { kPositive, kNonzero };

// Whether answer = c * reference identically for one constant c (c > 0 for kPositive, c != 0
// for kNonzero): the test behind relations such as "x < 1" vs "-x > -1" (both written as
// "expression < 0") and "2x + 4y - 3 = 0" vs "y = -x/2 + 3/4". Evaluated at the identity points
// like expressions_equal(). kTimeout when `budget` runs out.
Result<Equality> proportional(const Expression& answer, const Expression& reference, Factor factor,
                              EvalBudget& budget);

} // namespace caravan::rewards::math
