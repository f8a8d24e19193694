#include "rewards/math/expression.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>

namespace caravan::rewards::math {
namespace {

using std::chrono::milliseconds;

MathValue eval(const std::string& text) {
  EvalBudget budget(milliseconds(1000));
  Result<Expression> e = Expression::parse(text, budget);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().to_string();
  if (!e.ok()) return {};
  Result<MathValue> v = e->evaluate({}, budget);
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return v.ok() ? *v : MathValue{};
}

bool same(const std::string& a, const std::string& b) {
  EvalBudget budget(milliseconds(1000));
  Result<Expression> x = Expression::parse(a, budget);
  Result<Expression> y = Expression::parse(b, budget);
  EXPECT_TRUE(x.ok() && y.ok()) << a << " / " << b;
  if (!x.ok() || !y.ok()) return false;
  Result<bool> r = expressions_equivalent(*x, *y, 1e-6, budget);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() && *r;
}

void expect_rational(const std::string& text, long long num, long long den) {
  const MathValue v = eval(text);
  EXPECT_TRUE(v.exact) << text;
  EXPECT_EQ(static_cast<long long>(v.num), num) << text;
  EXPECT_EQ(static_cast<long long>(v.den), den) << text;
}

TEST(Expression, ExactRationalArithmetic) {
  expect_rational("1+2*3", 7, 1);
  expect_rational("(1+2)*3", 9, 1);
  expect_rational("0.5", 1, 2);
  expect_rational(".25", 1, 4);
  expect_rational("\\frac{14}{3}", 14, 3);
  expect_rational("1/2/2", 1, 4);
  expect_rational("2^{10}", 1024, 1);
  expect_rational("2^-2", 1, 4);
  expect_rational("2^3^2", 512, 1);
  expect_rational("-3^2", -9, 1);
  expect_rational("2\\frac{1}{3}", 7, 3);
  expect_rational("-2\\frac{1}{3}", -7, 3);
  expect_rational("1.5e3", 1500, 1);
  expect_rational("2E-3", 1, 500);
  expect_rational("\\sqrt{16}", 4, 1);
  expect_rational("\\sqrt{\\frac{9}{4}}", 3, 2);
  expect_rational("\\sqrt[3]{27}", 3, 1);
  expect_rational("4^{1/2}", 2, 1);
  expect_rational("3(4)", 12, 1);
  expect_rational("\\frac{1}{2}\\frac{1}{3}", 1, 6);
}

TEST(Expression, IrrationalsAreInexact) {
  EXPECT_FALSE(eval("\\sqrt{2}").exact);
  EXPECT_NEAR(eval("\\sqrt{2}").approx, 1.41421356237, 1e-9);
  EXPECT_NEAR(eval("2\\pi").approx, 6.28318530718, 1e-9);
  EXPECT_TRUE(std::isinf(eval("\\infty").approx));
}

TEST(Expression, OverflowFallsBackToDouble) {
  const MathValue v = eval("10^{40}");
  EXPECT_FALSE(v.exact);
  EXPECT_NEAR(v.approx, 1e40, 1e28);
  EXPECT_FALSE(eval("123456789012345678901234567890123456789012345").exact);
}

TEST(Expression, Equivalence) {
  EXPECT_TRUE(same("0.5", "\\frac{1}{2}"));
  EXPECT_TRUE(same("1/2", "\\frac{1}{2}"));
  EXPECT_FALSE(same("0.333", "\\frac{1}{3}"));
  EXPECT_TRUE(same("2\\sqrt{2}", "\\sqrt{8}"));
  EXPECT_TRUE(same("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}"));
  EXPECT_TRUE(same("3.14159265", "\\pi"));
  EXPECT_FALSE(same("3.14", "\\pi"));
  EXPECT_TRUE(same("x^2+2x+1", "(x+1)^2"));
  EXPECT_TRUE(same("(x+1)(x-1)", "x^2-1"));
  EXPECT_FALSE(same("x^2+1", "(x+1)^2"));
  EXPECT_FALSE(same("x+1", "y+1"));
  EXPECT_TRUE(same("\\frac{\\pi}{2}", "\\frac\\pi2"));
  EXPECT_TRUE(same("2\\theta", "\\theta+\\theta"));
  EXPECT_TRUE(same("10^{40}", "1e40"));
}

TEST(Expression, RejectsNonMath) {
  EvalBudget budget(milliseconds(1000));
  for (const char* text : {"", "(1+2", "1+", "\\sin{x}", "hello!", "1)", "{}"}) {
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
