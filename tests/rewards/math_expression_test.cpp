#include "rewards/math/expression.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace caravan::rewards::math {
namespace {

using std::chrono::milliseconds;
using Bindings = std::map<std::string, mpq_class, std::less<>>;

PointValue eval(const std::string& text, const Bindings& bindings, RealArena& arena) {
  EvalBudget budget(milliseconds(1000));
  Result<Expression> e = Expression::parse(text, budget);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().to_string();
  if (!e.ok()) return {};
  Result<PointValue> v = e->evaluate(bindings, arena, budget);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status().to_string();
  return v.ok() ? *v : PointValue{};
}

void expect_rational(const std::string& text, const mpq_class& value, const Bindings& bindings = {}) {
  RealArena arena;
  const PointValue v = eval(text, bindings, arena);
  ASSERT_EQ(v.kind, PointValue::Kind::kFinite) << text;
  ASSERT_TRUE(v.value.is_rational()) << text;
  EXPECT_EQ(v.value.rational, value) << text;
}

PointValue::Kind kind_of(const std::string& text) {
  RealArena arena;
  return eval(text, {}, arena).kind;
}

TEST(Expression, ExactRationalArithmetic) {
  expect_rational("1+2*3", 7);
  expect_rational("(1+2)*3", 9);
  expect_rational("0.1+0.2", mpq_class(3, 10));
  expect_rational(".25", mpq_class(1, 4));
  expect_rational("\\frac{14}{3}", mpq_class(14, 3));
  expect_rational("1/2/2", mpq_class(1, 4));
  expect_rational("2^{10}", 1024);
  expect_rational("2^-2", mpq_class(1, 4));
  expect_rational("2^3^2", 512);
  expect_rational("-3^2", -9);
  expect_rational("2\\frac{1}{3}", mpq_class(7, 3));
  expect_rational("-2\\frac{1}{3}", mpq_class(-7, 3));
  expect_rational("1.5e3", 1500);
  expect_rational("2E-3", mpq_class(1, 500));
  expect_rational("\\sqrt{16}", 4);
  expect_rational("\\sqrt{\\frac{9}{4}}", mpq_class(3, 2));
  expect_rational("\\sqrt[3]{-27}", -3);
  expect_rational("8^{2/3}", 4);
  expect_rational("3(4)", 12);
  expect_rational("\\frac{1}{2}\\frac{1}{3}", mpq_class(1, 6));
  expect_rational("5!", 120);
  expect_rational("\\binom{5}{2}", 10);
}

TEST(Expression, IntegersOfAnySize) {
  expect_rational("123456789012345678901234567891-123456789012345678901234567890", 1);
  expect_rational("10^{40}", mpq_class(mpz_class("10000000000000000000000000000000000000000")));
  expect_rational("1e40", mpq_class(mpz_class("10000000000000000000000000000000000000000")));
  expect_rational("0.9999999", mpq_class(9999999, 10000000));
}

TEST(Expression, VariablesConstantsAndSubscripts) {
  EvalBudget budget(milliseconds(1000));
  Result<Expression> e = Expression::parse("2\\pi r + x_1 + a_{n} + e^{\\theta}", budget);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->variables(), (std::set<std::string>{"r", "x_1", "a_{n}", "\\theta"}));
  EXPECT_EQ(e->constants(), (std::set<std::string>{"\\pi", "e"}));
  expect_rational("2\\pi r", 6, {{"r", mpq_class(3, 2)}, {"\\pi", 2}});
  expect_rational("x^2-x", mpq_class(12, 1), {{"x", -3}});
}

TEST(Expression, IrrationalsAreExactNodes) {
  RealArena arena;
  const PointValue root = eval("\\sqrt{2}", {}, arena);
  ASSERT_EQ(root.kind, PointValue::Kind::kFinite);
  EXPECT_FALSE(root.value.is_rational());
  const PointValue pi = eval("\\pi", {}, arena);
  EXPECT_EQ(arena.node(pi.value.node).op, RealOp::kPi);
}

TEST(Expression, UndefinedAndInfinite) {
  EXPECT_EQ(kind_of("\\frac{1}{0}"), PointValue::Kind::kUndefined);
  EXPECT_EQ(kind_of("0^{-1}"), PointValue::Kind::kUndefined);
  EXPECT_EQ(kind_of("\\sqrt{-4}"), PointValue::Kind::kUndefined);
  EXPECT_EQ(kind_of("(-8)^{1/2}"), PointValue::Kind::kUndefined);
  EXPECT_EQ(kind_of("\\infty-\\infty"), PointValue::Kind::kUndefined);
  EXPECT_EQ(kind_of("(-1/2)!"), PointValue::Kind::kUndefined);
  EXPECT_EQ(kind_of("\\infty"), PointValue::Kind::kPositiveInfinity);
  EXPECT_EQ(kind_of("-\\infty"), PointValue::Kind::kNegativeInfinity);
  EXPECT_EQ(kind_of("2\\infty+1"), PointValue::Kind::kPositiveInfinity);
}

TEST(Expression, UncomputableIsAnErrorNotAValue) {
  EvalBudget budget(milliseconds(1000));
  RealArena arena;
  Result<Expression> irrational_exponent = Expression::parse("2^{\\sqrt{2}}", budget);
  ASSERT_TRUE(irrational_exponent.ok());
  EXPECT_EQ(irrational_exponent->evaluate({}, arena, budget).status().code(), StatusCode::kInvalidArgument);
  Result<Expression> huge = Expression::parse("2^{10^{9}}", budget);
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->evaluate({}, arena, budget).status().code(), StatusCode::kResourceExhausted);
  Result<Expression> unbound = Expression::parse("x+1", budget);
  ASSERT_TRUE(unbound.ok());
  EXPECT_EQ(unbound->evaluate({}, arena, budget).status().code(), StatusCode::kInvalidArgument);
}

TEST(Expression, RejectsNonMath) {
  EvalBudget budget(milliseconds(1000));
  for (const char* text : {"", "(1+2", "1+", "\\sin{x}", "\\text{hello}", "1)", "{}", "2\\ 3", "204_5", "x_"}) {
    Result<Expression> e = Expression::parse(text, budget);
    EXPECT_FALSE(e.ok()) << text;
    if (!e.ok()) {
      EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << text;
    }
  }
  std::string deep(500, '(');
  deep += "1" + std::string(500, ')');
  Result<Expression> e = Expression::parse(deep, budget);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

TEST(Expression, ExpiredBudgetIsTimeoutNotAValue) {
  EvalBudget budget(milliseconds(0));
  std::string big = "1";
  for (int i = 0; i < 200; ++i) big += "+1";
  Result<Expression> e = Expression::parse(big, budget);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kTimeout);
  EXPECT_TRUE(budget.expired());
}

} // namespace
} // namespace caravan::rewards::math
