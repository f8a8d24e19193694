#include "rewards/math/latex_normalize.h"

#include <gtest/gtest.h>

namespace caravan::rewards::math {
namespace {

std::string text(std::string_view answer) { return normalize_math_answer(answer).text; }

TEST(NormalizeMathAnswer, StripsDelimitersSpacingAndPunctuation) {
  EXPECT_EQ(text("$\\frac{1}{2}$"), "\\frac{1}{2}");
  EXPECT_EQ(text("$$ 3 $$"), "3");
  EXPECT_EQ(text("\\( x + 1 \\)"), "x+1");
  EXPECT_EQ(text("\\[\\frac{1}{3}.\\]"), "\\frac{1}{3}");
  EXPECT_EQ(text("$\\frac{1}{3},$"), "\\frac{1}{3}");
  EXPECT_EQ(text("1, 2, 3, ..."), "1,2,3,...");  // an ellipsis is content
  EXPECT_EQ(text("\\left( 1, 2 \\right]"), "(1,2]");
  EXPECT_EQ(text("1\\!000"), "1000");
  EXPECT_EQ(text("\\displaystyle 4\\,\\;5"), "45");
  EXPECT_EQ(text("2\\pi r"), "2\\pi r");
  EXPECT_EQ(text("$\\\\left(\\\\frac{1}{5},\\\\frac{1}{6}\\\\right)$"), "(\\frac{1}{5},\\frac{1}{6})");
}

TEST(NormalizeMathAnswer, FracSynonymsRelationsAndShorthand) {
  EXPECT_EQ(text("\\dfrac{3}{4}"), "\\frac{3}{4}");
  EXPECT_EQ(text("\\tfrac34"), "\\frac{3}{4}");
  EXPECT_EQ(text("\\cfrac{1}{3}"), "\\frac{1}{3}");
  EXPECT_EQ(text("\\frac1{10}"), "\\frac{1}{10}");
  EXPECT_EQ(text("\\frac3{3}"), "\\frac{3}{3}");
  EXPECT_EQ(text("\\sqrt 2"), "\\sqrt{2}");
  EXPECT_EQ(text("3\\times 4 \\cdot 5 \\div 6"), "3*4*5/6");
  EXPECT_EQ(text("x \\le 3"), "x<=3");
  EXPECT_EQ(text("x \\leq 3"), "x<=3");
  EXPECT_EQ(text("x \\geq 5"), "x>=5");
  EXPECT_EQ(text("x \\lt 3"), "x<3");
  EXPECT_EQ(text("x \\neq 3"), "x!=3");
  EXPECT_EQ(text("1 - \\frac{1}{\\mathrm{e}}"), "1-\\frac{1}{e}");
}

TEST(NormalizeMathAnswer, UnitsAreTakenOffIntoTheirOwnField) {
  const NormalizedAnswer cm = normalize_math_answer("5\\text{ cm}");
  EXPECT_EQ(cm.text, "5");
  EXPECT_EQ(cm.unit, "cm");
  EXPECT_EQ(normalize_math_answer("12 \\mbox{ inches}^2").unit, "inch^2");
  EXPECT_EQ(normalize_math_answer("15\\mbox{ cm}^2").unit, "cm^2");
  EXPECT_EQ(normalize_math_answer("125\\textnormal{ miles}").unit, "mile");
  EXPECT_EQ(normalize_math_answer("$125$ miles").unit, "mile");
  EXPECT_EQ(normalize_math_answer("20\\text{ miles per hour}").unit, "mph");
  EXPECT_EQ(normalize_math_answer("7\\text{ square units}").unit, "unit^2");
  EXPECT_EQ(normalize_math_answer("18 dollars").unit, "dollar");
  EXPECT_EQ(normalize_math_answer("\\$18.50").unit, "dollar");
  EXPECT_EQ(normalize_math_answer("\\$18.50").text, "18.50");
  EXPECT_EQ(normalize_math_answer("90^\\circ").unit, "degree");
  EXPECT_EQ(normalize_math_answer("45\xC2\xB0").text, "45");
  EXPECT_EQ(normalize_math_answer("5 m").unit, "m");
  EXPECT_EQ(normalize_math_answer("5m").unit, "");  // 5 times m
  EXPECT_EQ(text("5m"), "5m");
}

TEST(NormalizeMathAnswer, WordsThatAreNotUnitsStay) {
  EXPECT_EQ(text("\\text{not } 5"), "\\text{not}5");
  EXPECT_EQ(text("5 \\text{ is not the answer}"), "5\\text{is not the answer}");
  EXPECT_EQ(text("\\text{all real numbers except } 2"), "\\text{all real numbers except}2");
  EXPECT_EQ(text("34 \\text{ apples}"), "34\\text{apples}");
  EXPECT_EQ(text("\\text{(B)}"), "(B)");
  EXPECT_EQ(text("\\textbf{Evelyn}"), "Evelyn");
  EXPECT_EQ(text("all real numbers"), "all real numbers");
  EXPECT_EQ(text("\\text{5}"), "5");
}

TEST(NormalizeMathAnswer, Percent) {
  for (const char* answer : {"28\\%", "28 %", "28%", "28 percent", "28 pct", "28 percentage", "28 \\text{ percent}"}) {
    const NormalizedAnswer n = normalize_math_answer(answer);
    EXPECT_EQ(n.text, "28") << answer;
    EXPECT_TRUE(n.percent) << answer;
  }
  EXPECT_FALSE(normalize_math_answer("28").percent);
}

TEST(NormalizeMathAnswer, ListsStayLists) {
  EXPECT_EQ(text("2, 100"), "2,100");  // two items; only "2,100" is a number
  EXPECT_EQ(text("2,100"), "2100");
  EXPECT_EQ(text("3 \\text{ and } 4"), "3,4");
  EXPECT_EQ(text("3 or 5"), "3,5");
  EXPECT_EQ(text("19, 46, and 82"), "19,46,82");
  EXPECT_EQ(text("{1,3}"), "1,3");
  EXPECT_EQ(text("2 3"), "2\\ 3");  // two numbers, never 23
}

TEST(NormalizeMathAnswer, ThousandsSeparatorsOnlyInTheExactShape) {
  EXPECT_EQ(text("1,234,567"), "1234567");
  EXPECT_EQ(text("7,425,000"), "7425000");
  EXPECT_EQ(text("1{,}000"), "1000");
  EXPECT_EQ(text("14 {, }916"), "14916");
  EXPECT_EQ(text("11,\\! 111,\\! 111,\\! 100"), "11111111100");
  EXPECT_EQ(text("1 000"), "1000");
  EXPECT_EQ(text("-12,345.5"), "-12345.5");
  EXPECT_EQ(text("(1,234)"), "(1,234)");
  EXPECT_EQ(text("1,23"), "1,23");
  EXPECT_EQ(text("1,2345"), "1,2345");
  EXPECT_EQ(text("0,111"), "0,111");
  EXPECT_EQ(text("32, 349"), "32,349");
}

TEST(NormalizeMathAnswer, MixedNumbersUnicodeAndEmpty) {
  EXPECT_EQ(text("4 4/9"), "4\\frac{4}{9}");
  EXPECT_EQ(text("-4 4/9"), "-4\\frac{4}{9}");
  EXPECT_EQ(text("4 \\frac{2}{3}"), "4\\frac{2}{3}");
  EXPECT_EQ(text("11 7/6"), "11\\ 7/6");   // an improper fraction makes no mixed number
  EXPECT_EQ(text("11\n5/6"), "11\\ 5/6");  // nor does a line break
  EXPECT_EQ(text("\xE2\x88\x92" "3"), "-3");
  EXPECT_EQ(text("2\xCF\x80"), "2\\pi");
  EXPECT_EQ(text("\xE2\x88\x9A" "3"), "\\sqrt{3}");
  EXPECT_EQ(text("x \xE2\x89\xA4 3"), "x<=3");
  EXPECT_EQ(text(""), "");
}

} // namespace
} // namespace caravan::rewards::math
