#include "tasks/sft_dataset.h"

#include <gtest/gtest.h>

#include "tests/tasks/dataset_file.h"

namespace caravan::tasks {
namespace {

using caravan::testing::contains;

class SftDatasetTest : public ::testing::Test {
 protected:
  // Loads the single row `row` with kFail and returns the error message (empty when it loaded).
  std::string fail_message(const std::string& row) {
    const std::filesystem::path path = files_.write(row + "\n");
    auto data = load_sft_dataset(path, core::BadRowPolicy::kFail);
    if (data.ok()) return "";
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(data.status().message(), path.string() + ":1: ")) << "names the file and line";
    return data.status().message();
  }

  caravan::testing::DatasetFiles files_;
};

TEST_F(SftDatasetTest, ReadsTheThreeLayouts) {
  const std::string text =
      R"({"id": "a", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+3?"}, )"
      R"({"role": "assistant", "content": "5"}, {"role": "user", "content": "and 2+4?"}, {"role": "assistant", "content": "6"}]})"
      "\n\n"
      R"({"prompt": "2+3=", "completion": "5"})"
      "\n"
      R"({"prompt": [{"role": "user", "content": "2+3?"}], "completion": [{"role": "assistant", "content": "5"}]})"
      "\n";
  auto data = load_sft_dataset(files_.write(text), core::BadRowPolicy::kFail);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  ASSERT_EQ(data->rows.size(), 3u);
  EXPECT_EQ(data->report.rows_read, 3);

  const SftRow& chat = data->rows[0];
  EXPECT_EQ(chat.line, 1);
  ASSERT_TRUE(chat.conversation.is_chat());
  ASSERT_EQ(chat.conversation.messages.size(), 5u);
  EXPECT_EQ(chat.conversation.messages[4], (core::ChatMessage{"assistant", "6"}));
  EXPECT_EQ(chat.conversation.trained_from, 0u) << "every assistant turn of a messages row is trained";

  const SftRow& text_row = data->rows[1];
  EXPECT_EQ(text_row.line, 3) << "the blank line still counts";
  EXPECT_FALSE(text_row.conversation.is_chat());
  EXPECT_EQ(text_row.conversation.prompt, "2+3=");
  EXPECT_EQ(text_row.conversation.completion, "5");

  const SftRow& split = data->rows[2];
  ASSERT_EQ(split.conversation.messages.size(), 2u);
  EXPECT_EQ(split.conversation.trained_from, 1u) << "only the completion's turns are trained";
  EXPECT_EQ(split.conversation.messages[1].content, "5");
}

TEST_F(SftDatasetTest, BadRowsNameTheField) {
  EXPECT_TRUE(contains(fail_message(R"({"text": "hello"})"), "field 'messages': missing"));
  EXPECT_TRUE(contains(fail_message("[1, 2]"), "expected a JSON object, got array"));
  EXPECT_TRUE(contains(fail_message("{not json"), "invalid JSON"));
  EXPECT_TRUE(contains(fail_message(R"({"messages": "hi"})"), "field 'messages': expected an array, got string"));
  EXPECT_TRUE(contains(fail_message(R"({"messages": []})"), "field 'messages': empty"));
  EXPECT_TRUE(contains(fail_message(R"({"messages": [{"role": "tool", "content": "x"}]})"),
                       "field 'messages[0].role': expected system, user or assistant, got \"tool\""));
  EXPECT_TRUE(contains(fail_message(R"({"messages": [{"role": "user", "content": 3}]})"),
                       "field 'messages[0].content': expected a string, got number"));
  EXPECT_TRUE(contains(fail_message(R"({"messages": [{"role": "user"}]})"), "field 'messages[0].content': missing"));
  EXPECT_TRUE(contains(fail_message(R"({"messages": [{"role": "user", "content": "hi"}]})"),
                       "field 'messages': no assistant turn (nothing to train on)"));
  EXPECT_TRUE(contains(fail_message(R"({"prompt": "2+3="})"), "field 'completion': missing"));
  EXPECT_TRUE(contains(fail_message(R"({"completion": "5"})"), "field 'prompt': missing"));
  EXPECT_TRUE(contains(fail_message(R"({"prompt": "2+3=", "completion": ""})"),
                       "field 'completion': empty (nothing to train on)"));
  EXPECT_TRUE(contains(fail_message(R"({"prompt": 7, "completion": "5"})"),
                       "field 'prompt': expected a string or a message list, got number"));
  EXPECT_TRUE(contains(fail_message(R"({"prompt": "2+3=", "completion": [{"role": "assistant", "content": "5"}]})"),
                       "field 'completion': expected a string like 'prompt'"));
  EXPECT_TRUE(contains(fail_message(R"({"prompt": [{"role": "user", "content": "2+3?"}], "completion": [{"role": "user", "content": "5"}]})"),
                       "field 'completion': no assistant turn"));
  EXPECT_TRUE(contains(fail_message(R"({"messages": [{"role": "assistant", "content": "5"}], "prompt": "x"})"),
                       "field 'prompt': not allowed beside 'messages'"));
}

TEST_F(SftDatasetTest, SkipPolicyCountsAndReportsBadRows) {
  const std::string text = R"({"prompt": "1+1=", "completion": "2"})"
                           "\n"
                           R"({"prompt": "1+2="})"
                           "\n"
                           R"({"prompt": "1+3=", "completion": "4"})"
                           "\n";
  const std::filesystem::path path = files_.write(text);
  auto data = load_sft_dataset(path, core::BadRowPolicy::kSkip);
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->rows.size(), 2u);
  EXPECT_EQ(data->report.rows_read, 3);
  EXPECT_EQ(data->report.rows_skipped, 1);
  ASSERT_EQ(data->report.problems.size(), 1u);
  EXPECT_EQ(data->report.problems[0], path.string() + ":2: field 'completion': missing");

  auto strict = load_sft_dataset(path, core::BadRowPolicy::kFail);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().message(), path.string() + ":2: field 'completion': missing");
}

TEST_F(SftDatasetTest, EmptyOrAllBadFilesAndMissingFilesFail) {
  auto empty = load_sft_dataset(files_.write("\n \n"), core::BadRowPolicy::kSkip);
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(contains(empty.status().message(), "no rows (empty file)"));
  auto all_bad = load_sft_dataset(files_.write(R"({"prompt": "x"})"), core::BadRowPolicy::kSkip);
  ASSERT_FALSE(all_bad.ok());
  EXPECT_TRUE(contains(all_bad.status().message(), "no valid rows (1 skipped); first problem: "));
  auto missing = load_sft_dataset("/nonexistent/sft.jsonl", core::BadRowPolicy::kSkip);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(contains(missing.status().message(), "/nonexistent/sft.jsonl: cannot open SFT dataset"));
}

} // namespace
} // namespace caravan::tasks
