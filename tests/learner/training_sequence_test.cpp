#include "learner/training_sequence.h"

#include <gtest/gtest.h>

#include "learner/sft_trainer.h"
#include "tests/learner/trainer_test_util.h"

namespace caravan::learner {
namespace {

TEST(TrainingSequenceTest, PacksOneRowPerSequenceWithShiftedMask) {
  // Multi-turn: tokens 7 and 9 are trained (two assistant turns), 8 is a user turn.
  const std::vector<TrainingSequence> sequences = {{.ids = {5, 6, 7, 8, 9}, .loss_mask = {0, 0, 1, 0, 1}},
                                                   {.ids = {4, 3}, .loss_mask = {0, 1}}};
  const SequenceBatch batch = pack_training_sequences(sequences, /*pad_id=*/0).value();
  EXPECT_TRUE(at::equal(batch.tokens, at::tensor({5, 6, 7, 8, 9, 4, 3, 0, 0, 0}, at::kLong).view({2, 5})));
  EXPECT_TRUE(at::equal(batch.targets, at::tensor({6, 7, 8, 9, 3, 0, 0, 0}, at::kLong).view({2, 4})));
  EXPECT_TRUE(at::equal(batch.loss_mask, at::tensor({0.f, 1.f, 0.f, 1.f, 1.f, 0.f, 0.f, 0.f}).view({2, 4})));
  EXPECT_EQ(batch.segments, (std::vector<int64_t>{5, 5}));
  EXPECT_EQ(batch.completion_tokens, 3);
}

TEST(TrainingSequenceTest, PackingKeepsTheAssistantOnlyMask) {
  const std::vector<TrainingSequence> sequences = {{.ids = {5, 6, 7, 8, 9}, .loss_mask = {0, 0, 1, 0, 1}},
                                                   {.ids = {4, 3}, .loss_mask = {1, 1}}};
  const SequenceBatch batch = pack_training_sequences(sequences, /*pad_id=*/0, RowLayout::kPacked).value();
  EXPECT_TRUE(at::equal(batch.tokens, at::tensor({5, 6, 7, 8, 9, 4, 3}, at::kLong).view({1, 7})));
  EXPECT_EQ(batch.segments, (std::vector<int64_t>{5, 2}));
  // The second conversation's first token (mask 1) is predicted from nothing of its own: untrained.
  EXPECT_TRUE(at::equal(batch.loss_mask, at::tensor({0.f, 1.f, 0.f, 1.f, 0.f, 1.f}).view({1, 6})));
  EXPECT_EQ(batch.completion_tokens, 3);
  const SequenceBatch padded = pack_training_sequences(sequences, /*pad_id=*/0).value();
  EXPECT_TRUE(at::equal(per_sequence(batch, batch.loss_mask), padded.loss_mask));
}

TEST(TrainingSequenceTest, ValidationNamesTheRule) {
  core::TransformerConfig config;
  config.vocab_size = 10;
  config.max_position_embeddings = 4;
  const auto message = [&](TrainingSequence s) { return validate_training_sequence(s, config).message(); };
  EXPECT_EQ(message({.ids = {1, 2}, .loss_mask = {0, 1}}), "");
  EXPECT_NE(message({.ids = {1, 12}, .loss_mask = {0, 1}}).find("token 1 has id 12"), std::string::npos);
  EXPECT_NE(message({.ids = {1, 2, 3, 4, 5}, .loss_mask = {0, 1, 1, 1, 1}}).find("more than max_position_embeddings 4"),
            std::string::npos);
  EXPECT_NE(message({.ids = {1, 2}, .loss_mask = {1, 0}}).find("no trained token"), std::string::npos);
  EXPECT_NE(message({.ids = {1, 2}, .loss_mask = {0}}).find("2 ids but 1 loss mask entries"), std::string::npos);
}

TEST(TrainingSequenceTest, SftExampleAndItsSequenceTrainIdentically) {
  learner::SftOptions options;
  options.warmup_steps = 0;
  SftTrainer pairs_trainer(testing::tiny_llama(/*seed=*/4), options, /*pad_id=*/0);
  SftTrainer sequence_trainer(testing::tiny_llama(/*seed=*/4), options, /*pad_id=*/0);
  const SftStepStats a = pairs_trainer.step(std::vector<SftExample>{{.prompt = {1, 2}, .target = {3, 4}}}).value();
  const SftStepStats b =
      sequence_trainer.step(std::vector<TrainingSequence>{{.ids = {1, 2, 3, 4}, .loss_mask = {0, 0, 1, 1}}}).value();
  EXPECT_DOUBLE_EQ(a.loss, b.loss);
  EXPECT_EQ(a.tokens, 2);
  EXPECT_EQ(b.tokens, 2);
  EXPECT_TRUE(at::equal(pairs_trainer.policy()->parameters().front(), sequence_trainer.policy()->parameters().front()));
}

TEST(TrainingSequenceTest, SftEvaluationIsTheTokenWeightedLossAndChangesNothing) {
  SftTrainer trainer(testing::tiny_llama(/*seed=*/5), learner::SftOptions{}, /*pad_id=*/0);
  const std::vector<TrainingSequence> held_out = {{.ids = {1, 2, 3}, .loss_mask = {0, 1, 1}},
                                                  {.ids = {4, 5}, .loss_mask = {0, 1}}};
  const at::Tensor before = trainer.policy()->parameters().front().clone();
  const SftEvaluation one_batch = trainer.evaluate(held_out, 2).value();
  const SftEvaluation two_batches = trainer.evaluate(held_out, 1).value();
  EXPECT_EQ(one_batch.tokens, 3);
  EXPECT_NEAR(one_batch.loss, two_batches.loss, 1e-5);
  EXPECT_TRUE(at::equal(before, trainer.policy()->parameters().front()));
  EXPECT_EQ(trainer.steps_done(), 0);
}

} // namespace
} // namespace caravan::learner
