#include "core/rlvr_dataset.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/common/temp_dir.h"

namespace caravan::core {
namespace {

// Passes when `text` contains `part`; the failure message shows both.
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

class RlvrDatasetTest : public ::testing::Test {
 protected:
  // Writes `text` to a fresh file and returns its path.
  std::filesystem::path write(const std::string& text) {
    std::filesystem::path path = dir_.path() / ("data" + std::to_string(files_++) + ".jsonl");
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  // Loads `text` with kFail and returns the error message (empty when it loaded).
  std::string fail_message(const std::string& text) {
    RlvrDatasetOptions options;
    options.on_bad_row = BadRowPolicy::kFail;
    auto data = load_rlvr_dataset(write(text), options);
    if (data.ok()) return "";
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
    return data.status().message();
  }

  caravan::testing::TempDir dir_;
  int files_ = 0;
};

const char kGsm8k[] =
    R"({"messages": [{"role": "user", "content": "Tom has 3 apples and buys 2. How many?"}], )"
    R"("ground_truth": "5", "dataset": "gsm8k"})";
const char kMath[] =
    R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Solve $x^2=4$, x>0."}], )"
    R"("ground_truth": "2", "dataset": "MATH"})";
const char kIfeval[] =
    R"({"messages": [{"role": "user", "content": "Write a poem in under 50 words."}], )"
    R"("ground_truth": "{\"func_name\": \"validate_word_constraint\", \"N\": 50, \"quantifier\": \"less than\"}", )"
    R"("dataset": "ifeval", "constraint_type": "Number Words", "constraint": "Answer with less than 50 words"})";
const char kGood[] = R"({"messages": [{"role": "user", "content": "1+1?"}], "ground_truth": "2", "dataset": "gsm8k"})";

TEST_F(RlvrDatasetTest, ReadsEachDatasetKind) {
  auto data = load_rlvr_dataset(write(std::string(kGsm8k) + "\n" + kMath + "\n" + kIfeval + "\n"), {});
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  ASSERT_EQ(data->rows.size(), 3u);
  EXPECT_EQ(data->report.rows_read, 3);
  EXPECT_EQ(data->report.rows_skipped, 0);
  EXPECT_TRUE(data->report.problems.empty());

  const RlvrRow& gsm = data->rows[0];
  EXPECT_EQ(gsm.line, 1);
  ASSERT_EQ(gsm.messages.size(), 1u);
  EXPECT_EQ(gsm.messages[0].role, "user");
  EXPECT_EQ(gsm.messages[0].content, "Tom has 3 apples and buys 2. How many?");
  EXPECT_EQ(gsm.ground_truth, "5");
  EXPECT_EQ(gsm.dataset, "gsm8k");
  EXPECT_EQ(gsm.verifier, "math");
  EXPECT_TRUE(gsm.extra.empty());

  const RlvrRow& math = data->rows[1];
  EXPECT_EQ(math.line, 2);
  ASSERT_EQ(math.messages.size(), 2u);
  EXPECT_EQ(math.messages[0].role, "system");
  EXPECT_EQ(math.messages[1].content, "Solve $x^2=4$, x>0.");
  EXPECT_EQ(math.dataset, "MATH");
  EXPECT_EQ(math.verifier, "math");

  const RlvrRow& ifeval = data->rows[2];
  EXPECT_EQ(ifeval.verifier, "ifeval");
  // The constraints stay the JSON text they were stored as, ready for the IFEval verifier.
  auto constraints = nlohmann::json::parse(ifeval.ground_truth);
  EXPECT_EQ(constraints["func_name"], "validate_word_constraint");
  EXPECT_EQ(constraints["N"], 50);
  EXPECT_EQ(ifeval.extra["constraint_type"], "Number Words");
  EXPECT_EQ(ifeval.extra.size(), 2u);
}

TEST_F(RlvrDatasetTest, GroundTruthArrayIsKeptAsJsonText) {
  auto data = load_rlvr_dataset(
      write(R"({"messages": [{"role": "user", "content": "q"}], "ground_truth": ["a", "b\"c"], "dataset": "ifeval"})"),
      {});
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->rows[0].ground_truth, R"(["a","b\"c"])");
  EXPECT_EQ(nlohmann::json::parse(data->rows[0].ground_truth), nlohmann::json::array({"a", "b\"c"}));
}

TEST_F(RlvrDatasetTest, MultiTurnPromptEndingWithUserIsValid) {
  auto data = load_rlvr_dataset(
      write(R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, )"
            R"({"role": "user", "content": "c"}], "ground_truth": "1", "dataset": "math"})"),
      {});
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->rows[0].messages.size(), 3u);
}

TEST_F(RlvrDatasetTest, EmptyLinesAndCrlfAreSkippedSilentlyAndLineNumbersCount) {
  auto data = load_rlvr_dataset(write(std::string("\n  \r\n") + kGood + "\r\n\n" + kGood), {});
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  ASSERT_EQ(data->rows.size(), 2u);
  EXPECT_EQ(data->rows[0].line, 3);
  EXPECT_EQ(data->rows[1].line, 5);
  EXPECT_EQ(data->report.rows_read, 2);
  EXPECT_EQ(data->report.rows_skipped, 0);
}

// Each malformed field, on line 2 after a good row, fails with "FILE:2: <expected>".
TEST_F(RlvrDatasetTest, EachMalformedFieldIsReportedWithLineNumber) {
  struct Case {
    const char* row;
    const char* expected;
  };
  const Case cases[] = {
      {R"({"messages": [)", "invalid JSON"},
      {R"([1, 2])", "expected a JSON object, got array"},
      {R"({"ground_truth": "1", "dataset": "gsm8k"})", "field 'messages': missing"},
      {R"({"messages": "hi", "ground_truth": "1", "dataset": "gsm8k"})",
       "field 'messages': expected an array, got string"},
      {R"({"messages": [], "ground_truth": "1", "dataset": "gsm8k"})", "field 'messages': empty"},
      {R"({"messages": ["hi"], "ground_truth": "1", "dataset": "gsm8k"})",
       "field 'messages[0]': expected an object, got string"},
      {R"({"messages": [{"content": "hi"}], "ground_truth": "1", "dataset": "gsm8k"})",
       "field 'messages[0].role': missing"},
      {R"({"messages": [{"role": 3, "content": "hi"}], "ground_truth": "1", "dataset": "gsm8k"})",
       "field 'messages[0].role': expected a string, got number"},
      {R"({"messages": [{"role": "system", "content": "s"}, {"role": "tool", "content": "hi"}], "ground_truth": "1", "dataset": "gsm8k"})",
       "field 'messages[1].role': expected system, user or assistant, got \"tool\""},
      {R"({"messages": [{"role": "user"}], "ground_truth": "1", "dataset": "gsm8k"})",
       "field 'messages[0].content': missing"},
      {R"({"messages": [{"role": "user", "content": null}], "ground_truth": "1", "dataset": "gsm8k"})",
       "field 'messages[0].content': expected a string, got null"},
      {R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "ground_truth": "1", "dataset": "gsm8k"})",
       "field 'messages[1].role': the last message is from the assistant"},
      {R"({"messages": [{"role": "user", "content": "q"}], "dataset": "gsm8k"})", "field 'ground_truth': missing"},
      {R"({"messages": [{"role": "user", "content": "q"}], "ground_truth": 5, "dataset": "gsm8k"})",
       "field 'ground_truth': expected a string or an array of strings, got number"},
      {R"({"messages": [{"role": "user", "content": "q"}], "ground_truth": ["a", 1], "dataset": "gsm8k"})",
       "field 'ground_truth[1]': expected a string, got number"},
      {R"({"messages": [{"role": "user", "content": "q"}], "ground_truth": "1"})", "field 'dataset': missing"},
      {R"({"messages": [{"role": "user", "content": "q"}], "ground_truth": "1", "dataset": ["gsm8k"]})",
       "field 'dataset': expected a string, got array"},
  };
  for (const Case& c : cases) {
    const std::filesystem::path path = dir_.path() / ("data" + std::to_string(files_) + ".jsonl");
    std::string message = fail_message(std::string(kGood) + "\n" + c.row + "\n" + kGood + "\n");
    EXPECT_TRUE(contains(message, path.string() + ":2: " + c.expected)) << c.row;
  }
}

TEST_F(RlvrDatasetTest, UnmappedDatasetListsKnownNames) {
  std::string message = fail_message(
      R"({"messages": [{"role": "user", "content": "q"}], "ground_truth": "1", "dataset": "gsm8k_v2"})");
  EXPECT_TRUE(contains(message, ":1: field 'dataset': \"gsm8k_v2\" maps to no verifier (known: MATH, gsm8k, ifeval, math)"));
  // Lookup is case-sensitive: "Math" is not "MATH" or "math".
  EXPECT_TRUE(contains(fail_message(R"({"messages": [{"role": "user", "content": "q"}], "ground_truth": "1", "dataset": "Math"})"), "field 'dataset': \"Math\" maps to no verifier"));
}

TEST_F(RlvrDatasetTest, CustomMappingReplacesDefaults) {
  RlvrDatasetOptions options;
  options.verifier_for_dataset = {{"my_arith", "arithmetic"}};
  std::filesystem::path path = write(
      R"({"messages": [{"role": "user", "content": "2+2="}], "ground_truth": "4", "dataset": "my_arith"})"
      "\n" +
      std::string(kGood) + "\n");
  auto data = load_rlvr_dataset(path, options);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  ASSERT_EQ(data->rows.size(), 1u);
  EXPECT_EQ(data->rows[0].verifier, "arithmetic");
  EXPECT_EQ(data->report.rows_skipped, 1);
  ASSERT_EQ(data->report.problems.size(), 1u);
  EXPECT_EQ(data->report.problems[0],
            path.string() + ":2: field 'dataset': \"gsm8k\" maps to no verifier (known: my_arith)");
}

TEST_F(RlvrDatasetTest, SkipPolicyRecordsProblemsAndKeepsGoodRows) {
  std::filesystem::path path = write(std::string(kGood) + "\n{bad\n" + kGood + "\n" +
                                     R"({"messages": [], "ground_truth": "1", "dataset": "gsm8k"})" + "\n" + kGood);
  auto data = load_rlvr_dataset(path, {});
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  ASSERT_EQ(data->rows.size(), 3u);
  EXPECT_EQ(data->rows[0].line, 1);
  EXPECT_EQ(data->rows[1].line, 3);
  EXPECT_EQ(data->rows[2].line, 5);
  EXPECT_EQ(data->report.rows_read, 5);
  EXPECT_EQ(data->report.rows_skipped, 2);
  ASSERT_EQ(data->report.problems.size(), 2u);
  EXPECT_TRUE(contains(data->report.problems[0], path.string() + ":2: invalid JSON"));
  EXPECT_TRUE(contains(data->report.problems[1], path.string() + ":4: field 'messages': empty"));
}

TEST_F(RlvrDatasetTest, FailPolicyStopsAtFirstBadRow) {
  std::string message = fail_message(std::string(kGood) + "\n" + kGood + "\n{bad\n" +
                                     R"({"messages": []})" + "\n");
  EXPECT_TRUE(contains(message, ":3: invalid JSON"));
  EXPECT_EQ(message.find(":4:"), std::string::npos);
}

TEST_F(RlvrDatasetTest, ProblemListIsCapped) {
  std::string text;
  for (int i = 0; i < 150; ++i) text += "not json\n";
  text += kGood;
  auto data = load_rlvr_dataset(write(text), {});
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->rows.size(), 1u);
  EXPECT_EQ(data->report.rows_skipped, 150);
  EXPECT_EQ(data->report.problems.size(), RlvrDatasetReport::kMaxProblems);
  EXPECT_EQ(data->rows[0].line, 151);
}

TEST_F(RlvrDatasetTest, EmptyFileIsInvalid) {
  for (const char* text : {"", "\n\n  \n"}) {
    auto data = load_rlvr_dataset(write(text), {});
    ASSERT_FALSE(data.ok());
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(data.status().message(), "no rows"));
  }
}

TEST_F(RlvrDatasetTest, AllRowsSkippedIsInvalid) {
  std::filesystem::path path = write("{bad\n[]\n");
  auto data = load_rlvr_dataset(path, {});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(data.status().message(), "no valid rows (2 skipped)"));
  EXPECT_TRUE(contains(data.status().message(), path.string() + ":1: invalid JSON"));
}

TEST_F(RlvrDatasetTest, MissingFileIsNotFound) {
  std::filesystem::path path = dir_.path() / "absent.jsonl";
  auto data = load_rlvr_dataset(path, {});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(data.status().message(), path.string()));
}

} // namespace
} // namespace caravan::core
