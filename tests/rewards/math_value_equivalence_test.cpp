#include "rewards/math/value_equivalence.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace caravan::rewards::math {
namespace {

using std::chrono::milliseconds;

Equality compare(const std::string& a, const std::string& b, mpq_class tolerance = 0) {
  EvalBudget budget(milliseconds(2000));
  Result<Expression> x = Expression::parse(a, budget);
  Result<Expression> y = Expression::parse(b, budget);
  EXPECT_TRUE(x.ok() && y.ok()) << a << " / " << b;
  if (!x.ok() || !y.ok()) return Equality::kUndecided;
  Result<Equality> r = expressions_equal(*x, *y, tolerance, budget);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : Equality::kUndecided;
}

Equality scaled(const std::string& a, const std::string& b, Factor factor) {
  EvalBudget budget(milliseconds(2000));
  Result<Expression> x = Expression::parse(a, budget);
  Result<Expression> y = Expression::parse(b, budget);
  EXPECT_TRUE(x.ok() && y.ok()) << a << " / " << b;
  Result<Equality> r = proportional(*x, *y, factor, budget);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : Equality::kUndecided;
}

TEST(ExpressionsEqual, ExactNumbers) {
  EXPECT_EQ(compare("0.5", "\\frac{1}{2}"), Equality::kEqual);
  EXPECT_EQ(compare("12345.68", "12345.67"), Equality::kUnequal);
  EXPECT_EQ(compare("1000001.0", "1000000"), Equality::kUnequal);
  EXPECT_EQ(compare("0.9999999", "1"), Equality::kUnequal);
  EXPECT_EQ(compare("0.3333333", "\\frac{1}{3}"), Equality::kUnequal);
  EXPECT_EQ(compare("123456789012345678901234567891", "123456789012345678901234567890"), Equality::kUnequal);
  EXPECT_EQ(compare("10^{40}", "1e40"), Equality::kEqual);
}

TEST(ExpressionsEqual, RadicalsAreProvenNotApproximated) {
  EXPECT_EQ(compare("2\\sqrt{2}", "\\sqrt{8}"), Equality::kEqual);
  EXPECT_EQ(compare("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}"), Equality::kEqual);
  EXPECT_EQ(compare("\\frac{5\\sqrt{42}}{27}", "\\frac{10\\sqrt{10.5}}{27}"), Equality::kEqual);
  EXPECT_EQ(compare("\\frac{1393}{985}", "\\sqrt{2}"), Equality::kUnequal);
  EXPECT_EQ(compare("\\sqrt{1000001}", "1000"), Equality::kUnequal);
  EXPECT_EQ(compare("1.41421356", "\\sqrt{2}"), Equality::kUnequal);
}

TEST(ExpressionsEqual, PiAndEAreTranscendental) {
  EXPECT_EQ(compare("\\frac{355}{113}", "\\pi"), Equality::kUnequal);
  EXPECT_EQ(compare("3.14159265358979", "\\pi"), Equality::kUnequal);
  EXPECT_EQ(compare("\\pi+\\pi", "2\\pi"), Equality::kEqual);
  EXPECT_EQ(compare("\\frac{\\pi}{2}", "\\frac\\pi2"), Equality::kEqual);
  EXPECT_EQ(compare("e^2", "e*e"), Equality::kEqual);
  EXPECT_EQ(compare("2.718281828", "e"), Equality::kUnequal);
  EXPECT_EQ(compare("\\sqrt{\\pi}^2", "\\pi"), Equality::kEqual);
}

TEST(ExpressionsEqual, VariablesAtSeededExactPoints) {
  EXPECT_EQ(compare("x^2+2x+1", "(x+1)^2"), Equality::kEqual);
  EXPECT_EQ(compare("x+1000001", "x+1000000"), Equality::kUnequal);
  EXPECT_EQ(compare("\\frac{x^2-1}{x-1}", "x+1"), Equality::kEqual);
  EXPECT_EQ(compare("\\sqrt{x^2}", "x"), Equality::kUnequal);  // |x| at negative points
  EXPECT_EQ(compare("\\sqrt{x}\\sqrt{x}", "x"), Equality::kEqual);  // equal where both are defined
  EXPECT_EQ(compare("\\sqrt{x}+\\sqrt{y}+\\sqrt{z}", "\\sqrt{z}+\\sqrt{y}+\\sqrt{x}"), Equality::kEqual);
  EXPECT_EQ(compare("\\sqrt{-x}", "\\sqrt{x}"), Equality::kUndecided);  // no point where both are defined
  EXPECT_EQ(compare("x+1", "y+1"), Equality::kUnequal);
  EXPECT_EQ(compare("2ab", "2ba"), Equality::kEqual);
  EXPECT_EQ(compare("\\frac{x+2}{7}", "\\frac{x}{7}+\\frac{2}{7}"), Equality::kEqual);
  EXPECT_EQ(compare("x^{10}", "x^{10}+10^{-30}"), Equality::kUnequal);
  EXPECT_EQ(compare("\\frac{1}{3\\sqrt[3]{x}^2}", "\\frac{1}{3x^{2/3}}"), Equality::kEqual);
}

TEST(ExpressionsEqual, ToleranceOnlyWhenAsked) {
  EXPECT_EQ(compare("0.333", "\\frac{1}{3}", mpq_class(1, 100)), Equality::kEqual);
  EXPECT_EQ(compare("0.3", "\\frac{1}{3}", mpq_class(1, 100)), Equality::kUnequal);
  EXPECT_EQ(compare("4.123105625617661", "\\sqrt{17}", mpq_class(1, 100000)), Equality::kEqual);
  EXPECT_EQ(compare("3.1416", "\\pi", mpq_class(1, 10000)), Equality::kEqual);
  // Expressions with variables stay exact.
  EXPECT_EQ(compare("x+1000001", "x+1000000", mpq_class(1, 100)), Equality::kUnequal);
}

TEST(ExpressionsEqual, InfinitiesAndUndefined) {
  EXPECT_EQ(compare("\\infty", "\\infty"), Equality::kEqual);
  EXPECT_EQ(compare("-\\infty", "\\infty"), Equality::kUnequal);
  EXPECT_EQ(compare("\\frac{1}{0}", "\\infty"), Equality::kUnequal);
  EXPECT_EQ(compare("\\frac{1}{0}", "\\frac{1}{0}"), Equality::kUnequal);
  EXPECT_EQ(compare("2^{10^{9}}", "\\infty"), Equality::kUndecided);
}

TEST(Proportional, ScaledRelations) {
  EXPECT_EQ(scaled("(2x+4y-3)-(0)", "(y)-(-\\frac{1}{2}x+\\frac{3}{4})", Factor::kNonzero), Equality::kEqual);
  EXPECT_EQ(scaled("(-1)-(-x)", "(x)-(1)", Factor::kPositive), Equality::kEqual);   // -x > -1 vs x < 1
  EXPECT_EQ(scaled("(x)-(-1)", "(1)-(x)", Factor::kPositive), Equality::kUnequal);  // x > -1 vs x < 1
  EXPECT_EQ(scaled("-34x-45y+20z-100", "34x+45y-20z+100", Factor::kNonzero), Equality::kEqual);
  EXPECT_EQ(scaled("-34x-45y+20z-100", "34x+45y-20z+100", Factor::kPositive), Equality::kUnequal);
  EXPECT_EQ(scaled("x^2/16+y^2/12-1/4", "x^2/4+y^2/3-1", Factor::kNonzero), Equality::kEqual);
  EXPECT_EQ(scaled("x+y", "x-y", Factor::kNonzero), Equality::kUnequal);
}

} // namespace
} // namespace caravan::rewards::math
