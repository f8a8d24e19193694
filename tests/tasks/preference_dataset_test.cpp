#include "tasks/preference_dataset.h"

#include <gtest/gtest.h>

#include "tests/tasks/dataset_file.h"

namespace caravan::tasks {
namespace {

using caravan::testing::contains;

class PreferenceDatasetTest : public ::testing::Test {
 protected:
  // Loads the single row `row` with kFail and returns the error message (empty when it loaded).
  std::string fail_message(const std::string& row) {
    const std::filesystem::path path = files_.write(row + "\n");
    auto data = load_preference_dataset(path, core::BadRowPolicy::kFail);
    if (data.ok()) return "";
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(data.status().message(), path.string() + ":1: ")) << "names the file and line";
    return data.status().message();
  }

  caravan::testing::DatasetFiles files_;
};

constexpr char kUser[] = R"({"role": "user", "content": "2+3?"})";

std::string assistant(const std::string& content) {
  return R"({"role": "assistant", "content": ")" + content + R"("})";
}

TEST_F(PreferenceDatasetTest, ReadsTheThreeLayouts) {
  const std::string text =
      // Tülu 3: full conversations sharing the prompt turns; the "prompt" string is ignored.
      R"({"prompt": "2+3?", "chosen": [)" + std::string(kUser) + ", " + assistant("5") + R"(], "rejected": [)" +
      kUser + ", " + assistant("6") + "]}\n" +
      // Raw text.
      R"({"prompt": "2+3=", "chosen": "5", "rejected": "6"})" + "\n" +
      // Conversational with an explicit prompt.
      R"({"prompt": [)" + kUser + R"(], "chosen": [)" + assistant("5") + R"(], "rejected": [)" + assistant("6") +
      "]}\n";
  auto data = load_preference_dataset(files_.write(text), core::BadRowPolicy::kFail);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  ASSERT_EQ(data->rows.size(), 3u);

  const PreferenceRow& tulu = data->rows[0];
  ASSERT_EQ(tulu.chosen.messages.size(), 2u);
  EXPECT_EQ(tulu.chosen.trained_from, 1u) << "only the response is trained";
  EXPECT_EQ(tulu.rejected.trained_from, 1u);
  EXPECT_EQ(tulu.chosen.messages[1].content, "5");
  EXPECT_EQ(tulu.rejected.messages[1].content, "6");

  const PreferenceRow& text_row = data->rows[1];
  EXPECT_FALSE(text_row.chosen.is_chat());
  EXPECT_EQ(text_row.chosen.prompt, "2+3=");
  EXPECT_EQ(text_row.rejected.prompt, "2+3=");
  EXPECT_EQ(text_row.chosen.completion, "5");
  EXPECT_EQ(text_row.rejected.completion, "6");

  const PreferenceRow& explicit_prompt = data->rows[2];
  EXPECT_EQ(explicit_prompt.chosen, tulu.chosen) << "the same pair in another layout reads the same";
  EXPECT_EQ(explicit_prompt.rejected, tulu.rejected);
  EXPECT_EQ(preference_row_id(explicit_prompt), preference_row_id(tulu));
  EXPECT_NE(preference_row_id(text_row), preference_row_id(tulu));
}

TEST_F(PreferenceDatasetTest, BadRowsNameTheField) {
  const std::string pair_prefix = R"({"chosen": [)" + std::string(kUser) + ", " + assistant("5") + "], ";
  EXPECT_TRUE(contains(fail_message(R"({"rejected": "6", "prompt": "x"})"), "field 'chosen': missing"));
  EXPECT_TRUE(contains(fail_message(R"({"chosen": "5", "prompt": "x"})"), "field 'rejected': missing"));
  EXPECT_TRUE(contains(fail_message(R"({"chosen": "5", "rejected": "6"})"), "field 'prompt': missing"));
  EXPECT_TRUE(contains(fail_message(R"({"prompt": "x", "chosen": "", "rejected": "6"})"),
                       "field 'chosen': empty (nothing to train on)"));
  EXPECT_TRUE(contains(fail_message(R"({"prompt": "x", "chosen": "5", "rejected": 6})"),
                       "field 'rejected': expected a string like 'prompt'"));
  EXPECT_TRUE(contains(fail_message(pair_prefix + R"("rejected": [)" + kUser + "]}"),
                       "field 'rejected[0].role': the last turn must be the assistant's response, got \"user\""));
  EXPECT_TRUE(contains(fail_message(R"({"chosen": [)" + assistant("5") + R"(], "rejected": [)" + assistant("6") + "]}"),
                       "field 'chosen': no prompt turns before the response"));
  EXPECT_TRUE(contains(fail_message(pair_prefix + R"("rejected": [{"role": "user", "content": "2+4?"}, )" +
                                    assistant("6") + "]}"),
                       "field 'rejected[0]': differs from 'chosen[0]'"));
  EXPECT_TRUE(contains(fail_message(pair_prefix + R"("rejected": [{"role": "system", "content": "s"}, )" + kUser +
                                    ", " + assistant("6") + "]}"),
                       "field 'rejected': 3 turns but 'chosen' has 2"));
  EXPECT_TRUE(contains(fail_message(pair_prefix + R"("rejected": [)" + kUser + R"(, {"role": "bot", "content": "6"}]})"),
                       "field 'rejected[1].role': expected system, user or assistant, got \"bot\""));
  EXPECT_TRUE(contains(fail_message(R"({"prompt": [)" + std::string(kUser) + R"(], "chosen": [)" + kUser +
                                    R"(], "rejected": [)" + assistant("6") + "]}"),
                       "field 'chosen': no assistant turn"));
}

TEST_F(PreferenceDatasetTest, SkipPolicyKeepsTheGoodRows) {
  const std::string text = R"({"prompt": "1+1=", "chosen": "2", "rejected": "3"})"
                           "\n"
                           R"({"prompt": "1+2=", "chosen": "3"})"
                           "\n";
  const std::filesystem::path path = files_.write(text);
  auto data = load_preference_dataset(path, core::BadRowPolicy::kSkip);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  ASSERT_EQ(data->rows.size(), 1u);
  EXPECT_EQ(data->rows[0].line, 1);
  EXPECT_EQ(data->report.rows_skipped, 1);
  ASSERT_EQ(data->report.problems.size(), 1u);
  EXPECT_EQ(data->report.problems[0], path.string() + ":2: field 'rejected': missing");
}

} // namespace
} // namespace caravan::tasks
