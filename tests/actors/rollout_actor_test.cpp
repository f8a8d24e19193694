#include "actors/rollout/rollout_actor.h"

#include <gtest/gtest.h>
#include <torch/utils.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "core/capnp_lists.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::rollout {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kMaxNewTokens = 12;

core::TransformerConfig tiny_config() { return caravan::testing::tiny_transformer_config(/*vocab_size=*/40); }

// In-process stand-in for the learner side of a weight broadcast: copies `source`'s values and
// adopts the announced version. hold_next() makes the next synchronize() wait inside the call
// until release(), so a test can pin the engine thread at a known point.
class GatedTransport : public model::WeightTransport {
 public:
  explicit GatedTransport(model::Llama source) : source_(std::move(source)) {}

  Result<model::WeightSyncStats> synchronize(model::LlamaImpl& model, uint64_t version,
                                             const model::WeightGroupSpec& /*group*/) override {
    {
      std::unique_lock lock(mutex_);
      if (hold_next_) {
        hold_next_ = false;
        held_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return !held_; });
      }
    }
    torch::NoGradGuard no_grad;
    auto targets = model.parameters();
    auto values = source_->parameters();
    for (size_t i = 0; i < targets.size(); ++i) targets[i].copy_(values[i]);
    return model::WeightSyncStats{.version = version};
  }
  void hold_next() {
    std::lock_guard lock(mutex_);
    hold_next_ = true;
  }
  // Waits until a synchronize() is held; false after 10 s.
  bool wait_held() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return held_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    held_ = false;
    changed_.notify_all();
  }

 private:
  model::Llama source_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool hold_next_ = false;  // Guarded by mutex_.
  bool held_ = false;       // Guarded by mutex_.
};

using Envelope = std::unique_ptr<capnp::MallocMessageBuilder>;

Envelope rollout_request(uint64_t id, uint64_t seed, const std::vector<std::vector<int32_t>>& prompts,
                         uint32_t samples, float temperature) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto request = message->initRoot<proto::Envelope>().initRolloutRequest();
  request.setRequestId(id);
  request.setSeed(seed);
  request.setSamplesPerPrompt(samples);
  request.setMaxNewTokens(kMaxNewTokens);
  request.setTemperature(temperature);
  auto list = request.initPrompts(static_cast<unsigned>(prompts.size()));
  for (unsigned p = 0; p < prompts.size(); ++p) {
    list[p].setPromptId(id * 100 + p);
    core::copy_into(list[p].initTokens(static_cast<unsigned>(prompts[p].size())), prompts[p]);
  }
  return message;
}

Envelope sync_weights(uint64_t id, uint64_t version) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto sync = message->initRoot<proto::Envelope>().initSyncWeights();
  sync.setRequestId(id);
  sync.setPolicyVersion(version);
  return message;
}

proto::Envelope::Reader read(const Envelope& message) { return message->getRoot<proto::Envelope>().asReader(); }

class RolloutActorTest : public ::testing::Test {
 protected:
  // The actor's initial weights are model(3); `source_seed` seeds the weights syncs install.
  void start(std::vector<int32_t> stop_ids, uint64_t source_seed = 3) {
    torch::manual_seed(static_cast<int64_t>(source_seed));
    transport_ = std::make_unique<GatedTransport>(model::Llama(tiny_config()));
    torch::manual_seed(3);
    actor_ = std::make_unique<RolloutActor>(model::Llama(tiny_config()), *transport_, outbox_,
                                            RolloutActorOptions{.stop_ids = std::move(stop_ids),
                                                                .engine = {.kv_cache_bytes = 1 << 20, .block_size = 4}});
  }
  Status accept(const Envelope& message) { return actor_->accept(read(message)); }
  // The next envelope the actor posted, waiting up to 10 s; null if none came.
  Envelope next_reply() {
    while (replies_.empty()) {
      if (!outbox_.wait(10s)) return nullptr;
      for (auto& message : outbox_.take()) replies_.push_back(std::move(message));
    }
    Envelope reply = std::move(replies_.front());
    replies_.pop_front();
    return reply;
  }
  // Whatever the actor has posted so far, without waiting.
  std::vector<Envelope> posted_now() {
    std::vector<Envelope> now;
    for (auto& message : replies_) now.push_back(std::move(message));
    replies_.clear();
    for (auto& message : outbox_.take()) now.push_back(std::move(message));
    return now;
  }
  // The next Completion envelope, skipping WeightsSynced replies.
  Envelope next_completion() {
    for (Envelope reply = next_reply(); reply != nullptr; reply = next_reply()) {
      if (read(reply).isCompletion()) return reply;
      EXPECT_TRUE(read(reply).isWeightsSynced()) << "unexpected reply kind " << static_cast<int>(read(reply).which());
    }
    return nullptr;
  }
  // Token ids of each sample of every Completion of `request_id`, keyed by (prompt id, sample).
  std::map<std::pair<uint64_t, uint32_t>, std::vector<int32_t>> tokens_of(uint64_t request_id, size_t groups) {
    std::map<std::pair<uint64_t, uint32_t>, std::vector<int32_t>> tokens;
    for (size_t g = 0; g < groups; ++g) {
      Envelope reply = next_completion();
      EXPECT_NE(reply, nullptr);
      if (reply == nullptr) break;
      const auto completion = read(reply).getCompletion();
      EXPECT_EQ(completion.getRequestId(), request_id);
      for (const auto sample : completion.getSamples()) {
        tokens[{sample.getPromptId(), sample.getSampleIndex()}] = core::to_vector(sample.getTokens());
      }
    }
    return tokens;
  }

  core::Outbox outbox_{"rollout-0"};
  std::unique_ptr<GatedTransport> transport_;
  std::unique_ptr<RolloutActor> actor_;  // Declared last: destroyed first.
  std::deque<Envelope> replies_;
};

TEST_F(RolloutActorTest, EachGroupComesBackAsItsOwnCompletionWithEverySampleTagged) {
  start({-1});  // no stop id can be sampled: every sample runs to maxNewTokens
  ASSERT_TRUE(accept(rollout_request(77, 1, {{1, 2, 3}, {4, 5}}, 3, 1.0f)).ok());
  std::set<uint64_t> prompts_seen;
  for (int g = 0; g < 2; ++g) {
    Envelope reply = next_completion();
    ASSERT_NE(reply, nullptr);
    const auto completion = read(reply).getCompletion();
    EXPECT_EQ(completion.getRequestId(), 77u);
    EXPECT_GT(completion.getGenerationSeconds(), 0.0);
    ASSERT_EQ(completion.getSamples().size(), 3u);
    const uint64_t prompt_id = completion.getSamples()[0].getPromptId();
    prompts_seen.insert(prompt_id);
    for (unsigned s = 0; s < 3; ++s) {
      const auto sample = completion.getSamples()[s];
      EXPECT_EQ(sample.getPromptId(), prompt_id);
      EXPECT_EQ(sample.getSampleIndex(), s);
      EXPECT_EQ(sample.getFinishReason(), proto::FinishReason::LENGTH);
      EXPECT_EQ(sample.getTokens().size(), kMaxNewTokens);
      EXPECT_EQ(sample.getLogprobs().size(), kMaxNewTokens);
      EXPECT_EQ(core::to_vector(sample.getTokenPolicyVersions()), std::vector<uint64_t>(kMaxNewTokens, 0));
      EXPECT_EQ(sample.getPolicyVersion(), 0u);
    }
  }
  EXPECT_EQ(prompts_seen, (std::set<uint64_t>{7700, 7701}));
}

// Greedy decoding of model(3): prompt {a} stops at its first token, prompt {b} never meets it.
struct ShortAndLong {
  int32_t short_prompt = -1;
  int32_t long_prompt = -1;
  int32_t stop_id = -1;
};
// Greedy tokens of model(3) after the one-token prompt {token}, never stopping early.
std::vector<int32_t> greedy_continuation(model::LlamaImpl& model, int32_t token) {
  Engine engine(model, {.block_size = 4}, /*num_blocks=*/16, nullptr, 0);
  const SamplingParams greedy{.temperature = 0.0, .max_new_tokens = kMaxNewTokens, .stop_ids = {-1}};
  CARAVAN_CHECK(engine.add({.id = 0, .prompt = {token}, .samples = {greedy}}).ok(), "greedy request refused");
  std::vector<SequenceOutput> done;
  while (done.empty()) done = engine.step();
  return done.front().tokens;
}

ShortAndLong find_short_and_long() {
  torch::manual_seed(3);
  model::Llama model(tiny_config());
  model->eval();
  for (int32_t a = 0; a < 38; ++a) {
    const int32_t stop_id = greedy_continuation(*model, a).front();
    for (int32_t b = 0; b < 38; ++b) {
      const std::vector<int32_t> continuation = greedy_continuation(*model, b);
      if (std::find(continuation.begin(), continuation.end(), stop_id) == continuation.end()) return {a, b, stop_id};
    }
  }
  return {};
}

TEST_F(RolloutActorTest, AGroupThatStopsEarlyIsSentBeforeTheRestOfTheBatchEnds) {
  const ShortAndLong pick = find_short_and_long();
  ASSERT_GE(pick.stop_id, 0) << "no prompt pair with a short and a long greedy completion";
  start({pick.stop_id});  // syncs install the same weights: only the version changes
  // Pin the engine inside a first sync, queue the request and a second sync behind it.
  transport_->hold_next();
  ASSERT_TRUE(accept(sync_weights(1, 1)).ok());
  ASSERT_TRUE(transport_->wait_held());
  ASSERT_TRUE(accept(rollout_request(5, 0, {{pick.long_prompt}, {pick.short_prompt}}, 1, 0.0f)).ok());
  transport_->hold_next();
  ASSERT_TRUE(accept(sync_weights(2, 2)).ok());
  transport_->release();
  // The short group ends at decode step 0; the engine then stops in the second sync, between
  // steps 0 and 1, so the long group is provably still generating.
  ASSERT_TRUE(transport_->wait_held());
  std::vector<Envelope> before_step_1 = posted_now();
  ASSERT_EQ(before_step_1.size(), 2u);
  EXPECT_EQ(read(before_step_1[0]).getWeightsSynced().getPolicyVersion(), 1u);
  const auto short_group = read(before_step_1[1]).getCompletion();
  ASSERT_EQ(short_group.getSamples().size(), 1u);
  EXPECT_EQ(short_group.getRequestId(), 5u);
  EXPECT_EQ(short_group.getSamples()[0].getPromptId(), 501u);
  EXPECT_EQ(short_group.getSamples()[0].getFinishReason(), proto::FinishReason::STOP);
  EXPECT_EQ(core::to_vector(short_group.getSamples()[0].getTokens()), std::vector<int32_t>{pick.stop_id});
  EXPECT_EQ(actor_->active_requests(), (std::vector<uint64_t>{5, 2}));
  transport_->release();

  Envelope synced = next_reply();
  ASSERT_NE(synced, nullptr);
  EXPECT_EQ(read(synced).getWeightsSynced().getRequestId(), 2u);
  Envelope long_reply = next_completion();
  ASSERT_NE(long_reply, nullptr);
  const auto long_sample = read(long_reply).getCompletion().getSamples()[0];
  EXPECT_EQ(long_sample.getPromptId(), 500u);
  EXPECT_EQ(long_sample.getFinishReason(), proto::FinishReason::LENGTH);
  EXPECT_LT(short_group.getGenerationSeconds(), read(long_reply).getCompletion().getGenerationSeconds());
}

TEST_F(RolloutActorTest, WeightsArrivingMidGenerationAreInstalledBetweenDecodeSteps) {
  start({-1}, /*source_seed=*/11);  // syncs install different weights
  transport_->hold_next();
  ASSERT_TRUE(accept(sync_weights(1, 4)).ok());
  ASSERT_TRUE(transport_->wait_held());
  ASSERT_TRUE(accept(rollout_request(6, 9, {{1, 2, 3}}, 2, 1.0f)).ok());
  ASSERT_TRUE(accept(sync_weights(2, 5)).ok());  // queued behind the request: installed after step 0
  transport_->release();
  Envelope first = next_reply();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(read(first).getWeightsSynced().getPolicyVersion(), 4u);
  Envelope second = next_reply();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(read(second).getWeightsSynced().getPolicyVersion(), 5u);
  EXPECT_EQ(actor_->policy_version(), 5u);
  Envelope reply = next_completion();
  ASSERT_NE(reply, nullptr);
  std::vector<uint64_t> expected(kMaxNewTokens, 5);
  expected[0] = 4;  // decode step 0 ran before the second sync
  for (const auto sample : read(reply).getCompletion().getSamples()) {
    EXPECT_EQ(core::to_vector(sample.getTokenPolicyVersions()), expected);
    EXPECT_EQ(sample.getPolicyVersion(), 4u);
  }
}

TEST_F(RolloutActorTest, ARequestSamplesTheSameTokensAloneOrBatchedWithOthers) {
  start({-1});
  const auto request = rollout_request(7, 42, {{1, 2, 3}, {4}}, 2, 1.0f);
  ASSERT_TRUE(accept(request).ok());
  const auto alone = tokens_of(7, 2);
  ASSERT_EQ(alone.size(), 4u);
  EXPECT_NE(alone.at({700, 0}), alone.at({700, 1})) << "samples of a group share a generator";

  // The same request queued with another one (other prompts, lengths and seed): one batch.
  transport_->hold_next();
  ASSERT_TRUE(accept(sync_weights(1, 0)).ok());
  ASSERT_TRUE(transport_->wait_held());
  ASSERT_TRUE(accept(rollout_request(8, 5, {{9, 9, 9, 9, 9, 9}, {3, 1}}, 3, 1.0f)).ok());
  ASSERT_TRUE(accept(request).ok());
  transport_->release();
  std::map<std::pair<uint64_t, uint32_t>, std::vector<int32_t>> batched;
  for (int g = 0; g < 4; ++g) {
    Envelope reply = next_completion();
    ASSERT_NE(reply, nullptr);
    const auto completion = read(reply).getCompletion();
    if (completion.getRequestId() != 7) continue;
    for (const auto sample : completion.getSamples()) {
      batched[{sample.getPromptId(), sample.getSampleIndex()}] = core::to_vector(sample.getTokens());
    }
  }
  EXPECT_EQ(batched, alone);
}

TEST_F(RolloutActorTest, InvalidRequestsAreRejectedNamingTheField) {
  start({-1});
  Status status = accept(rollout_request(1, 0, {{1, 2}, {3, 400}}, 1, 1.0f));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("prompts[1].tokens[1] = 400"), std::string::npos) << status.message();
  status = accept(rollout_request(2, 0, {std::vector<int32_t>(25, 1)}, 1, 1.0f));
  EXPECT_NE(status.message().find("exceed the context"), std::string::npos) << status.message();
  status = accept(rollout_request(3, 0, {{1}}, 0, 1.0f));
  EXPECT_NE(status.message().find("samplesPerPrompt"), std::string::npos) << status.message();
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::Envelope>().initTrainBatch();
  EXPECT_EQ(actor_->accept(message.getRoot<proto::Envelope>().asReader()).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(actor_->active_requests().empty());
}

TEST_F(RolloutActorTest, StopEndsTheEngineMidGeneration) {
  start({-1});
  transport_->hold_next();
  ASSERT_TRUE(accept(sync_weights(1, 1)).ok());
  ASSERT_TRUE(transport_->wait_held());
  ASSERT_TRUE(accept(rollout_request(9, 0, {{1}}, 1, 1.0f)).ok());
  transport_->hold_next();
  ASSERT_TRUE(accept(sync_weights(2, 2)).ok());
  transport_->release();
  ASSERT_TRUE(transport_->wait_held());  // between decode steps 0 and 1
  EXPECT_FALSE(actor_->stop_within(50ms)) << "the engine is held inside a sync";
  transport_->release();
  EXPECT_TRUE(actor_->stop_within(10s));
}

}  // namespace
} // namespace caravan::rollout
