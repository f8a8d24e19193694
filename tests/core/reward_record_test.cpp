#include "core/reward_record.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace caravan::core {
namespace {

using nlohmann::json;

TEST(RewardRecordTest, ListsEveryFieldOfTheBreakdown) {
  capnp::MallocMessageBuilder message;
  auto reward = message.initRoot<proto::Reward>();
  reward.setPromptId(3);
  reward.setVerifier("math");
  reward.setStatus(proto::RewardStatus::OK);
  reward.setDetail("expected 4, got 4");
  reward.setRawScore(1.0f);
  auto steps = reward.initAdjustments(2);
  steps[0].setName("weight");
  steps[0].setValue(0.1f);
  steps[1].setName("overlong");
  steps[1].setValue(-0.25f);
  reward.setScore(-0.15f);
  reward.setTrainable(true);
  reward.setConfigVersion("0123456789ab");

  const json record = reward_record(reward.asReader());
  // float32 values as their shortest decimals: 0.1f is written 0.1, not 0.10000000149011612.
  EXPECT_EQ(record, json::parse(R"({"verifier": "math", "status": "ok", "detail": "expected 4, got 4",
                                    "raw_score": 1.0,
                                    "steps": [{"name": "weight", "value": 0.1}, {"name": "overlong", "value": -0.25}],
                                    "final_reward": -0.15, "trainable": true, "config_version": "0123456789ab"})"))
      << record.dump();
}

TEST(RewardRecordTest, AnUntrainableSampleSaysSo) {
  capnp::MallocMessageBuilder message;
  auto reward = message.initRoot<proto::Reward>();
  reward.setVerifier("code");
  reward.setStatus(proto::RewardStatus::TIMEOUT);
  const json record = reward_record(reward.asReader());
  EXPECT_EQ(record["status"], "timeout");
  EXPECT_EQ(record["trainable"], false);
  EXPECT_EQ(record["steps"], json::array());
  EXPECT_EQ(record["config_version"], "");
}

TEST(RewardRecordTest, EveryStatusHasItsName) {
  EXPECT_STREQ(reward_status_name(proto::RewardStatus::OK), "ok");
  EXPECT_STREQ(reward_status_name(proto::RewardStatus::WRONG), "wrong");
  EXPECT_STREQ(reward_status_name(proto::RewardStatus::TIMEOUT), "timeout");
  EXPECT_STREQ(reward_status_name(proto::RewardStatus::ERROR), "error");
  EXPECT_STREQ(reward_status_name(proto::RewardStatus::SANDBOX_VIOLATION), "sandbox_violation");
}

}  // namespace
} // namespace caravan::core
