#include "core/channel.h"

#include <gtest/gtest.h>

#include <thread>

using namespace std::chrono_literals;

namespace caravan::core {
namespace {

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_ = Channel::bind(context_, "tcp://127.0.0.1:*", {}).value();
    dealer_ = Channel::connect(context_, router_->endpoint(), "worker-0", {}).value();
  }
  // Sends `message` from the dealer and returns what the router receives.
  ReceivedMessage round_trip(capnp::MessageBuilder& message) {
    EXPECT_TRUE(dealer_->send(message).ok());
    auto got = router_->receive(5s);
    EXPECT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_TRUE(got->has_value());
    EXPECT_EQ((*got)->peer(), "worker-0");
    return std::move(**got);
  }
  zmq::context_t context_;
  std::unique_ptr<Channel> router_;
  std::unique_ptr<Channel> dealer_;
};

TEST_F(ChannelTest, EndpointResolvesTheWildcardPort) {
  EXPECT_EQ(router_->endpoint().rfind("tcp://127.0.0.1:", 0), 0u);
  EXPECT_EQ(router_->endpoint().find('*'), std::string::npos);
}

TEST_F(ChannelTest, HelloHeartbeatShutdownRoundTrip) {
  capnp::MallocMessageBuilder hello;
  auto h = hello.initRoot<proto::Envelope>().initHello();
  h.setRole(proto::Role::VERIFIER);
  h.setRank(3);
  h.setPid(4242);
  auto got = round_trip(hello);
  ASSERT_TRUE(got.envelope().isHello());
  EXPECT_EQ(got.envelope().getHello().getRole(), proto::Role::VERIFIER);
  EXPECT_EQ(got.envelope().getHello().getRank(), 3u);
  EXPECT_EQ(got.envelope().getHello().getPid(), 4242u);

  capnp::MallocMessageBuilder beat;
  auto b = beat.initRoot<proto::Envelope>().initHeartbeat();
  b.setRole(proto::Role::ROLLOUT);
  b.setPolicyVersion(17);
  got = round_trip(beat);
  ASSERT_TRUE(got.envelope().isHeartbeat());
  EXPECT_EQ(got.envelope().getHeartbeat().getPolicyVersion(), 17u);

  capnp::MallocMessageBuilder shutdown;
  shutdown.initRoot<proto::Envelope>().initShutdown().setReason("done");
  got = round_trip(shutdown);
  ASSERT_TRUE(got.envelope().isShutdown());
  EXPECT_STREQ(got.envelope().getShutdown().getReason().cStr(), "done");
}

TEST_F(ChannelTest, RolloutRequestAndCompletionRoundTrip) {
  capnp::MallocMessageBuilder request;
  auto r = request.initRoot<proto::Envelope>().initRolloutRequest();
  r.setRequestId(9);
  r.setSamplesPerPrompt(8);
  r.setMaxNewTokens(6);
  r.setTemperature(0.7f);
  r.setSeed(123);
  auto prompts = r.initPrompts(2);
  prompts[0].setPromptId(11);
  prompts[0].initTokens(3).set(2, 258);
  prompts[1].setPromptId(12);
  auto got = round_trip(request);
  auto rr = got.envelope().getRolloutRequest();
  EXPECT_EQ(rr.getRequestId(), 9u);
  EXPECT_EQ(rr.getSamplesPerPrompt(), 8u);
  EXPECT_EQ(rr.getMaxNewTokens(), 6u);
  EXPECT_FLOAT_EQ(rr.getTemperature(), 0.7f);
  EXPECT_EQ(rr.getSeed(), 123u);
  ASSERT_EQ(rr.getPrompts().size(), 2u);
  EXPECT_EQ(rr.getPrompts()[0].getTokens()[2], 258);
  EXPECT_EQ(rr.getPrompts()[1].getPromptId(), 12u);

  capnp::MallocMessageBuilder completion;
  auto c = completion.initRoot<proto::Envelope>().initCompletion();
  c.setRequestId(9);
  c.setGenerationSeconds(0.5);
  auto sample = c.initSamples(1)[0];
  sample.setPromptId(11);
  sample.setSampleIndex(5);
  sample.initTokens(2).set(1, 257);
  sample.initLogprobs(2).set(1, -0.25f);
  sample.setPolicyVersion(4);
  sample.setFinishReason(proto::FinishReason::STOP);
  got = round_trip(completion);
  auto s = got.envelope().getCompletion().getSamples()[0];
  EXPECT_EQ(s.getSampleIndex(), 5u);
  EXPECT_EQ(s.getTokens()[1], 257);
  EXPECT_FLOAT_EQ(s.getLogprobs()[1], -0.25f);
  EXPECT_EQ(s.getPolicyVersion(), 4u);
  EXPECT_EQ(s.getFinishReason(), proto::FinishReason::STOP);
}

TEST_F(ChannelTest, RewardRequestAndResultRoundTrip) {
  capnp::MallocMessageBuilder request;
  auto item = request.initRoot<proto::Envelope>().initRewardRequest().initItems(1)[0];
  item.setPromptId(3);
  item.setVerifier("arithmetic");
  item.setGroundTruth("42");
  item.setCompletion("答案 42");
  auto got = round_trip(request);
  auto i = got.envelope().getRewardRequest().getItems()[0];
  EXPECT_STREQ(i.getVerifier().cStr(), "arithmetic");
  EXPECT_STREQ(i.getCompletion().cStr(), "答案 42");

  capnp::MallocMessageBuilder result;
  auto reward = result.initRoot<proto::Envelope>().initRewardResult().initRewards(1)[0];
  reward.setScore(1.0f);
  reward.setStatus(proto::RewardStatus::TIMEOUT);
  reward.setDetail("deadline 1 ms");
  got = round_trip(result);
  auto rw = got.envelope().getRewardResult().getRewards()[0];
  EXPECT_EQ(rw.getStatus(), proto::RewardStatus::TIMEOUT);
  EXPECT_STREQ(rw.getDetail().cStr(), "deadline 1 ms");
}

TEST_F(ChannelTest, TrainBatchAndTrainResultRoundTrip) {
  capnp::MallocMessageBuilder batch;
  auto b = batch.initRoot<proto::Envelope>().initTrainBatch();
  b.setStep(7);
  auto group = b.initGroups(1)[0];
  group.setPromptId(5);
  group.initPromptTokens(1).set(0, 256);
  auto sample = group.initSamples(2)[1];
  sample.setReward(1.0f);
  sample.setPolicyVersion(6);
  sample.initLogprobs(1).set(0, -1.5f);
  auto got = round_trip(batch);
  auto g = got.envelope().getTrainBatch().getGroups()[0];
  EXPECT_EQ(got.envelope().getTrainBatch().getStep(), 7u);
  EXPECT_EQ(g.getPromptTokens()[0], 256);
  EXPECT_FLOAT_EQ(g.getSamples()[1].getReward(), 1.0f);
  EXPECT_FLOAT_EQ(g.getSamples()[1].getLogprobs()[0], -1.5f);

  capnp::MallocMessageBuilder result;
  auto r = result.initRoot<proto::Envelope>().initTrainResult();
  r.setPolicyVersion(8);
  r.setKlMean(0.125);
  got = round_trip(result);
  EXPECT_EQ(got.envelope().getTrainResult().getPolicyVersion(), 8u);
  EXPECT_DOUBLE_EQ(got.envelope().getTrainResult().getKlMean(), 0.125);
}

TEST_F(ChannelTest, WeightVersionCheckpointAndErrorMessagesRoundTrip) {
  capnp::MallocMessageBuilder sync;
  sync.initRoot<proto::Envelope>().initSyncWeights().setPolicyVersion(12);
  EXPECT_EQ(round_trip(sync).envelope().getSyncWeights().getPolicyVersion(), 12u);

  capnp::MallocMessageBuilder synced;
  auto s = synced.initRoot<proto::Envelope>().initWeightsSynced();
  s.setPolicyVersion(12);
  s.setBytes(1 << 20);
  auto got = round_trip(synced);
  EXPECT_EQ(got.envelope().getWeightsSynced().getBytes(), uint64_t{1} << 20);

  capnp::MallocMessageBuilder sft;
  sft.initRoot<proto::Envelope>().initSftRequest().setSteps(300);
  EXPECT_EQ(round_trip(sft).envelope().getSftRequest().getSteps(), 300u);

  capnp::MallocMessageBuilder save;
  save.initRoot<proto::Envelope>().initSaveCheckpoint().setDirectory("/runs/a/checkpoints/step-000003");
  EXPECT_STREQ(round_trip(save).envelope().getSaveCheckpoint().getDirectory().cStr(), "/runs/a/checkpoints/step-000003");

  capnp::MallocMessageBuilder saved;
  saved.initRoot<proto::Envelope>().initCheckpointSaved().setDirectory("/runs/x/checkpoints/step-000003");
  EXPECT_STREQ(round_trip(saved).envelope().getCheckpointSaved().getDirectory().cStr(),
               "/runs/x/checkpoints/step-000003");

  capnp::MallocMessageBuilder error;
  error.initRoot<proto::Envelope>().initErrorReply().setMessage("boom");
  EXPECT_STREQ(round_trip(error).envelope().getErrorReply().getMessage().cStr(), "boom");
}

TEST_F(ChannelTest, RouterRepliesToTheDealerByIdentity) {
  capnp::MallocMessageBuilder hello;
  hello.initRoot<proto::Envelope>().initHello();
  round_trip(hello);
  capnp::MallocMessageBuilder reply;
  reply.initRoot<proto::Envelope>().initShutdown().setReason("bye");
  ASSERT_TRUE(router_->send_to("worker-0", reply).ok());
  auto got = dealer_->receive(5s);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_STREQ((*got)->envelope().getShutdown().getReason().cStr(), "bye");
}

TEST_F(ChannelTest, ReceiveTimesOutEmpty) {
  const auto start = std::chrono::steady_clock::now();
  auto got = router_->receive(150ms);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 140ms);
}

TEST_F(ChannelTest, StopRequestInterruptsReceive) {
  std::stop_source source;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(100ms);
    source.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  auto got = router_->receive(30s, source.get_token());
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(ChannelTest, SendToUnknownPeerIsUnavailable) {
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::Envelope>().initShutdown();
  Status status = router_->send_to("nobody", message);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("nobody"), std::string::npos);
}

TEST_F(ChannelTest, PeerThatDisappearsBecomesUnavailable) {
  capnp::MallocMessageBuilder hello;
  hello.initRoot<proto::Envelope>().initHello();
  round_trip(hello);
  dealer_.reset();  // the worker goes away
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::Envelope>().initShutdown();
  // ZeroMQ notices the closed connection asynchronously; within a bounded time sends must fail.
  Status status;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    status = router_->send_to("worker-0", message);
    if (!status.ok()) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.to_string();
  EXPECT_NE(status.message().find("worker-0"), std::string::npos);
}

TEST(ReceivedMessageTest, MalformedBytesAreInvalidArgument) {
  const char odd[5] = {1, 2, 3, 4, 5};
  EXPECT_EQ(ReceivedMessage::decode("p", odd, sizeof(odd), 1 << 20).status().code(), StatusCode::kInvalidArgument);
  // A segment table claiming a segment far larger than the data.
  uint32_t lying[4] = {0, 1000, 0, 0};
  auto status = ReceivedMessage::decode("peer-x", lying, sizeof(lying), 1 << 20).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("peer-x"), std::string::npos);
}

TEST(ReceivedMessageTest, OversizedMessageIsRejected) {
  std::vector<uint64_t> words(64, 0);
  auto status = ReceivedMessage::decode("p", words.data(), words.size() * 8, 128).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("exceeds the limit"), std::string::npos);
}

}  // namespace
} // namespace caravan::core
