#include "rewards/answer_extraction.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::rewards {
namespace {

TEST(ExtractFinalAnswer, HashMarkerBeatsBoxedBeatsLastNumber) {
  EXPECT_EQ(extract_final_answer("\\boxed{7} then 9\n#### 42\nextra 5"), "42");
  EXPECT_EQ(extract_final_answer("first 3, \\boxed{7}, then 9"), "7");
  EXPECT_EQ(extract_final_answer("first 3, then 9"), "9");
}

TEST(ExtractFinalAnswer, UsesLastHashMarkerTrimmedToEndOfLine) {
  EXPECT_EQ(extract_final_answer("#### 1\nrethink\n####   $1,234.  \t\nbye"), "$1,234.");
  EXPECT_EQ(extract_final_answer("#### 18\r\n"), "18");
}

TEST(ExtractFinalAnswer, EmptyHashSectionIsNoAnswerWithoutFallback) {
  EXPECT_EQ(extract_final_answer("I computed 42 so\n####"), std::nullopt);
  EXPECT_EQ(extract_final_answer("#### 42\n#### \nmore 7"), std::nullopt);
  EXPECT_EQ(extract_final_answer("####"), std::nullopt);
}

TEST(ExtractFinalAnswer, BoxedHandlesNestedBraces) {
  EXPECT_EQ(extract_final_answer("so \\boxed{\\frac{1}{2}}."), "\\frac{1}{2}");
  EXPECT_EQ(extract_final_answer("\\boxed{1} or \\boxed{ {2}{3} }"), "{2}{3}");
}

TEST(ExtractFinalAnswer, UnbalancedBoxedIsSkipped) {
  EXPECT_EQ(extract_final_answer("\\boxed{5} and later \\boxed{\\frac{1}{2}"), "5");
  // No balanced box at all: the last number wins.
  EXPECT_EQ(extract_final_answer("\\boxed{\\frac{1}{2"), "2");
}

TEST(ExtractFinalAnswer, EmptyBoxedIsNoAnswer) {
  EXPECT_EQ(extract_final_answer("got 3 so \\boxed{ }"), std::nullopt);
}

TEST(ExtractFinalAnswer, LastNumberRules) {
  EXPECT_EQ(extract_final_answer("The answer is 42."), "42");
  EXPECT_EQ(extract_final_answer("It is -17"), "-17");
  EXPECT_EQ(extract_final_answer("3-5=-2"), "-2");
  EXPECT_EQ(extract_final_answer("10-3"), "3");
  EXPECT_EQ(extract_final_answer("x-5"), "5");
  EXPECT_EQ(extract_final_answer("total 1,234,567 apples"), "1,234,567");
  EXPECT_EQ(extract_final_answer("pi is 3.14159."), "3.14159");
  EXPECT_EQ(extract_final_answer("-1,234.5"), "-1,234.5");
  // Not thousands groups: a list of numbers, or a comma after 4+ digits.
  EXPECT_EQ(extract_final_answer("1,2,3"), "3");
  EXPECT_EQ(extract_final_answer("1,23"), "23");
  EXPECT_EQ(extract_final_answer("1234,567"), "567");
  EXPECT_EQ(extract_final_answer("1,2345"), "2345");
}

TEST(ExtractFinalAnswer, NothingFound) {
  EXPECT_EQ(extract_final_answer(""), std::nullopt);
  EXPECT_EQ(extract_final_answer("I do not know."), std::nullopt);
  EXPECT_EQ(extract_final_answer("- . , $"), std::nullopt);
}

TEST(ExtractFinalAnswer, UnicodeAroundTheNumber) {
  EXPECT_EQ(extract_final_answer("答案是 42 ✓"), "42");
  EXPECT_EQ(extract_final_answer("答案是42。"), "42");
}

TEST(ExtractFinalAnswer, UnicodeMinusSignIsMinus) {
  EXPECT_EQ(extract_final_answer("result: \xE2\x88\x92" "5"), "-5");
  EXPECT_EQ(extract_final_answer("a\xE2\x88\x92" "5"), "5");
}

TEST(ExtractFinalAnswer, InvalidUtf8BytesAreSkipped) {
  const std::string text = std::string("\xff\xfe 12 \x80\xc3") + "\xa9\xff-7\xfe";
  EXPECT_EQ(extract_final_answer(text), "-7");
  EXPECT_EQ(extract_final_answer(std::string("\xff\x80\xfe", 3)), std::nullopt);
}

TEST(ExtractFinalAnswer, ThousandDigitNumberIsKeptWhole) {
  const std::string digits(1000, '9');
  EXPECT_EQ(extract_final_answer("So the result is " + digits + "."), digits);
}

} // namespace
} // namespace caravan::rewards
