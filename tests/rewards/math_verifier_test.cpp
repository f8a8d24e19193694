#include "rewards/math/math_verifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "rewards/verifier_registry.h"

namespace caravan::rewards::math {
namespace {

TEST(ExtractMathAnswer, RulesAndOrder) {
  const MathVerifierOptions defaults;
  const auto& order = defaults.extraction_order;
  EXPECT_EQ(extract_math_answer("so \\boxed{\\frac{1}{\\sqrt{2}}} and \\boxed{3}.", order), "3");
  EXPECT_EQ(extract_math_answer("\\boxed{\\frac{1}{2}} then \\boxed{", order), "\\frac{1}{2}");
  EXPECT_EQ(extract_math_answer("\\boxed{1} then \\fbox{2}", order), "2");
  EXPECT_EQ(extract_math_answer("$\\boxed 5$", order), "5");
  EXPECT_EQ(extract_math_answer("6*7=42\n#### 42\n", order), "42");
  EXPECT_EQ(extract_math_answer("Thus the answer is: $\\frac{3}{4}$. Done", order), "$\\frac{3}{4}$");
  EXPECT_EQ(extract_math_answer("The Answer is \\boxed{7}", order), "7");
  EXPECT_EQ(extract_math_answer("we get 3/4 then -12,345.5 apples", order), "-12,345.5");
  EXPECT_EQ(extract_math_answer("x-5", order), "5");
  EXPECT_EQ(extract_math_answer("no digits", order), std::nullopt);
  // Configurable order: last number first.
  EXPECT_EQ(extract_math_answer("\\boxed{3} 9", {ExtractionRule::kLastNumber, ExtractionRule::kBoxed}), "9");
  EXPECT_EQ(extract_math_answer("  raw  ", {}), "raw");
}

TEST(GroundTruthAnswer, BareDollarOrFullSolution) {
  EXPECT_EQ(ground_truth_answer("\\frac{14}{3}"), "\\frac{14}{3}");
  EXPECT_EQ(ground_truth_answer("$\\frac{14}{3}$"), "$\\frac{14}{3}$");
  EXPECT_EQ(ground_truth_answer("We have $x=2$, so the total is $\\boxed{\\frac{14}{3}}$."), "\\frac{14}{3}");
  EXPECT_EQ(ground_truth_answer("She pays 3*6=<<3*6=18>>18.\n#### 18"), "18");
}

class MathVerifierTest : public ::testing::Test {
 protected:
  VerdictStatus check(std::string_view completion, std::string_view truth) const {
    return verifier_.verify(completion, truth).status;
  }
  MathVerifier verifier_;
};

TEST_F(MathVerifierTest, NumbersFractionsRadicals) {
  EXPECT_EQ(verifier_.name(), "math");
  const Verdict ok = verifier_.verify("so $\\boxed{\\dfrac{14}{3}}$", "\\frac{14}{3}");
  EXPECT_EQ(ok.status, VerdictStatus::kOk);
  EXPECT_EQ(ok.score, 1.0);
  EXPECT_EQ(check("#### 0.5", "$\\frac12$"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{4\\frac{2}{3}}", "\\frac{14}{3}"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{2\\sqrt{2}}", "\\sqrt{8}"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{1.5\\times10^{3}}", "1500"), VerdictStatus::kOk);
  const Verdict wrong = verifier_.verify("\\boxed{4.6}", "\\frac{14}{3}");
  EXPECT_EQ(wrong.status, VerdictStatus::kWrong);
  EXPECT_EQ(wrong.score, 0.0);
  EXPECT_EQ(wrong.detail, "expected \\frac{14}{3}, got 4.6");
}

TEST_F(MathVerifierTest, StructuredAnswers) {
  EXPECT_EQ(check("\\boxed{(1, 2]}", "(1,2]"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{(1, 2]}", "(1,2)"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{(2,1)}", "(1,2)"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\{2,1\\}}", "\\{1,2\\}"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{3, -2}", "-2,3"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{(-\\infty,0)\\cup(1,\\infty)}", "(1,\\infty)\\cup(-\\infty,0)"), VerdictStatus::kOk);
  EXPECT_EQ(check("The answer is (B).", "B"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{\\text{(C)}}", "B"), VerdictStatus::kWrong);
}

TEST_F(MathVerifierTest, NoAnswerIsWrongEmptyTruthIsError) {
  EXPECT_EQ(verifier_.verify("I give up", "3").detail, "no answer found");
  EXPECT_EQ(check("I give up", "3"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{3}", "   "), VerdictStatus::kError);
}

TEST_F(MathVerifierTest, OverflowIsNotInfinityAndFloodsAreBounded) {
  EXPECT_EQ(check("\\boxed{2^{10^{9}}}", "\\infty"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\frac{1}{0}}", "\\infty"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\infty}", "\\infty"), VerdictStatus::kOk);
  std::string flood = "\\boxed{7} ";
  for (int i = 0; i < 100000; ++i) flood += "\\boxed{";
  // Only the last 16 candidates are tried; then the last number (7) is used.
  EXPECT_EQ(check(flood, "7"), VerdictStatus::kOk);
  const std::string deep = "\\boxed{" + std::string(5000, '(') + "1" + std::string(5000, ')') + "}";
  EXPECT_EQ(check(deep, "1"), VerdictStatus::kWrong);
}

TEST_F(MathVerifierTest, WrongLookalikesAreRejected) {
  EXPECT_EQ(check("\\boxed{x}", "5"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{1, 2}", "1"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{5x}", "5"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\frac{1}{2}}", "(1,2)"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{B}", "\\text{(C)}"), VerdictStatus::kWrong);
}

TEST(MathVerifier, DeadlineGivesTimeoutNeverWrong) {
  MathVerifierOptions options;
  options.deadline = std::chrono::milliseconds(0);
  const MathVerifier verifier(options);
  std::string big = "1";
  for (int i = 0; i < 300; ++i) big += "+x";
  const Verdict v = verifier.verify("\\boxed{" + big + "}", "300x+1");
  EXPECT_EQ(v.status, VerdictStatus::kTimeout) << v.detail;
  EXPECT_EQ(v.score, 0.0);
}

TEST(MathVerifier, RegisteredInDefaultRegistry) {
  const VerifierRegistry registry = make_default_registry();
  const Result<const Verifier*> found = registry.find("math");
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  EXPECT_EQ((*found)->verify("\\boxed{\\frac{1}{2}}", "0.5").status, VerdictStatus::kOk);
}

} // namespace
} // namespace caravan::rewards::math
