// File: rewards/math/expression.h
// A small parser and evaluator for normalised math answers (the output of
// rewards/math/latex_normalize.h): numbers, + - * / ^, parentheses and braces, \frac, \sqrt
// (with optional index), \pi, \infty, implicit multiplication ("2x", "3\sqrt{2}", "(x+1)(x-1)"),
// mixed numbers (an integer literal directly followed by \frac{int}{int}: "2\frac{1}{3}" = 7/3,
// while "2\frac{\pi}{3}" and "2*\frac{1}{3}" are products), scientific notation ("1.5e3"), and
// variables (single letters or Greek commands such as "\theta"). Functions (\sin, \log) and
// matrices are not supported: parse() rejects them.
//
// Arithmetic choice: exact rationals over __int128 with overflow detection (gcc/clang
// __builtin_*_overflow). An operation that would overflow, an irrational result (\sqrt{2},
// \pi) or a variable switches that subtree to double evaluation. This keeps the common
// MATH/GSM8K answers exact ("0.5" == "\frac{1}{2}" == "1/2" exactly) without a big-integer
// library; values beyond ~1.7e38 are compared in double with the relative tolerance.
//
// Every parse and evaluation step ticks an EvalBudget; when its deadline passes the call
// returns StatusCode::kTimeout, never a value.
//
//   EvalBudget budget(std::chrono::milliseconds(100));
//   Result<Expression> a = Expression::parse("\\frac{1}{2}x+x", budget);
//   Result<Expression> b = Expression::parse("1.5x", budget);
//   Result<bool> same = expressions_equivalent(*a, *b, /*relative_tolerance=*/1e-6, budget);
//   // same.ok() && *same
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"

namespace caravan::rewards::math {

// A cooperative deadline: code calls tick() once per unit of work; the clock is read every 64
// ticks. Not thread-safe: one budget per verify() call.
class EvalBudget {
 public:
  explicit EvalBudget(std::chrono::milliseconds limit)
      : end_(std::chrono::steady_clock::now() + limit) {}
  // kTimeout once the deadline has passed (sticky), else ok.
  [[nodiscard]] Status tick();
  bool expired() const { return expired_; }

 private:
  std::chrono::steady_clock::time_point end_;
  std::uint64_t steps_ = 0;
  bool expired_ = false;
};

// A number that is an exact rational num/den (den > 0, reduced) when `exact`, else `approx`.
// `approx` is always filled in.
struct MathValue {
  bool exact = true;
  __int128 num = 0;
  __int128 den = 1;
  double approx = 0.0;
};

struct ExprNode;

// An immutable parsed expression. Movable; thread-compatible (const methods are safe to call
// concurrently, each with its own budget).
class Expression {
 public:
  // Parses normalised math text. Returns kInvalidArgument for text that is not an expression
  // (words, unbalanced brackets, unknown commands, nesting deeper than 200), kTimeout when
  // `budget` runs out.
  static Result<Expression> parse(std::string_view text, EvalBudget& budget);

  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;
  ~Expression();

  // Variable names that occur ("x", "\theta").
  const std::set<std::string>& variables() const { return variables_; }

  // Evaluates with the given variable values (every variable must be bound, else
  // kInvalidArgument). Exact when there are no variables and every step stays rational.
  // Division by zero and overflow to infinity give an inexact NaN (never equal to anything,
  // in particular not to a written \infty), not an error. kTimeout when `budget` runs out.
  Result<MathValue> evaluate(const std::map<std::string, double>& bindings, EvalBudget& budget) const;

 private:
  Expression() = default;
  std::unique_ptr<ExprNode> root_;
  std::set<std::string> variables_;
};

// True when `a` and `b` denote the same value: exact rational equality when both evaluate
// exactly (and, with `decimal_tolerance`, also when they differ by at most the tolerance: a
// rounded decimal such as 0.3333333 against 1/3); otherwise
// |a-b| <= relative_tolerance * max(|a|,|b|) (+1e-12 absolute), with equal infinities equal. With variables: the variable sets must match, and the two must agree at 8
// fixed pseudo-random points in [0.3, 2.7] (points where both are undefined are skipped; at least
// 3 must be defined). kTimeout when `budget` runs out.
Result<bool> expressions_equivalent(const Expression& a, const Expression& b,
                                    double relative_tolerance, EvalBudget& budget,
                                    bool decimal_tolerance = false);

} // namespace caravan::rewards::math
