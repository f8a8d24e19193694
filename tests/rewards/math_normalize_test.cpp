#include "rewards/math/latex_normalize.h"

#include <gtest/gtest.h>

namespace caravan::rewards::math {
namespace {

TEST(NormalizeMathAnswer, StripsDelimitersAndSpacing) {
  EXPECT_EQ(normalize_math_answer("$\\frac{1}{2}$"), "\\frac{1}{2}");
  EXPECT_EQ(normalize_math_answer("$$ 3 $$"), "3");
  EXPECT_EQ(normalize_math_answer("\\( x + 1 \\)"), "x+1");
  EXPECT_EQ(normalize_math_answer("\\left( 1, 2 \\right]"), "(1,2]");
  EXPECT_EQ(normalize_math_answer("1\\!000"), "1000");
  EXPECT_EQ(normalize_math_answer("\\displaystyle 4\\,\\;5"), "45");
  EXPECT_EQ(normalize_math_answer("2\\pi r"), "2\\pi r");
}

TEST(NormalizeMathAnswer, FracSynonymsAndShorthand) {
  EXPECT_EQ(normalize_math_answer("\\dfrac{3}{4}"), "\\frac{3}{4}");
  EXPECT_EQ(normalize_math_answer("\\tfrac34"), "\\frac{3}{4}");
  EXPECT_EQ(normalize_math_answer("\\frac1{10}"), "\\frac{1}{10}");
  EXPECT_EQ(normalize_math_answer("\\sqrt2"), "\\sqrt{2}");
  EXPECT_EQ(normalize_math_answer("3\\times 4 \\cdot 5 \\div 6"), "3*4*5/6");
}

TEST(NormalizeMathAnswer, UnitsDegreesPercentDollars) {
  EXPECT_EQ(normalize_math_answer("5\\text{ cm}"), "5");
  EXPECT_EQ(normalize_math_answer("12 \\mbox{ inches}^2"), "12");
  EXPECT_EQ(normalize_math_answer("x^2\\text{ cm}^{3}"), "x^2");
  EXPECT_EQ(normalize_math_answer("\\text{(B)}"), "(B)");
  EXPECT_EQ(normalize_math_answer("90^\\circ"), "90");
  EXPECT_EQ(normalize_math_answer("90^{\\circ}"), "90");
  EXPECT_EQ(normalize_math_answer("45\xC2\xB0"), "45");
  EXPECT_EQ(normalize_math_answer("50\\%"), "50");
  EXPECT_EQ(normalize_math_answer("\\$18.50"), "18.50");
  EXPECT_EQ(normalize_math_answer("18 dollars"), "18");
  EXPECT_EQ(normalize_math_answer("3 \\text{ and } 4"), "3,4");
}

TEST(NormalizeMathAnswer, ThousandsSeparatorsOnlyForWholeNumbers) {
  EXPECT_EQ(normalize_math_answer("1,234,567"), "1234567");
  EXPECT_EQ(normalize_math_answer("1{,}000"), "1000");
  EXPECT_EQ(normalize_math_answer("-12,345.5"), "-12345.5");
  EXPECT_EQ(normalize_math_answer("(1,234)"), "(1,234)");
  EXPECT_EQ(normalize_math_answer("1,23"), "1,23");
}

TEST(NormalizeMathAnswer, EquationLhsUnicodeAndTrailingDot) {
  EXPECT_EQ(normalize_math_answer("x = 5."), "5");
  EXPECT_EQ(normalize_math_answer("y=2x+1"), "2x+1");
  EXPECT_EQ(normalize_math_answer("x+y=2"), "x+y=2");
  EXPECT_EQ(normalize_math_answer("\xE2\x88\x92" "3"), "-3");
  EXPECT_EQ(normalize_math_answer("2\xCF\x80"), "2\\pi");
  EXPECT_EQ(normalize_math_answer("\xE2\x88\x9A" "3"), "\\sqrt{3}");
  EXPECT_EQ(normalize_math_answer("x \\le 3"), "x\\le3");
  EXPECT_EQ(normalize_math_answer(""), "");
}

} // namespace
} // namespace caravan::rewards::math
