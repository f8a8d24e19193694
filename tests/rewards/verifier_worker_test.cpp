#include "rewards/verifier_worker.h"

#include <gtest/gtest.h>

namespace caravan::rewards {
namespace {

TEST(VerifierWorkerTest, ScoresEveryItemInOrderWithStatusAndDetail) {
  const VerifierRegistry registry = make_default_registry();
  VerifierWorker worker(registry);
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<proto::Envelope>().initRewardRequest();
  request.setRequestId(42);
  auto items = request.initItems(3);
  const char* completions[] = {"82", "#### 81", "the answer is 82"};
  const char* verifiers[] = {"arithmetic", "arithmetic", "python"};
  for (unsigned i = 0; i < 3; ++i) {
    items[i].setPromptId(7);
    items[i].setSampleIndex(i);
    items[i].setVerifier(verifiers[i]);
    items[i].setGroundTruth("82");
    items[i].setCompletion(completions[i]);
  }
  auto reply = worker.handle(message.getRoot<proto::Envelope>().asReader());
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  const auto result = (*reply)->getRoot<proto::Envelope>().asReader().getRewardResult();
  EXPECT_EQ(result.getRequestId(), 42u);
  ASSERT_EQ(result.getRewards().size(), 3u);
  EXPECT_EQ(result.getRewards()[0].getStatus(), proto::RewardStatus::OK);
  EXPECT_FLOAT_EQ(result.getRewards()[0].getScore(), 1.0f);
  EXPECT_EQ(result.getRewards()[1].getStatus(), proto::RewardStatus::WRONG);
  EXPECT_FLOAT_EQ(result.getRewards()[1].getScore(), 0.0f);
  EXPECT_EQ(result.getRewards()[1].getSampleIndex(), 1u);
  // An unknown verifier is an error naming it, not a silent zero.
  EXPECT_EQ(result.getRewards()[2].getStatus(), proto::RewardStatus::ERROR);
  EXPECT_NE(std::string(result.getRewards()[2].getDetail().cStr()).find("python"), std::string::npos);
}

TEST(VerifierWorkerTest, OtherMessagesAreRejected) {
  const VerifierRegistry registry = make_default_registry();
  VerifierWorker worker(registry);
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::Envelope>().initTrainBatch();
  EXPECT_EQ(worker.handle(message.getRoot<proto::Envelope>().asReader()).status().code(), StatusCode::kInvalidArgument);
}

TEST(VerifierWorkerTest, EveryVerdictStatusMapsToItsRewardStatus) {
  EXPECT_EQ(to_reward_status(VerdictStatus::kOk), proto::RewardStatus::OK);
  EXPECT_EQ(to_reward_status(VerdictStatus::kWrong), proto::RewardStatus::WRONG);
  EXPECT_EQ(to_reward_status(VerdictStatus::kTimeout), proto::RewardStatus::TIMEOUT);
  EXPECT_EQ(to_reward_status(VerdictStatus::kError), proto::RewardStatus::ERROR);
  EXPECT_EQ(to_reward_status(VerdictStatus::kSandboxViolation), proto::RewardStatus::SANDBOX_VIOLATION);
}

}  // namespace
} // namespace caravan::rewards
