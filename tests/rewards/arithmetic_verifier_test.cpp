#include "rewards/arithmetic_verifier.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::rewards {
namespace {

TEST(VerdictStatusName, NamesEveryStatus) {
  EXPECT_STREQ(verdict_status_name(VerdictStatus::kOk), "ok");
  EXPECT_STREQ(verdict_status_name(VerdictStatus::kWrong), "wrong");
  EXPECT_STREQ(verdict_status_name(VerdictStatus::kTimeout), "timeout");
  EXPECT_STREQ(verdict_status_name(VerdictStatus::kError), "error");
  EXPECT_STREQ(verdict_status_name(VerdictStatus::kSandboxViolation), "sandbox_violation");
}

class ArithmeticVerifierTest : public ::testing::Test {
 protected:
  ArithmeticVerifier verifier_;
};

TEST_F(ArithmeticVerifierTest, CorrectAnswerScoresOne) {
  EXPECT_EQ(verifier_.name(), "arithmetic");
  const Verdict v = verifier_.verify("Janet sells 16 - 3 - 4 = 9 eggs... 9 * $2 = $18.\n#### 18", "18");
  EXPECT_EQ(v.status, VerdictStatus::kOk);
  EXPECT_EQ(v.score, 1.0);
  EXPECT_EQ(v.detail, "");
}

TEST_F(ArithmeticVerifierTest, EquivalentFormsAreCorrect) {
  EXPECT_EQ(verifier_.verify("#### $1,234.50", "1234.5").status, VerdictStatus::kOk);
  EXPECT_EQ(verifier_.verify("so \\boxed{007}", "7").status, VerdictStatus::kOk);
  EXPECT_EQ(verifier_.verify("答案是 \xE2\x88\x92" "5 ✓", "-5").status, VerdictStatus::kOk);
}

TEST_F(ArithmeticVerifierTest, WrongAnswerSaysWhy) {
  const Verdict v = verifier_.verify("The answer is 13.", "12");
  EXPECT_EQ(v.status, VerdictStatus::kWrong);
  EXPECT_EQ(v.score, 0.0);
  EXPECT_EQ(v.detail, "expected 12, got 13");
}

TEST_F(ArithmeticVerifierTest, MalformedCompletionsAreWrong) {
  for (const std::string& completion :
       {std::string(), std::string("no idea"), std::string("I got 12\n####"), std::string("\xff\xfe\x80", 3)}) {
    const Verdict v = verifier_.verify(completion, "12");
    EXPECT_EQ(v.status, VerdictStatus::kWrong) << completion;
    EXPECT_EQ(v.score, 0.0);
    EXPECT_EQ(v.detail, "no number found");
  }
  const Verdict fraction = verifier_.verify("\\boxed{\\frac{1}{2}}", "0.5");
  EXPECT_EQ(fraction.status, VerdictStatus::kWrong);
  EXPECT_EQ(fraction.detail, "answer is not a number: '\\frac{1}{2}'");
}

TEST_F(ArithmeticVerifierTest, BadGroundTruthIsAnErrorNotWrong) {
  const Verdict v = verifier_.verify("#### 12", "twelve");
  EXPECT_EQ(v.status, VerdictStatus::kError);
  EXPECT_EQ(v.score, 0.0);
  EXPECT_EQ(v.detail, "ground truth is not a number: 'twelve'");
}

TEST_F(ArithmeticVerifierTest, ThousandDigitAnswers) {
  const std::string truth = std::string(1000, '8');
  std::string off_by_one_digit = truth;
  off_by_one_digit[999] = '9';
  EXPECT_EQ(verifier_.verify("#### " + truth, truth).status, VerdictStatus::kOk);
  EXPECT_EQ(verifier_.verify("#### " + off_by_one_digit, truth).status, VerdictStatus::kWrong);
}

} // namespace
} // namespace caravan::rewards
