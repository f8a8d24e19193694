// File: rewards/math/expression.h
// Parser and exact evaluator for one normalised math expression (the output of
// rewards/math/latex_normalize.h): numbers, + - * / ^, parentheses and braces, \frac, \sqrt
// (with an optional index), \binom, n!, \pi, e (Euler's number, also \exp), \infty, implicit
// multiplication ("2x", "3\sqrt{2}", "(x+1)(x-1)"), mixed numbers (an integer literal directly
// followed by \frac{int}{int}: "2\frac{1}{3}" = 7/3, while "2\frac{\pi}{3}" and
// "2*\frac{1}{3}" are products), scientific notation ("1.5e3"), and variables (one letter
// other than e, or a Greek command such as "\theta", optionally with a subscript: "x_1",
// "a_{n}"). Functions (\sin, \log), sums and matrices are not expressions: parse() rejects them.
//
// Every number literal is an exact rational (GMP): "0.1" is 1/10, "1.5e3" is 1500, integers
// have no size limit. evaluate() computes exact Reals (rewards/math/real_value.h): rationals
// where the value is rational, exact algebraic nodes for radicals, and pi and e either as
// themselves or, when bound like variables, as given rationals (identity tests treat them as
// symbols). Every step ticks an EvalBudget; past its deadline the call returns kTimeout.
//
//   EvalBudget budget(std::chrono::milliseconds(100));
//   RealArena arena;
//   Result<Expression> e = Expression::parse("\\frac{1}{2}x+x", budget);
//   Result<PointValue> v = e->evaluate({{"x", mpq_class(2, 3)}}, arena, budget);  // 1 exactly
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <gmpxx.h>

#include "core/status.h"
#include "rewards/math/eval_budget.h"
#include "rewards/math/real_value.h"

namespace caravan::rewards::math {

// Names under which the constants may be bound in evaluate(): "\pi" and "e".
inline constexpr std::string_view kPiName = "\\pi";
inline constexpr std::string_view kEulerName = "e";

// The value of an expression at one point. A plain value.
struct PointValue {
  enum class Kind { kFinite, kPositiveInfinity, kNegativeInfinity, kUndefined };
  Kind kind = Kind::kUndefined;
  Real value;  // kFinite only
};

struct ExprNode;

// Whether "\name" is a variable (a Greek letter such as "theta").
bool is_variable_command(std::string_view name);

// An immutable parsed expression. Movable; const methods may run concurrently, each with its
// own budget and arena.
class Expression {
 public:
  // Parses normalised math text. kInvalidArgument for text that is not an expression (words,
  // unbalanced brackets, unsupported commands, nesting deeper than 200); kTimeout when `budget`
  // runs out.
  static Result<Expression> parse(std::string_view text, EvalBudget& budget);

  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;
  ~Expression();

  // Free variables ("x", "\theta", "a_1").
  const std::set<std::string>& variables() const { return variables_; }
  // The constants used: kPiName and/or kEulerName.
  const std::set<std::string>& constants() const { return constants_; }

  // The exact value with every variable bound (an unbound variable is kInvalidArgument);
  // constants use `bindings` when bound there, else their true value. kUndefined for a
  // division by zero, 0 to a negative power, an even root of a negative number, inf - inf and
  // the like. kInvalidArgument when the value cannot be computed exactly (an irrational
  // exponent, an even root whose radicand's sign cannot be proven); kResourceExhausted when it
  // is too large (rewards/math/real_value.h limits); kTimeout when `budget` runs out.
  Result<PointValue> evaluate(const std::map<std::string, mpq_class, std::less<>>& bindings, RealArena& arena,
                              EvalBudget& budget) const;

 private:
  Expression() = default;
  std::unique_ptr<ExprNode> root_;
  std::set<std::string> variables_;
  std::set<std::string> constants_;
};

} // namespace caravan::rewards::math
