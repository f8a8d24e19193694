#include "rewards/math/extraction.h"

#include <gtest/gtest.h>

#include <string>

namespace caravan::rewards::math {
namespace {

std::optional<std::string> extract(std::string_view completion) {
  return extract_math_answer(completion, kDefaultExtractionOrder);
}

TEST(ExtractMathAnswer, Boxes) {
  EXPECT_EQ(extract("so \\boxed{\\frac{1}{\\sqrt{2}}} then \\boxed{3}."), "3");
  EXPECT_EQ(extract("\\boxed{\\frac{1}{2}} then \\boxed{"), "\\frac{1}{2}");
  EXPECT_EQ(extract("\\boxed{1} then \\fbox{2}"), "2");
  EXPECT_EQ(extract("$\\boxed 5$"), "5");
  EXPECT_EQ(extract("First \\boxed{3}, but correcting myself: \\boxed{4}"), "4");
  // Adjacent boxes are one list answer, so a hedge cannot pick its best half.
  EXPECT_EQ(extract("$\\boxed{1}\\boxed{2}$"), "1, 2");
  EXPECT_EQ(extract("\\[ \\boxed{-2} \\quad \\text{and} \\quad \\boxed{1}. \\]"), "-2, 1");
  EXPECT_EQ(extract("It is \\boxed{3} or \\boxed{5}."), "3, 5");
}

TEST(ExtractMathAnswer, FinalAnswerStatementAfterBoxesWins) {
  EXPECT_EQ(extract("... $=\\boxed{200}$ ... $=\\boxed{255}$ ... Final Answer: The final answer is $10,455$. I hope it "
                    "is correct."),
            "$10,455$");
  EXPECT_EQ(extract("**Final Answer**\n\\boxed{189}\n</think> so \\(\\boxed{189}\\) square centimeters."), "189");
}

TEST(ExtractMathAnswer, AnswerSentences) {
  EXPECT_EQ(extract("Thus the answer is: $\\frac{3}{4}$. Done"), "$\\frac{3}{4}$");
  EXPECT_EQ(extract("The Answer is \\boxed{7}"), "7");
  EXPECT_EQ(extract("Final Answer: The largest $n$ is 34."), "34");
  EXPECT_EQ(extract("Final Answer: Jane started growing Sphere 3 hours ago. I hope it is correct."), "3");
  EXPECT_EQ(extract("Final Answer: The final answer is 16386.16."), "16386.16");
  EXPECT_EQ(extract("The answer is 4 4/9."), "4 4/9");
  EXPECT_EQ(extract("The answer is yes."), "yes");
  EXPECT_EQ(extract("6*7=42\n#### 42\n"), "42");
}

TEST(ExtractMathAnswer, LastMathSpanOrLaterNumber) {
  EXPECT_EQ(extract("Therefore $x \\geq 5$ is the solution."), "x \\geq 5");
  EXPECT_EQ(extract("Answer \\[ \n 9 \n \\]"), "9");
  EXPECT_EQ(extract("We get $d = \\frac{90}{n}$, so there are 12 sequences."), "12");
  EXPECT_EQ(extract("Answer $ \\frac{1}{2} \\$ = \\frac{10}{9} $"), "\\frac{1}{2} \\$ = \\frac{10}{9}");
  EXPECT_EQ(extract("it costs $5 and $6 more"), "6");  // "$5 and $" pairs up as a span, the number after it wins
  EXPECT_EQ(extract("we get 3/4 then -12,345.5 apples"), "-12,345.5");
  EXPECT_EQ(extract("x-5"), "x-5");                  // a bare formula is the answer as a whole
  EXPECT_EQ(extract("\\frac{10}{9}"), "\\frac{10}{9}");
  EXPECT_EQ(extract("We get 10-3"), "3");            // prose: the last number
  EXPECT_EQ(extract("Soucis : 2,74 $ a.."), "2,74");  // a decimal comma
  EXPECT_EQ(extract("the number is 1 000"), "1 000");
  EXPECT_EQ(extract("AZYUK2A"), std::nullopt);  // digits inside an identifier are not a number
  EXPECT_EQ(extract("by 100%."), "100%");
  EXPECT_EQ(extract("no digits"), std::nullopt);
}

TEST(ExtractMathAnswer, ConfigurableOrder) {
  EXPECT_EQ(extract_math_answer("\\boxed{3} 9", {ExtractionRule::kLastNumber, ExtractionRule::kBoxed}), "9");
  EXPECT_EQ(extract_math_answer("Answer $ \n 9 \n $", {ExtractionRule::kMathSpan}), std::nullopt);  // inline spans are one line
  EXPECT_EQ(extract_math_answer("  raw  ", {}), "raw");
}

TEST(GroundTruthAnswer, BareDollarOrFullSolution) {
  EXPECT_EQ(ground_truth_answer("\\frac{14}{3}"), "\\frac{14}{3}");
  EXPECT_EQ(ground_truth_answer("$\\frac{14}{3}$"), "$\\frac{14}{3}$");
  EXPECT_EQ(ground_truth_answer("We have $x=2$, so the total is $\\boxed{\\frac{14}{3}}$."), "\\frac{14}{3}");
  EXPECT_EQ(ground_truth_answer("She pays 3*6=<<3*6=18>>18.\n#### 18"), "18");
  EXPECT_EQ(ground_truth_answer("$n = \\boxed{1,-2}.$"), "1,-2");
}

TEST(LastBoxedAnswer, BoundedOnFloods) {
  std::string flood = "\\boxed{7} ";
  for (int i = 0; i < 100000; ++i) flood += "\\boxed{";
  EXPECT_EQ(last_boxed_answer(flood), std::nullopt);  // only the last 16 candidates are tried
  EXPECT_EQ(extract(flood), "7");                     // then the last number
}

} // namespace
} // namespace caravan::rewards::math
