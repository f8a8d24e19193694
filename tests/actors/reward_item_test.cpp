#include "actors/controller/reward_item.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "core/status.h"

namespace caravan::controller {
namespace {

constexpr int32_t kEos = 257;

const core::TaskPrompt kPrompt{
    .id = 42, .text = "37+45=", .ground_truth = "82", .verifier = "arithmetic", .source = "arithmetic"};

TEST(RewardItemTest, AStoppedSampleDoesNotCountItsEos) {
  // "82" then EOS: two answer tokens. DAPO's overlong penalty measures these, not the EOS.
  const std::vector<int32_t> tokens = {'8', '2', kEos};
  capnp::MallocMessageBuilder message;
  auto item = message.initRoot<proto::RewardItem>();
  fill_reward_item(kPrompt, /*sample_index=*/3, tokens, proto::FinishReason::STOP, "82", item);
  EXPECT_EQ(item.getCompletionTokens(), 2u);
  EXPECT_FALSE(item.getTruncated());
  EXPECT_EQ(item.getPromptId(), 42u);
  EXPECT_EQ(item.getSampleIndex(), 3u);
  EXPECT_EQ(std::string(item.getVerifier().cStr()), "arithmetic");
  EXPECT_EQ(std::string(item.getGroundTruth().cStr()), "82");
  EXPECT_EQ(std::string(item.getCompletion().cStr()), "82");
  EXPECT_EQ(std::string(item.getSource().cStr()), "arithmetic");
}

TEST(RewardItemTest, ATruncatedSampleCountsEveryToken) {
  const std::vector<int32_t> tokens = {'8', '2', '2', '2'};
  capnp::MallocMessageBuilder message;
  auto item = message.initRoot<proto::RewardItem>();
  fill_reward_item(kPrompt, 0, tokens, proto::FinishReason::LENGTH, "8222", item);
  EXPECT_EQ(item.getCompletionTokens(), 4u);
  EXPECT_TRUE(item.getTruncated());
}

TEST(RewardItemTest, AStopStringSampleIsNotTruncatedAndCountsEveryToken) {
  // The token that completed the stop string is part of the answer; there is no EOS to drop.
  const std::vector<int32_t> tokens = {'8', '2', '\n'};
  capnp::MallocMessageBuilder message;
  auto item = message.initRoot<proto::RewardItem>();
  fill_reward_item(kPrompt, 0, tokens, proto::FinishReason::STOP_STRING, "82\n", item);
  EXPECT_EQ(item.getCompletionTokens(), 3u);
  EXPECT_FALSE(item.getTruncated());
}

TEST(RewardItemTest, CountsAreThoseOfTheAnswer) {
  EXPECT_EQ(completion_token_count(std::vector<int32_t>{kEos}, /*stopped=*/true), 0);
  EXPECT_EQ(completion_token_count(std::vector<int32_t>{}, /*stopped=*/false), 0);
  EXPECT_EQ(completion_token_count(std::vector<int32_t>{'1', '2'}, /*stopped=*/false), 2);
  // A stopped sample always holds its EOS; one without is a bug upstream.
  EXPECT_THROW(completion_token_count(std::vector<int32_t>{}, /*stopped=*/true), InternalError);
}

}  // namespace
} // namespace caravan::controller
