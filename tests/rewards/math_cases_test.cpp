// Runs the labelled case files of tests/data/math through the "math" verifier:
//  - cases.jsonl (make_cases.py): every verdict must agree;
//  - adversarial.jsonl (make_adversarial.py): near-miss wrong answers must all be `wrong` and
//    honest rewrites `ok`;
//  - math_verify_cases.jsonl (make_math_verify_cases.py, Math-Verify's own regression cases):
//    at least 90% agreement, at most one answer accepted that Math-Verify rejects, and the
//    disagreements are exactly the ones listed (with their reason) in MATH_VERIFY_DIFFERENCES.md.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rewards/math/math_verifier.h"

#ifndef CARAVAN_MATH_DATA_DIR
#error "CARAVAN_MATH_DATA_DIR must name tests/data/math"
#endif

namespace caravan::rewards::math {
namespace {

struct CaseResult {
  int line = 0;
  std::string id;
  std::string expected;
  std::string got;
  std::string detail;
  std::string category;
  bool listed_difference = false;
};

std::vector<ExtractionRule> extraction_order(const nlohmann::json& names, int line) {
  static const std::map<std::string, ExtractionRule> kRules = {
      {"boxed", ExtractionRule::kBoxed},           {"hashes", ExtractionRule::kHashes},
      {"answer_sentence", ExtractionRule::kAnswerSentence}, {"math_span", ExtractionRule::kMathSpan},
      {"last_math_item", ExtractionRule::kLastMathItem},    {"last_number", ExtractionRule::kLastNumber}};
  std::vector<ExtractionRule> order;
  for (const auto& name : names) {
    auto it = kRules.find(name.get<std::string>());
    EXPECT_NE(it, kRules.end()) << "line " << line << ": unknown extraction rule " << name;
    if (it != kRules.end()) order.push_back(it->second);
  }
  return order;
}

// Every case of `file` (JSON lines with the completion under `completion_key`, "ground_truth"
// and "expected"; optional "extraction", "numeric_tolerance", "difference", "id", "class").
std::vector<CaseResult> run_cases(const std::string& file, const std::string& completion_key) {
  std::ifstream in(std::string(CARAVAN_MATH_DATA_DIR) + "/" + file);
  EXPECT_TRUE(in) << "cannot open " << file;
  std::vector<CaseResult> results;
  std::string text;
  int line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    const nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.contains(completion_key) || !record.contains("ground_truth") ||
        !record.contains("expected")) {
      ADD_FAILURE() << file << ":" << line << ": needs " << completion_key << ", ground_truth, expected";
      continue;
    }
    MathVerifierOptions options;
    options.deadline = std::chrono::milliseconds(2000);  // generous: CI machines are slow
    if (record.contains("extraction")) options.extraction_order = extraction_order(record["extraction"], line);
    const MathVerifier verifier(options);
    VerifySettings settings;
    if (record.contains("numeric_tolerance")) settings.numeric_tolerance = record["numeric_tolerance"].get<double>();
    const Verdict verdict = verifier.verify(record[completion_key].get<std::string>(),
                                            record["ground_truth"].get<std::string>(), settings);
    CaseResult result;
    result.line = line;
    result.id = record.value("id", std::to_string(line));
    result.expected = record["expected"].get<std::string>();
    result.got = std::string(verdict_status_name(verdict.status));
    result.detail = verdict.detail;
    result.category = record.value("class", record.value("category", ""));
    result.listed_difference = record.contains("difference");
    EXPECT_TRUE(result.expected == "ok" || result.expected == "wrong") << file << ":" << line;
    results.push_back(std::move(result));
  }
  return results;
}

void expect_all_agree(const std::string& file, const std::vector<CaseResult>& results) {
  int disagreements = 0;
  for (const CaseResult& r : results) {
    if (r.got == r.expected) continue;
    ++disagreements;
    ADD_FAILURE() << file << ":" << r.line << " [" << r.category << "] expected " << r.expected << ", got " << r.got
                  << " (" << r.detail << ")";
  }
  EXPECT_EQ(disagreements, 0);
}

TEST(MathCases, AllCasesAgree) {
  const std::vector<CaseResult> results = run_cases("cases.jsonl", "output");
  EXPECT_GE(results.size(), 1663u);
  expect_all_agree("cases.jsonl", results);
}

TEST(MathAdversarial, NearMissesAreWrongAndHonestRewritesAreOk) {
  const std::vector<CaseResult> results = run_cases("adversarial.jsonl", "completion");
  const auto wrong = std::count_if(results.begin(), results.end(), [](const CaseResult& r) { return r.expected == "wrong"; });
  EXPECT_GE(wrong, 150);
  EXPECT_GE(static_cast<long>(results.size()) - wrong, 50);
  expect_all_agree("adversarial.jsonl", results);
}

TEST(MathVerifyCases, AgreesWithMathVerifyExceptListedDifferences) {
  const std::vector<CaseResult> results = run_cases("math_verify_cases.jsonl", "completion");
  ASSERT_GE(results.size(), 200u);
  int agreeing = 0;
  int false_positives = 0;
  for (const CaseResult& r : results) {
    const bool agrees = r.got == r.expected;
    agreeing += agrees ? 1 : 0;
    if (!agrees && r.got == "ok") ++false_positives;
    // A listed difference must still differ, and every difference must be listed with a reason.
    EXPECT_EQ(agrees, !r.listed_difference)
        << r.id << ": Math-Verify says " << r.expected << ", we say " << r.got << " (" << r.detail << ")"
        << (r.listed_difference ? " but the case is listed as a difference" : " and the case is not listed");
  }
  const double agreement = static_cast<double>(agreeing) / static_cast<double>(results.size());
  EXPECT_GE(agreement, 0.9);
  EXPECT_LE(false_positives, 1);
  std::cout << "Math-Verify cases: " << results.size() << ", agreement " << agreeing << " ("
            << 100.0 * agreement << "%), answers accepted that Math-Verify rejects: " << false_positives << "\n";
}

} // namespace
} // namespace caravan::rewards::math
