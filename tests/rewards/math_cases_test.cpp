// Runs every (output, ground_truth, expected) case of tests/data/math/cases.jsonl through the
// "math" verifier and reports each disagreement with its line number.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "rewards/math/math_verifier.h"

#ifndef CARAVAN_MATH_CASES
#error "CARAVAN_MATH_CASES must name tests/data/math/cases.jsonl"
#endif

namespace caravan::rewards::math {
namespace {

TEST(MathCases, AllCasesAgree) {
  std::ifstream in(CARAVAN_MATH_CASES);
  ASSERT_TRUE(in) << "cannot open " << CARAVAN_MATH_CASES;
  MathVerifierOptions options;
  options.deadline = std::chrono::milliseconds(2000);  // generous: CI machines are slow
  const MathVerifier verifier(options);
  std::string line;
  int line_number = 0;
  int cases = 0;
  int disagreements = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(record.is_discarded()) << "line " << line_number << ": not JSON";
    ASSERT_TRUE(record.contains("output") && record.contains("ground_truth") && record.contains("expected"))
        << "line " << line_number << ": needs output, ground_truth, expected";
    const std::string output = record["output"].get<std::string>();
    const std::string truth = record["ground_truth"].get<std::string>();
    const std::string expected = record["expected"].get<std::string>();
    ASSERT_TRUE(expected == "ok" || expected == "wrong") << "line " << line_number;
    const Verdict verdict = verifier.verify(output, truth);
    ++cases;
    if (verdict_status_name(verdict.status) != expected) {
      ++disagreements;
      ADD_FAILURE() << "line " << line_number << ": output=" << output << " ground_truth=" << truth
                    << " expected=" << expected << " got=" << verdict_status_name(verdict.status) << " ("
                    << verdict.detail << ")";
    }
  }
  EXPECT_GE(cases, 300);
  EXPECT_EQ(disagreements, 0);
  std::cout << "math cases: " << cases << ", disagreements: " << disagreements << "\n";
}

} // namespace
} // namespace caravan::rewards::math
