#include "core/rlvr_prompt_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/arithmetic_task.h"

namespace caravan::core {
namespace {

// A math row asking for n+1, on line n.
RlvrRow math_row(int64_t n) {
  RlvrRow row;
  row.line = n;
  row.messages = {{"user", str_cat("What is ", n, "+1?")}};
  row.ground_truth = std::to_string(n + 1);
  row.dataset = "gsm8k";
  row.verifier = "math";
  return row;
}

RlvrDataset rows(int64_t count) {
  RlvrDataset dataset;
  for (int64_t n = 1; n <= count; ++n) dataset.rows.push_back(math_row(n));
  return dataset;
}

// One id per byte of the prompt's text or of its messages' contents, each message followed by
// id 0: a stand-in for a model's prompt encoder whose lengths are easy to reason about.
Result<std::vector<int32_t>> byte_ids(const TaskPrompt& prompt) {
  std::vector<int32_t> ids;
  const auto append = [&](const std::string& text) {
    for (unsigned char c : text) ids.push_back(c);
  };
  append(prompt.text);
  for (const ChatMessage& message : prompt.messages) {
    append(message.content);
    ids.push_back(0);
  }
  return ids;
}

RlvrPromptSourceOptions split(int64_t held_out_size, uint64_t held_out_seed, uint64_t seed,
                              int64_t max_prompt_tokens = 0) {
  RlvrPromptSourceOptions options;
  options.held_out_size = held_out_size;
  options.held_out_seed = held_out_seed;
  options.seed = seed;
  options.encode = byte_ids;
  options.max_prompt_tokens = max_prompt_tokens;
  return options;
}

std::unique_ptr<RlvrPromptSource> make(RlvrDataset dataset, RlvrPromptSourceOptions options) {
  auto source = RlvrPromptSource::create(std::move(dataset), "set.jsonl", options);
  EXPECT_TRUE(source.ok()) << source.status().to_string();
  return std::move(source).value();
}

std::set<uint64_t> ids(const std::vector<TaskPrompt>& prompts) {
  std::set<uint64_t> out;
  for (const auto& p : prompts) out.insert(p.id);
  return out;
}

TEST(RlvrPromptSourceTest, PromptCarriesTheRowsMessagesTokensVerifierGroundTruthAndDataset) {
  auto source = make(rows(3), split(1, 5, 1));
  for (uint64_t i = 0; i < 2; ++i) {
    const TaskPrompt p = source->training_prompt(i);
    EXPECT_EQ(p.verifier, "math");
    EXPECT_EQ(p.source, "gsm8k");
    ASSERT_EQ(p.messages.size(), 1u);
    EXPECT_EQ(p.messages[0].role, "user");
    EXPECT_TRUE(p.text.empty());
    // Encoded once, at creation, by the source's encode function.
    EXPECT_EQ(p.tokens, byte_ids(p).value());
    EXPECT_EQ(p.ground_truth, std::to_string(std::stoi(p.messages[0].content.substr(8)) + 1)) << p.messages[0].content;
  }
}

TEST(RlvrPromptSourceTest, ARowTheEncoderRejectsNamesItsLine) {
  RlvrPromptSourceOptions options = split(1, 0, 0);
  options.encode = [](const TaskPrompt& prompt) -> Result<std::vector<int32_t>> {
    if (prompt.messages[0].content == "What is 2+1?") return Status::invalid_argument("no chat template");
    return byte_ids(prompt);
  };
  auto source = RlvrPromptSource::create(rows(3), "set.jsonl", options);
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("set.jsonl:2: no chat template"), std::string::npos)
      << source.status().message();
}

TEST(RlvrPromptSourceTest, IdsAreStableContentHashesIndependentOfLinePosition) {
  RlvrRow moved = math_row(4);
  moved.line = 99;
  EXPECT_EQ(rlvr_prompt_id(moved), rlvr_prompt_id(math_row(4)));
  EXPECT_NE(rlvr_prompt_id(math_row(4)), rlvr_prompt_id(math_row(5)));
  RlvrRow other_truth = math_row(4);
  other_truth.ground_truth = "6";
  EXPECT_NE(rlvr_prompt_id(other_truth), rlvr_prompt_id(math_row(4)));
}

TEST(RlvrPromptSourceTest, HeldOutSplitIsDeterministicExactAndNeverTrainedOn) {
  const RlvrPromptSourceOptions options = split(5, 11, 3);
  auto source = make(rows(40), options);
  auto again = make(rows(40), options);
  ASSERT_EQ(source->held_out().size(), 5u);
  EXPECT_EQ(ids(source->held_out()), ids(again->held_out()));
  EXPECT_EQ(source->report().held_out_rows, 5);
  EXPECT_EQ(source->report().training_rows, 35);

  // A different split seed picks a different held-out set; reversing the file does not.
  auto other_seed = make(rows(40), split(5, 12, 3));
  EXPECT_NE(ids(source->held_out()), ids(other_seed->held_out()));
  RlvrDataset reversed = rows(40);
  std::reverse(reversed.rows.begin(), reversed.rows.end());
  EXPECT_EQ(ids(make(std::move(reversed), options)->held_out()), ids(source->held_out()));

  const std::set<uint64_t> held = ids(source->held_out());
  for (uint64_t i = 0; i < 200; ++i) EXPECT_EQ(held.count(source->training_prompt(i).id), 0u) << i;
}

TEST(RlvrPromptSourceTest, DuplicateRowsStayOnOneSideOfTheSplit) {
  for (uint64_t held_out_seed = 0; held_out_seed < 20; ++held_out_seed) {
    RlvrDataset dataset = rows(6);
    for (int64_t copy = 0; copy < 3; ++copy) {
      dataset.rows.push_back(math_row(1));
      dataset.rows.back().line = 10 + copy;
    }
    auto source = make(std::move(dataset), split(1, held_out_seed, 1));
    const std::set<uint64_t> held = ids(source->held_out());
    for (uint64_t i = 0; i < 20; ++i) EXPECT_EQ(held.count(source->training_prompt(i).id), 0u) << held_out_seed;
  }
}

TEST(RlvrPromptSourceTest, TrainingWalksEveryRowOncePerEpochInASeededShuffle) {
  auto source = make(rows(12), split(2, 1, 7));
  std::vector<uint64_t> epoch0, epoch1;
  for (uint64_t i = 0; i < 10; ++i) epoch0.push_back(source->training_prompt(i).id);
  for (uint64_t i = 10; i < 20; ++i) epoch1.push_back(source->training_prompt(i).id);
  EXPECT_EQ(std::set<uint64_t>(epoch0.begin(), epoch0.end()).size(), 10u);
  EXPECT_EQ(std::set<uint64_t>(epoch0.begin(), epoch0.end()), std::set<uint64_t>(epoch1.begin(), epoch1.end()));
  EXPECT_NE(epoch0, epoch1) << "each epoch reshuffles";

  // A pure function of (seed, index): going back to an earlier epoch gives the same prompt.
  EXPECT_EQ(source->training_prompt(3).id, epoch0[3]);
  EXPECT_EQ(make(rows(12), split(2, 1, 7))->training_prompt(13).id, epoch1[3]);
  std::vector<uint64_t> other_seed;
  auto reseeded = make(rows(12), split(2, 1, 8));
  for (uint64_t i = 0; i < 10; ++i) other_seed.push_back(reseeded->training_prompt(i).id);
  EXPECT_NE(other_seed, epoch0);
}

TEST(RlvrPromptSourceTest, PromptsTooLongForTheModelAreSkippedAndCounted) {
  RlvrDataset dataset = rows(6);
  dataset.rows[2].messages[0].content = std::string(500, 'x');
  dataset.rows[4].messages[0].content = std::string(600, 'y');
  auto source = make(std::move(dataset), split(1, 1, 1, /*max_prompt_tokens=*/100));
  EXPECT_EQ(source->report().rows_too_long, 2);
  EXPECT_EQ(source->report().too_long_lines, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(source->report().training_rows, 3);
  for (uint64_t i = 0; i < 6; ++i) EXPECT_LE(source->training_prompt(i).tokens.size(), 100u);
}

TEST(RlvrPromptSourceTest, HeldOutSizeMustLeaveTrainingRows) {
  auto source = RlvrPromptSource::create(rows(4), "set.jsonl", split(4, 0, 0));
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(source.status().message().find("[task] held_out_size = 4 leaves no training rows: set.jsonl has 4"),
            std::string::npos)
      << source.status().message();
}

TEST(RlvrPromptSourceTest, NoRowFittingTheModelIsAnError) {
  auto source = RlvrPromptSource::create(rows(3), "set.jsonl",
                                         split(1, 0, 0, /*max_prompt_tokens=*/3));
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("set.jsonl: none of the 3 valid rows fits"), std::string::npos)
      << source.status().message();
}

TEST(RlvrPromptSourceTest, ArithmeticSourceServesTheTasksProblemsUnchanged) {
  TaskOptions options;
  options.kind = "arithmetic";
  options.held_out_size = 10;
  auto task = ArithmeticTask::create(options).value();
  ArithmeticPromptSource source(task, /*seed=*/7, "arithmetic", "arithmetic", byte_ids);
  for (uint64_t i = 0; i < 20; ++i) {
    const ArithmeticProblem problem = task.training_problem(7, i);
    const TaskPrompt prompt = source.training_prompt(i);
    EXPECT_EQ(prompt.id, problem.id());
    EXPECT_EQ(prompt.text, problem.prompt());
    EXPECT_EQ(prompt.tokens, byte_ids(prompt).value());
    EXPECT_EQ(prompt.ground_truth, problem.answer());
    EXPECT_EQ(prompt.verifier, "arithmetic");
  }
  ASSERT_EQ(source.held_out().size(), 10u);
  EXPECT_EQ(source.held_out()[3].id, task.held_out()[3].id());
}

} // namespace
} // namespace caravan::core
