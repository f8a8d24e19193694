#include "actors/rollout/rollout_worker.h"

#include <gtest/gtest.h>
#include <torch/utils.h>

namespace caravan::rollout {
namespace {

core::TransformerConfig tiny_config() {
  core::TransformerConfig config;
  config.vocab_size = 40;
  config.hidden_size = 16;
  config.intermediate_size = 32;
  config.num_layers = 1;
  config.num_heads = 2;
  config.num_kv_heads = 1;
  config.max_position_embeddings = 16;
  return config;
}

// In-process stand-in for the learner side of a weight broadcast: copies `source`'s values.
class CopyingTransport : public model::WeightTransport {
 public:
  CopyingTransport(model::Llama source, uint64_t version) : source_(std::move(source)), version_(version) {}
  Result<model::WeightSyncStats> synchronize(model::LlamaImpl& model, uint64_t, const model::WeightGroupSpec&) override {
    torch::NoGradGuard no_grad;
    auto targets = model.parameters();
    auto values = source_->parameters();
    for (size_t i = 0; i < targets.size(); ++i) targets[i].copy_(values[i]);
    return model::WeightSyncStats{.version = version_};
  }

 private:
  model::Llama source_;
  uint64_t version_;
};

class RolloutWorkerTest : public ::testing::Test {
 protected:
  RolloutWorkerTest() : transport_(model::Llama(tiny_config()), 5) {}
  // Builds a RolloutRequest of 3 samples per prompt into request_.
  void make_request(std::vector<std::vector<int32_t>> prompts) {
    auto request = request_->initRoot<proto::Envelope>().initRolloutRequest();
    request.setRequestId(77);
    request.setSamplesPerPrompt(3);
    request.setMaxNewTokens(4);
    request.setTemperature(1.0f);
    auto list = request.initPrompts(static_cast<unsigned>(prompts.size()));
    for (unsigned p = 0; p < prompts.size(); ++p) {
      list[p].setPromptId(100 + p);
      auto tokens = list[p].initTokens(static_cast<unsigned>(prompts[p].size()));
      for (unsigned t = 0; t < prompts[p].size(); ++t) tokens.set(t, prompts[p][t]);
    }
  }
  proto::Envelope::Reader request_reader() { return request_->getRoot<proto::Envelope>().asReader(); }
  // Held by pointer: KJ destructors are noexcept(false), which a gtest fixture cannot have.
  std::unique_ptr<capnp::MallocMessageBuilder> request_ = std::make_unique<capnp::MallocMessageBuilder>();
  CopyingTransport transport_;
  RolloutWorker worker_{model::Llama(tiny_config()), transport_, {.stop_ids = {39}, .pad_id = 38}};
};

TEST_F(RolloutWorkerTest, CompletionHasEveryGroupMemberTaggedWithThePolicyVersion) {
  make_request({{1, 2, 3}, {4, 5}});
  auto reply = worker_.handle(request_reader());
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  const auto completion = (*reply)->getRoot<proto::Envelope>().asReader().getCompletion();
  EXPECT_EQ(completion.getRequestId(), 77u);
  ASSERT_EQ(completion.getSamples().size(), 6u);
  for (unsigned i = 0; i < 6; ++i) {
    const auto sample = completion.getSamples()[i];
    EXPECT_EQ(sample.getPromptId(), 100u + i / 3);
    EXPECT_EQ(sample.getSampleIndex(), i % 3);
    EXPECT_EQ(sample.getPolicyVersion(), 0u);
    EXPECT_EQ(sample.getTokens().size(), sample.getLogprobs().size());
    EXPECT_GE(sample.getTokens().size(), 1u);
    EXPECT_LE(sample.getTokens().size(), 4u);
  }
}

TEST_F(RolloutWorkerTest, SyncWeightsAdoptsTheSourceVersionForLaterSamples) {
  capnp::MallocMessageBuilder sync;
  auto body = sync.initRoot<proto::Envelope>().initSyncWeights();
  body.setRequestId(3);
  body.setPolicyVersion(5);
  auto reply = worker_.handle(sync.getRoot<proto::Envelope>().asReader());
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  EXPECT_EQ((*reply)->getRoot<proto::Envelope>().asReader().getWeightsSynced().getPolicyVersion(), 5u);
  EXPECT_EQ(worker_.policy_version(), 5u);
  make_request({{1, 2}});
  auto completion = worker_.handle(request_reader());
  ASSERT_TRUE(completion.ok());
  EXPECT_EQ((*completion)->getRoot<proto::Envelope>().asReader().getCompletion().getSamples()[0].getPolicyVersion(), 5u);
}

TEST_F(RolloutWorkerTest, OutOfVocabularyTokenIsRejectedNamingIt) {
  make_request({{1, 2}, {3, 400}});
  auto reply = worker_.handle(request_reader());
  EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(reply.status().message().find("prompts[1].tokens[1] = 400"), std::string::npos) << reply.status().message();
}

TEST_F(RolloutWorkerTest, PromptBeyondTheContextIsRejected) {
  make_request({std::vector<int32_t>(14, 1)});
  auto reply = worker_.handle(request_reader());
  EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(reply.status().message().find("exceed the context"), std::string::npos) << reply.status().message();
}

TEST_F(RolloutWorkerTest, MessagesOfOtherRolesAreRejected) {
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::Envelope>().initTrainBatch();
  EXPECT_EQ(worker_.handle(message.getRoot<proto::Envelope>().asReader()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
} // namespace caravan::rollout
