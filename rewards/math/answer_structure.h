// File: rewards/math/answer_structure.h
// The shape of a normalised answer (rewards/math/latex_normalize.h): a value, a tuple or
// interval, a set or list of solutions, a union, a matrix, a relation, a multiple-choice
// letter, or text. rewards/math/answer_equivalence.h compares two shapes.
//
// Relations keep their meaning: "x = 3" (a single variable on one side) is a solution whose
// value is 3; "-x = 3" and "2x = 6" are equations, never the value 3. Chains keep the outer
// sides ("x = 5+5+1 = 11" is x = 11; "2+2 = 4" is the value 4), an approximation after an exact
// value is dropped ("x = 1/3 \approx 0.33"), "x \approx 11" reads as x = 11. Inequalities with a
// single variable against constants become sets ("x > 3", "-2 <= x <= 7", "x \in [-2,7]"); every
// other inequality is kept as "difference < 0", "<= 0" or "!= 0".
//
//   EvalBudget budget(std::chrono::milliseconds(100));
//   Result<Answer> a = parse_answer("(1,\\frac{1}{2}]", budget);   // kTuple '(' ']' of 2 items
//   Result<Answer> b = parse_answer("x<=3", budget);                // kMembership x in (-inf, 3]
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "rewards/math/eval_budget.h"
#include "rewards/math/expression.h"

namespace caravan::rewards::math {

// An inequality written as "difference op 0".
enum class InequalityOp { kLess, kLessEqual, kNotEqual };

// A parsed answer. Movable, not copyable (it may own Expressions).
struct Answer {
  enum class Kind {
    kText,        // words or anything that is not math: compared as text
    kChoice,      // a multiple-choice letter A-E ("B", "(B)", "B)"): `letter`
    kExpression,  // one value: `expression`
    kTuple,       // "(a, b]": ordered `items` with their brackets `open` and `close`
    kSet,         // "\{a, b\}", a bare list "a, b" (`bare`), or "a \pm b": unordered `items`
    kUnion,       // "A \cup B": unordered `items`
    kMatrix,      // `rows` x `columns` entries in `items`, row-major
    kSolution,    // "x = v" with a single variable: `variable`, the value in items[0]
    kMembership,  // "x \in S", "x > 3", "a < x <= b": `variable`, the set in items[0]
    kEquation,    // any other equation: `difference` = left - right
    kInequality,  // any other inequality: `difference` `op` 0
  };
  Kind kind = Kind::kText;
  // The normalised text of this (sub)answer.
  std::string text;
  char letter = 0;
  std::optional<Expression> expression;
  char open = 0;
  char close = 0;
  bool bare = false;
  std::vector<Answer> items;
  int rows = 0;
  int columns = 0;
  std::string variable;
  // kEquation, kInequality, and a kMembership written as one inequality ("x > 3").
  std::optional<Expression> difference;
  InequalityOp op = InequalityOp::kLess;
};

// The shape of `text` (normalised). Text that is not recognised math is kText; only a timeout
// of `budget` is an error.
Result<Answer> parse_answer(std::string_view text, EvalBudget& budget);

} // namespace caravan::rewards::math
