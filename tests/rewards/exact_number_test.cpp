#include "rewards/exact_number.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::rewards {
namespace {

// True when both parse and are numerically equal.
bool same(std::string_view a, std::string_view b) {
  const auto x = parse_exact_number(a);
  const auto y = parse_exact_number(b);
  return x && y && *x == *y;
}

TEST(ParseExactNumber, CanonicalForm) {
  const auto n = parse_exact_number(" -$1,234.500 ");
  ASSERT_TRUE(n.has_value());
  EXPECT_TRUE(n->negative);
  EXPECT_EQ(n->integer_digits, "1234");
  EXPECT_EQ(n->fraction_digits, "5");

  const auto zero = parse_exact_number("-000.000");
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(*zero, ExactNumber{});
}

TEST(ParseExactNumber, DecimalsCompareAsRationals) {
  EXPECT_TRUE(same("2.50", "2.5"));
  EXPECT_TRUE(same("2", "2.0"));
  EXPECT_TRUE(same("0.5", ".5"));
  EXPECT_TRUE(same("-0", "0"));
  EXPECT_TRUE(same("+3", "3"));
  EXPECT_FALSE(same("2.05", "2.5"));
  EXPECT_FALSE(same("-2", "2"));
  EXPECT_FALSE(same("20", "2"));
  EXPECT_FALSE(same("0.2", "2"));
}

TEST(ParseExactNumber, LeadingZerosAreNumericallyEqual) {
  EXPECT_TRUE(same("007", "7"));
  EXPECT_TRUE(same("0", "000"));
}

TEST(ParseExactNumber, StripsDecorations) {
  EXPECT_TRUE(same("$18.", "18"));
  EXPECT_TRUE(same("1,234,567", "1234567"));
  EXPECT_TRUE(same("$ -5", "-5"));
  EXPECT_TRUE(same("\xE2\x88\x92" "5", "-5"));  // U+2212 MINUS SIGN
}

TEST(ParseExactNumber, RejectsNonNumbers) {
  for (const char* text : {"", " ", ".", "-", "$", "abc", "12abc", "1/2", "1e5", "1.2.3", "5..", "--5",
                           "1,23", "1234,567", ",123", "1,234,", "1,234.5,6", "0x10", "4%"}) {
    EXPECT_EQ(parse_exact_number(text), std::nullopt) << text;
  }
  EXPECT_EQ(parse_exact_number(std::string("4\xff" "2")), std::nullopt);
}

TEST(ParseExactNumber, ThousandDigitNumbersCompareExactly) {
  const std::string big = "1" + std::string(998, '0') + "7";
  std::string off_by_one_digit = big;
  off_by_one_digit[500] = '1';
  EXPECT_TRUE(same(big, big + ".000"));
  EXPECT_TRUE(same(big, "000" + big));
  EXPECT_FALSE(same(big, off_by_one_digit));
  EXPECT_FALSE(same(big, big.substr(0, 999)));
  // Equal as doubles (both round to 1e999 -> inf), different as exact numbers.
  EXPECT_FALSE(same(big, "1" + std::string(999, '0')));
}

} // namespace
} // namespace caravan::rewards
