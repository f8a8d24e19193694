#include "rewards/math/math_verifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "rewards/verifier_registry.h"

namespace caravan::rewards::math {
namespace {

class MathVerifierTest : public ::testing::Test {
 protected:
  VerdictStatus check(std::string_view completion, std::string_view truth, double tolerance = 0.0) const {
    return verifier_.verify(completion, truth, {.numeric_tolerance = tolerance}).status;
  }
  MathVerifier verifier_;
};

TEST_F(MathVerifierTest, ExactNumbersFractionsRadicals) {
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

TEST_F(MathVerifierTest, NoToleranceUnlessTheSourceAsksForOne) {
  EXPECT_EQ(check("\\boxed{12345.68}", "12345.67"), VerdictStatus::kWrong);
  EXPECT_EQ(check("#### 1234567.5", "1234567"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{0.9999999}", "1"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\frac{355}{113}}", "\\pi"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{x+1000001}", "x+1000000"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{0.333}", "\\frac13", 0.01), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{0.3}", "\\frac13", 0.01), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{3.1416}", "\\pi", 1e-4), VerdictStatus::kOk);
  EXPECT_EQ(verifier_.verify("\\boxed{1}", "1", {.numeric_tolerance = -1.0}).status, VerdictStatus::kError);
}

TEST_F(MathVerifierTest, StructuredAnswers) {
  EXPECT_EQ(check("\\boxed{(1, 2]}", "(1,2]"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{(1, 2]}", "(1,2)"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{(2,1)}", "(1,2)"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\{2,1\\}}", "\\{1,2\\}"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{3, -2}", "-2,3"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{(-\\infty,0)\\cup(1,\\infty)}", "(1,\\infty)\\cup(-\\infty,0)"), VerdictStatus::kOk);
  EXPECT_EQ(check("The answer is (B).", "B"), VerdictStatus::kOk);
  EXPECT_EQ(check("The answer is (b).", "B"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{\\text{(C)}}", "B"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\begin{pmatrix}1 & 2\\\\ 3 & 4\\end{pmatrix}}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"),
            VerdictStatus::kOk);
}

TEST_F(MathVerifierTest, RelationsKeepTheirMeaning) {
  EXPECT_EQ(check("\\boxed{x = 3}", "3"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{3 = x}", "x=3"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{-x=3}", "3"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{2x=6}", "6"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{2x=6}", "x=3"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{x \\le 3}", "x \\leq 3"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{-x \\ge -3}", "x \\leq 3"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{x < 3}", "x \\leq 3"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\theta = 30}", "30"), VerdictStatus::kOk);
}

TEST_F(MathVerifierTest, UnitsAndPercent) {
  EXPECT_EQ(check("\\boxed{5\\text{ cm}}", "5"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{5\\text{ m}}", "5\\text{ cm}"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{5\\text{ apples}}", "5"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{28\\%}", "28"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{28\\%}", "0.28"), VerdictStatus::kOk);
  EXPECT_EQ(check("\\boxed{28}", "0.28"), VerdictStatus::kWrong);
}

TEST_F(MathVerifierTest, NoAnswerIsWrongEmptyTruthIsError) {
  EXPECT_EQ(verifier_.verify("I give up", "3").detail, "no answer found");
  EXPECT_EQ(check("I give up", "3"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{3}", "   "), VerdictStatus::kError);
}

TEST_F(MathVerifierTest, OverflowIsNotInfinityAndDeepNestingIsBounded) {
  EXPECT_EQ(check("\\boxed{2^{10^{9}}}", "\\infty"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\frac{1}{0}}", "\\infty"), VerdictStatus::kWrong);
  EXPECT_EQ(check("\\boxed{\\infty}", "\\infty"), VerdictStatus::kOk);
  const std::string deep = "\\boxed{" + std::string(5000, '(') + "1" + std::string(5000, ')') + "}";
  EXPECT_EQ(check(deep, "1"), VerdictStatus::kWrong);
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

TEST(MathVerifier, SettingsReachTheVerifierThroughTheInterface) {
  const VerifierRegistry registry = make_default_registry();
  const Result<const Verifier*> found = registry.find("math");
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  EXPECT_EQ((*found)->verify("\\boxed{\\frac{1}{2}}", "0.5").status, VerdictStatus::kOk);
  EXPECT_EQ((*found)->verify("\\boxed{0.333}", "\\frac13").status, VerdictStatus::kWrong);
  EXPECT_EQ((*found)->verify("\\boxed{0.333}", "\\frac13", {.numeric_tolerance = 0.01}).status, VerdictStatus::kOk);
}

TEST(DecimalTolerance, ShortestDecimal) {
  EXPECT_EQ(decimal_tolerance(1e-6), mpq_class(1, 1000000));
  EXPECT_EQ(decimal_tolerance(0.01), mpq_class(1, 100));
  EXPECT_EQ(decimal_tolerance(0.0), mpq_class(0));
  EXPECT_EQ(decimal_tolerance(2.5e-3), mpq_class(1, 400));
}

} // namespace
} // namespace caravan::rewards::math
