#include "actors/controller/ledger.h"

#include <gtest/gtest.h>

namespace caravan::controller {
namespace {

GeneratedSample sample(uint32_t index, uint64_t version = 3) {
  GeneratedSample s;
  s.index = index;
  s.tokens = {7, 8};
  s.logprobs = {-0.1f, -0.2f};
  s.token_versions = {version, version + 1};
  s.finish_reason = proto::FinishReason::STOP;
  s.text = "78";
  return s;
}

SampleReward reward(float score) {
  SampleReward r;
  r.score = score;
  r.status = score > 0 ? proto::RewardStatus::OK : proto::RewardStatus::WRONG;
  r.trainable = true;
  r.record = {{"score", score}};
  return r;
}

TEST(Ledger, GroupMovesThroughEveryStateAndLeavesWhenTrained) {
  Ledger ledger(2);
  ledger.add(5);
  EXPECT_EQ(ledger.counts().at(SampleState::kQueued), 2u);
  EXPECT_EQ(ledger.queued(10), std::vector<uint64_t>{5});
  ledger.start_generation(5);
  EXPECT_TRUE(ledger.expects_generation(5));
  ASSERT_TRUE(ledger.record_generation(5, {sample(1), sample(0)}).ok());
  EXPECT_EQ(ledger.counts().at(SampleState::kVerifying), 2u);
  EXPECT_EQ(ledger.group(5).samples[1].generated.policy_version(), 3u);
  ledger.record_reward(5, 1, reward(0), std::nullopt);
  EXPECT_FALSE(ledger.ready(5));
  EXPECT_FALSE(ledger.expects_reward(5, 1));  // a duplicate reward is not expected
  ledger.record_reward(5, 0, reward(1), std::nullopt);
  EXPECT_TRUE(ledger.ready(5));
  EXPECT_EQ(ledger.counts().at(SampleState::kBuffered), 2u);
  ledger.mark_trained(5);
  EXPECT_FALSE(ledger.contains(5));
  EXPECT_EQ(ledger.counts().at(SampleState::kTrained), 2u);
}

TEST(Ledger, DroppedGroupLeavesWithItsSamplesCountedOnceEach) {
  Ledger ledger(3);
  ledger.add(4);
  ledger.start_generation(4);
  ASSERT_TRUE(ledger.record_generation(4, {sample(0), sample(1), sample(2)}).ok());
  ledger.record_reward(4, 0, reward(0), std::nullopt);
  ledger.record_reward(4, 1, reward(0), DropReason::kUnjudged);
  ledger.record_reward(4, 2, reward(0), std::nullopt);
  ledger.drop_group(4, DropReason::kUninformative);
  EXPECT_FALSE(ledger.contains(4));
  EXPECT_EQ(ledger.drops(DropReason::kUninformative), 2u);
  EXPECT_EQ(ledger.drops(DropReason::kUnjudged), 1u);
  EXPECT_EQ(ledger.counts().at(SampleState::kDropped), 3u);
  EXPECT_EQ(ledger.counts().at(SampleState::kTrained), 0u);
  // A checkpoint written before the reason existed reads as none dropped for it.
  nlohmann::json old = Ledger(3).to_json();
  old.at("drops").erase("uninformative");
  const auto restored = Ledger::from_json(old, 3);
  ASSERT_TRUE(restored.ok()) << restored.status().to_string();
  EXPECT_EQ(restored->drops(DropReason::kUninformative), 0u);
}

TEST(Ledger, CompletionWithMissingOrRepeatedSampleIsRejectedAndChangesNothing) {
  Ledger ledger(2);
  ledger.add(1);
  ledger.start_generation(1);
  EXPECT_FALSE(ledger.record_generation(1, {sample(0)}).ok());
  const Status repeated = ledger.record_generation(1, {sample(0), sample(0)});
  EXPECT_NE(repeated.message().find("appears twice"), std::string::npos);
  EXPECT_FALSE(ledger.record_generation(1, {sample(0), sample(2)}).ok());
  EXPECT_TRUE(ledger.expects_generation(1));
}

TEST(Ledger, RequeueDiscardsTheGenerationAndCountsStaleDrops) {
  Ledger ledger(2);
  ledger.add(1);
  ledger.start_generation(1);
  ASSERT_TRUE(ledger.record_generation(1, {sample(0), sample(1)}).ok());
  ledger.requeue(1, DropReason::kStale);
  EXPECT_EQ(ledger.group(1).state(), SampleState::kQueued);
  EXPECT_EQ(ledger.group(1).regenerations, 1u);
  EXPECT_TRUE(ledger.group(1).samples[0].generated.tokens.empty());
  EXPECT_EQ(ledger.drops(DropReason::kStale), 2u);
  ledger.start_generation(1);
  ledger.requeue(1);  // a lost worker: not a drop
  EXPECT_EQ(ledger.drops(DropReason::kStale), 2u);
}

TEST(Ledger, DroppedSamplesAreCountedWhenTheirGroupIsTrained) {
  Ledger ledger(2);
  ledger.add(1);
  ledger.start_generation(1);
  ASSERT_TRUE(ledger.record_generation(1, {sample(0), sample(1)}).ok());
  ledger.record_reward(1, 0, reward(1), std::nullopt);
  ledger.record_reward(1, 1, reward(0), DropReason::kUnjudged);
  EXPECT_TRUE(ledger.ready(1));
  ledger.mark_trained(1);
  EXPECT_EQ(ledger.drops(DropReason::kUnjudged), 1u);
  EXPECT_EQ(ledger.counts().at(SampleState::kTrained), 1u);
  EXPECT_EQ(ledger.counts().at(SampleState::kDropped), 1u);
}

TEST(Ledger, CheckpointKeepsBufferedGroupsAndRequeuesUnfinishedOnes) {
  Ledger ledger(2);
  for (uint64_t key : {1, 2, 3}) ledger.add(key);
  ledger.start_generation(1);
  ASSERT_TRUE(ledger.record_generation(1, {sample(0), sample(1)}).ok());
  ledger.record_reward(1, 0, reward(1), std::nullopt);
  ledger.record_reward(1, 1, reward(0), DropReason::kOverLength);
  ledger.start_generation(2);
  ASSERT_TRUE(ledger.record_generation(2, {sample(0), sample(1)}).ok());  // verifying
  ledger.requeue(3, DropReason::kStale);

  auto restored = Ledger::from_json(nlohmann::json::parse(ledger.to_json().dump()), 2);
  ASSERT_TRUE(restored.ok()) << restored.status().to_string();
  EXPECT_TRUE(restored->ready(1));
  const LedgerSample& kept = restored->group(1).samples[1];
  EXPECT_EQ(kept.state, SampleState::kDropped);
  EXPECT_EQ(kept.drop_reason, DropReason::kOverLength);
  EXPECT_EQ(kept.generated.token_versions, (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(restored->group(1).samples[0].reward.status, proto::RewardStatus::OK);
  EXPECT_EQ(restored->group(2).state(), SampleState::kQueued);
  EXPECT_EQ(restored->group(3).regenerations, 1u);
  EXPECT_EQ(restored->drops(DropReason::kStale), 2u);
}

TEST(Ledger, CheckpointKeepsTheFinishReasonAndReadsTheOlderStoppedFlag) {
  Ledger ledger(2);
  ledger.add(1);
  ledger.start_generation(1);
  GeneratedSample by_string = sample(1);
  by_string.finish_reason = proto::FinishReason::STOP_STRING;
  ASSERT_TRUE(ledger.record_generation(1, {sample(0), by_string}).ok());
  ledger.record_reward(1, 0, reward(1), std::nullopt);
  ledger.record_reward(1, 1, reward(1), std::nullopt);
  nlohmann::json json = nlohmann::json::parse(ledger.to_json().dump());
  auto restored = Ledger::from_json(json, 2);
  ASSERT_TRUE(restored.ok()) << restored.status().to_string();
  EXPECT_EQ(restored->group(1).samples[0].generated.finish_reason, proto::FinishReason::STOP);
  EXPECT_EQ(restored->group(1).samples[1].generated.finish_reason, proto::FinishReason::STOP_STRING);
  // Checkpoints written before stop strings carry "stopped" instead.
  nlohmann::json& old_sample = json["groups"][0]["samples"][1];
  old_sample.erase("finish_reason");
  old_sample["stopped"] = false;
  restored = Ledger::from_json(json, 2);
  ASSERT_TRUE(restored.ok()) << restored.status().to_string();
  EXPECT_EQ(restored->group(1).samples[1].generated.finish_reason, proto::FinishReason::LENGTH);
  old_sample.erase("stopped");
  old_sample["finish_reason"] = "eos";
  EXPECT_NE(Ledger::from_json(json, 2).status().message().find("finish_reason"), std::string::npos);
}

TEST(Ledger, MalformedCheckpointNamesTheField) {
  Ledger ledger(2);
  ledger.add(1);
  nlohmann::json json = ledger.to_json();
  EXPECT_NE(Ledger::from_json(json, 4).status().message().find("group_size"), std::string::npos);
  json["groups"].push_back({{"key", 1}, {"regenerations", 0}});
  EXPECT_NE(Ledger::from_json(json, 2).status().message().find("groups[1]"), std::string::npos);
}

}  // namespace
}  // namespace caravan::controller
