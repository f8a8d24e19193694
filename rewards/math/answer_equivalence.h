// File: rewards/math/answer_equivalence.h
// Decides whether a model's parsed answer (rewards/math/answer_structure.h) is equivalent to
// the reference answer. The reference decides the shape:
//  - a value: the answer's value, exactly (rewards/math/value_equivalence.h); "x = 3" with a
//    single variable counts as 3, "2x = 6" does not;
//  - a tuple or interval "(a, b]": same brackets, same length, items in order; a bare list
//    "a, b" matches a parenthesised tuple in order;
//  - a set "\{..\}" or a bare list of solutions: the same items in any order;
//  - a union: the same parts in any order; a matrix: same size, entries in order;
//  - a solution "x = v": "x = v'" with the same variable, or the bare value v'; an equation
//    "x = v(y)" whose value has variables also matches an equivalent equation;
//  - an equation: an equation whose left - right is a nonzero constant multiple of the
//    reference's ("2x + 4y - 3 = 0" vs "y = -x/2 + 3/4", sides swapped, both sides negated);
//  - an inequality: the same kind, difference a positive multiple ("x < 1" vs "-x > -1");
//    "x > 3", "x \in (3, \infty)" and "(3, \infty)" are the same set;
//  - a multiple-choice letter: the same letter in either case;
//  - text: the same words (case-insensitive), nothing else.
// Identical normalised text is always equivalent.
//
//   Result<Equality> same = answers_equal(answer, reference, /*tolerance=*/0, budget);
#pragma once

#include <gmpxx.h>

#include "core/status.h"
#include "rewards/math/answer_structure.h"
#include "rewards/math/eval_budget.h"
#include "rewards/math/value_equivalence.h"

namespace caravan::rewards::math {

// `tolerance` (>= 0) is the relative tolerance for values without variables (0 = exact).
// kTimeout when `budget` runs out.
Result<Equality> answers_equal(const Answer& answer, const Answer& reference, const mpq_class& tolerance,
                               EvalBudget& budget);

} // namespace caravan::rewards::math
