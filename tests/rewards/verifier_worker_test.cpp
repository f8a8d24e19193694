#include "rewards/verifier_worker.h"
#include "rewards/verifier_role.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "tests/common/temp_dir.h"
#include "tests/rewards/blocking_verifier.h"
#include "tests/rewards/echo_score_verifier.h"

namespace caravan::rewards {
namespace {

using std::chrono::seconds;

// Item i of n (completion "i") returns only after items i+1..n-1 have returned, so a request's
// items finish in reverse order on a pool with n threads.
class ReverseOrderVerifier : public Verifier {
 public:
  explicit ReverseOrderVerifier(int items) : items_(items) {}
  std::string_view name() const override { return "reverse"; }
  Verdict verify(std::string_view completion, std::string_view) const override {
    const int index = std::stoi(std::string(completion));
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return finished_ == items_ - 1 - index; });
    ++finished_;
    changed_.notify_all();
    return {static_cast<double>(index), VerdictStatus::kOk, str_cat("finished #", finished_)};
  }

 private:
  const int items_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  mutable int finished_ = 0;  // Guarded by mutex_.
};

constexpr int kReverseItems = 4;

class VerifierWorkerTest : public ::testing::Test {
 protected:
  VerifierWorkerTest() : registry_(make_default_registry()) {
    auto blocking = std::make_unique<BlockingVerifier>();
    blocking_ = blocking.get();
    EXPECT_TRUE(registry_.add(std::move(blocking)).ok());
    EXPECT_TRUE(registry_.add(std::make_unique<ReverseOrderVerifier>(kReverseItems)).ok());
    EXPECT_TRUE(registry_.add(std::make_unique<EchoScoreVerifier>()).ok());
  }

  // A RewardRequest envelope; item i gets sample index i and completion `completions[i]`.
  static std::unique_ptr<capnp::MallocMessageBuilder> request(uint64_t id, const std::vector<std::string>& verifiers,
                                                              const std::vector<std::string>& completions) {
    auto message = std::make_unique<capnp::MallocMessageBuilder>();
    auto body = message->initRoot<proto::Envelope>().initRewardRequest();
    body.setRequestId(id);
    auto items = body.initItems(static_cast<unsigned>(completions.size()));
    for (unsigned i = 0; i < completions.size(); ++i) {
      items[i].setPromptId(7);
      items[i].setSampleIndex(i);
      items[i].setVerifier(verifiers[i]);
      items[i].setGroundTruth("82");
      items[i].setCompletion(completions[i]);
    }
    return message;
  }

  static proto::Envelope::Reader envelope(capnp::MallocMessageBuilder& message) {
    return message.getRoot<proto::Envelope>().asReader();
  }

  // Handles `message` and expects it to be queued (no immediate reply).
  static void expect_queued(VerifierWorker& worker, capnp::MallocMessageBuilder& message) {
    auto immediate = worker.handle(envelope(message));
    ASSERT_TRUE(immediate.ok()) << immediate.status().to_string();
    EXPECT_FALSE(immediate->has_value());
  }

  // Polls until `count` replies arrived (at most 10 s).
  static std::vector<VerifierWorker::Reply> wait_replies(VerifierWorker& worker, size_t count) {
    std::vector<VerifierWorker::Reply> replies;
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (replies.size() < count && std::chrono::steady_clock::now() < deadline) {
      for (auto& reply : worker.poll_finished({}, std::chrono::milliseconds(100))) replies.push_back(std::move(reply));
    }
    EXPECT_EQ(replies.size(), count);
    return replies;
  }

  VerifierRegistry registry_;
  BlockingVerifier* blocking_ = nullptr;
  metrics::Registry metrics_registry_;
  VerifierMetrics metrics_{metrics_registry_};
};

TEST_F(VerifierWorkerTest, ScoresEveryItemInOrderWithStatusAndDetail) {
  VerifierPool pool(registry_, metrics_, {.threads = 2, .queue_capacity = 16});
  VerifierWorker worker(pool);
  auto message = request(42, {"arithmetic", "arithmetic", "python"}, {"82", "#### 81", "the answer is 82"});
  expect_queued(worker, *message);
  EXPECT_EQ(worker.pending_requests(), 1u);
  auto replies = wait_replies(worker, 1);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(worker.pending_requests(), 0u);
  const auto result = envelope(*replies[0]).getRewardResult();
  EXPECT_EQ(result.getRequestId(), 42u);
  ASSERT_EQ(result.getRewards().size(), 3u);
  EXPECT_EQ(result.getRewards()[0].getStatus(), proto::RewardStatus::OK);
  EXPECT_FLOAT_EQ(result.getRewards()[0].getScore(), 1.0f);
  EXPECT_EQ(result.getRewards()[1].getStatus(), proto::RewardStatus::WRONG);
  EXPECT_FLOAT_EQ(result.getRewards()[1].getScore(), 0.0f);
  EXPECT_EQ(result.getRewards()[1].getSampleIndex(), 1u);
  EXPECT_EQ(result.getRewards()[1].getPromptId(), 7u);
  // An unknown verifier is an error naming it, not a silent zero.
  EXPECT_EQ(result.getRewards()[2].getStatus(), proto::RewardStatus::ERROR);
  EXPECT_NE(std::string(result.getRewards()[2].getDetail().cStr()).find("python"), std::string::npos);
}

TEST_F(VerifierWorkerTest, ResultsAreInRequestOrderWhateverTheFinishingOrder) {
  VerifierPool pool(registry_, metrics_, {.threads = kReverseItems, .queue_capacity = 16});
  VerifierWorker worker(pool);
  auto message = request(5, std::vector<std::string>(kReverseItems, "reverse"), {"0", "1", "2", "3"});
  expect_queued(worker, *message);
  auto replies = wait_replies(worker, 1);
  ASSERT_EQ(replies.size(), 1u);
  const auto rewards = envelope(*replies[0]).getRewardResult().getRewards();
  ASSERT_EQ(rewards.size(), static_cast<unsigned>(kReverseItems));
  for (unsigned i = 0; i < rewards.size(); ++i) {
    EXPECT_EQ(rewards[i].getSampleIndex(), i);
    EXPECT_FLOAT_EQ(rewards[i].getScore(), static_cast<float>(i));
    // Item 0 finished last.
    EXPECT_EQ(std::string(rewards[i].getDetail().cStr()), str_cat("finished #", kReverseItems - i));
  }
}

TEST_F(VerifierWorkerTest, RepliesBusyWhenThePoolIsFullThenAnswersTheAcceptedRequests) {
  VerifierPool pool(registry_, metrics_, {.threads = 1, .queue_capacity = 2});
  VerifierWorker worker(pool);
  auto first = request(1, {"blocking"}, {"a"});
  expect_queued(worker, *first);
  blocking_->wait_entered(1);
  auto second = request(2, {"blocking", "blocking"}, {"b", "c"});
  expect_queued(worker, *second);

  auto third = request(3, {"blocking"}, {"d"});
  auto busy = worker.handle(envelope(*third));
  ASSERT_TRUE(busy.ok()) << busy.status().to_string();
  ASSERT_TRUE(busy->has_value());
  const auto error = envelope(***busy);
  ASSERT_TRUE(error.isErrorReply());
  EXPECT_EQ(error.getErrorReply().getRequestId(), 3u);
  const std::string text = error.getErrorReply().getMessage().cStr();
  EXPECT_EQ(text.rfind("RESOURCE_EXHAUSTED: verifier busy", 0), 0u) << text;
  // Back-pressure, not failure: the controller resends after this delay.
  EXPECT_EQ(error.getErrorReply().getRetryAfterMs(), static_cast<uint32_t>(kBusyRetryAfter.count()));
  EXPECT_EQ(worker.pending_requests(), 2u);
  EXPECT_EQ(metrics_.rejected().value(), 1);

  blocking_->open();
  auto replies = wait_replies(worker, 2);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(envelope(*replies[0]).getRewardResult().getRequestId(), 1u);
  EXPECT_EQ(envelope(*replies[1]).getRewardResult().getRequestId(), 2u);
  EXPECT_EQ(std::string(envelope(*replies[1]).getRewardResult().getRewards()[1].getDetail().cStr()), "c");
}

TEST_F(VerifierWorkerTest, WithoutARewardConfigTheVerifierScoreIsTheRewardWithItsBreakdown) {
  VerifierPool pool(registry_, metrics_, {.threads = 1, .queue_capacity = 16});
  VerifierWorker worker(pool);
  auto message = request(1, {"arithmetic"}, {"#### 82"});
  expect_queued(worker, *message);
  auto replies = wait_replies(worker, 1);
  ASSERT_EQ(replies.size(), 1u);
  const auto reward = envelope(*replies[0]).getRewardResult().getRewards()[0];
  EXPECT_EQ(std::string(reward.getVerifier().cStr()), "arithmetic");
  EXPECT_FLOAT_EQ(reward.getRawScore(), 1.0f);
  EXPECT_FLOAT_EQ(reward.getScore(), 1.0f);
  ASSERT_EQ(reward.getAdjustments().size(), 1u);
  EXPECT_EQ(std::string(reward.getAdjustments()[0].getName().cStr()), "weight");
  EXPECT_EQ(std::string(reward.getConfigVersion().cStr()), "");
}

TEST_F(VerifierWorkerTest, ANonFiniteScoreLeavesTheVerifierAsAnUntrainableError) {
  VerifierPool pool(registry_, metrics_, {.threads = 2, .queue_capacity = 16});
  VerifierWorker worker(pool);
  auto message = request(3, std::vector<std::string>(4, "echo_score"), {"nan", "inf", "-inf", "0.5"});
  expect_queued(worker, *message);
  auto replies = wait_replies(worker, 1);
  ASSERT_EQ(replies.size(), 1u);
  const auto rewards = envelope(*replies[0]).getRewardResult().getRewards();
  ASSERT_EQ(rewards.size(), 4u);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(rewards[i].getStatus(), proto::RewardStatus::ERROR) << i;
    EXPECT_FALSE(rewards[i].getTrainable()) << i;
    EXPECT_TRUE(std::isfinite(rewards[i].getScore()) && std::isfinite(rewards[i].getRawScore())) << i;
    EXPECT_EQ(rewards[i].getScore(), 0.0f) << i;
  }
  EXPECT_EQ(rewards[3].getStatus(), proto::RewardStatus::OK);
  EXPECT_TRUE(rewards[3].getTrainable());
  EXPECT_FLOAT_EQ(rewards[3].getScore(), 0.5f);
}

// Items of sources "gsm" (rules: math verifier, weight 0.5, "####" format required, non-stop
// reward -1) and "other" (no rules, no default) under a reward config on disk.
class ComposedVerifierWorkerTest : public VerifierWorkerTest {
 protected:
  void SetUp() override {
    config_file_ = dir_.path() / "rewards.toml";
    std::ofstream(config_file_) << "[source.gsm]\nverifier = \"math\"\nweight = 0.5\n"
                                << "[source.gsm.format]\npattern = '####'\nmultiplier_if_missing = 0.0\n"
                                << "[source.gsm.non_stop]\nreward = -1.0\n";
    auto watcher = RewardConfigWatcher::open(config_file_, verifiers_known_to(registry_));
    ASSERT_TRUE(watcher.ok()) << watcher.status().to_string();
    watcher_ = std::move(*watcher);
  }

  // Item i: source sources[i], completion completions[i], truncated[i]; verifier "arithmetic"
  // (the rules of "gsm" override it with "math"); ground truth "82".
  static std::unique_ptr<capnp::MallocMessageBuilder> sourced_request(const std::vector<std::string>& sources,
                                                                      const std::vector<std::string>& completions,
                                                                      const std::vector<bool>& truncated) {
    auto message = request(9, std::vector<std::string>(sources.size(), "arithmetic"), completions);
    auto items = message->getRoot<proto::Envelope>().getRewardRequest().getItems();
    for (unsigned i = 0; i < items.size(); ++i) {
      items[i].setSource(sources[i]);
      items[i].setCompletionTokens(10);
      items[i].setTruncated(truncated[i]);
    }
    return message;
  }

  testing::TempDir dir_;
  std::filesystem::path config_file_;
  std::unique_ptr<RewardConfigWatcher> watcher_;
};

TEST_F(ComposedVerifierWorkerTest, ComposesEachItemByItsSourceRulesAndRecordsTheBreakdown) {
  VerifierPool pool(registry_, metrics_, {.threads = 2, .queue_capacity = 16});
  VerifierWorker worker(pool, watcher_.get());
  auto message = sourced_request({"gsm", "gsm", "gsm", "other"}, {"so #### 82", "\\boxed{82}", "#### 82", "#### 82"},
                                 {false, false, true, false});
  expect_queued(worker, *message);
  auto replies = wait_replies(worker, 1);
  ASSERT_EQ(replies.size(), 1u);
  const auto rewards = envelope(*replies[0]).getRewardResult().getRewards();
  ASSERT_EQ(rewards.size(), 4u);
  const std::string version = watcher_->current()->version;
  // Correct and formatted: 1 * weight 0.5 * format 1.
  EXPECT_EQ(std::string(rewards[0].getVerifier().cStr()), "math");
  EXPECT_EQ(rewards[0].getStatus(), proto::RewardStatus::OK);
  EXPECT_FLOAT_EQ(rewards[0].getRawScore(), 1.0f);
  EXPECT_FLOAT_EQ(rewards[0].getScore(), 0.5f);
  EXPECT_EQ(std::string(rewards[0].getConfigVersion().cStr()), version);
  ASSERT_EQ(rewards[0].getAdjustments().size(), 2u);
  EXPECT_EQ(std::string(rewards[0].getAdjustments()[1].getName().cStr()), "format");
  EXPECT_FLOAT_EQ(rewards[0].getAdjustments()[1].getValue(), 1.0f);
  // Correct but without the required format: multiplied by 0.
  EXPECT_EQ(rewards[1].getStatus(), proto::RewardStatus::OK);
  EXPECT_FLOAT_EQ(rewards[1].getRawScore(), 1.0f);
  EXPECT_FLOAT_EQ(rewards[1].getScore(), 0.0f);
  // Truncated: the non-stop reward replaces everything.
  EXPECT_FLOAT_EQ(rewards[2].getScore(), -1.0f);
  ASSERT_EQ(rewards[2].getAdjustments().size(), 1u);
  EXPECT_EQ(std::string(rewards[2].getAdjustments()[0].getName().cStr()), "non_stop");
  // No rules for the source: an error naming it, never judged or scored.
  EXPECT_EQ(rewards[3].getStatus(), proto::RewardStatus::ERROR);
  EXPECT_NE(std::string(rewards[3].getDetail().cStr()).find("[source.other]"), std::string::npos)
      << rewards[3].getDetail().cStr();
  EXPECT_EQ(std::string(rewards[3].getConfigVersion().cStr()), version);
}

TEST_F(ComposedVerifierWorkerTest, ARequestIsScoredUnderTheConfigInForceWhenItArrived) {
  VerifierPool pool(registry_, metrics_, {.threads = 1, .queue_capacity = 16});
  VerifierWorker worker(pool, watcher_.get());
  const std::string old_version = watcher_->current()->version;
  auto first = sourced_request({"gsm"}, {"#### 82"}, {false});
  expect_queued(worker, *first);
  std::ofstream(config_file_) << "[source.gsm]\nweight = 0.25\n[source.default]\n";
  watcher_->request_reload();
  ASSERT_TRUE(watcher_->maybe_reload().value());
  auto second = sourced_request({"gsm"}, {"#### 82"}, {false});
  expect_queued(worker, *second);
  auto replies = wait_replies(worker, 2);
  ASSERT_EQ(replies.size(), 2u);
  const auto before = envelope(*replies[0]).getRewardResult().getRewards()[0];
  const auto after = envelope(*replies[1]).getRewardResult().getRewards()[0];
  EXPECT_EQ(std::string(before.getConfigVersion().cStr()), old_version);
  EXPECT_FLOAT_EQ(before.getScore(), 0.5f);
  EXPECT_NE(std::string(after.getConfigVersion().cStr()), old_version);
  EXPECT_FLOAT_EQ(after.getScore(), 0.25f);
  // The new rules name no verifier: the item's own ("arithmetic") judges it.
  EXPECT_EQ(std::string(after.getVerifier().cStr()), "arithmetic");
}

TEST_F(ComposedVerifierWorkerTest, TheSourcesNumericToleranceReachesTheVerifier) {
  std::ofstream(config_file_) << "[source.gsm]\nverifier = \"math\"\nnumeric_tolerance = 0.01\n"
                              << "[source.exact]\nverifier = \"math\"\n";
  watcher_->request_reload();
  ASSERT_TRUE(watcher_->maybe_reload().value());
  VerifierPool pool(registry_, metrics_, {.threads = 1, .queue_capacity = 16});
  VerifierWorker worker(pool, watcher_.get());
  // 82.5 is within 1% of 82: accepted where the source allows it, wrong where it is exact.
  auto message = sourced_request({"gsm", "exact"}, {"#### 82.5", "#### 82.5"}, {false, false});
  expect_queued(worker, *message);
  auto replies = wait_replies(worker, 1);
  ASSERT_EQ(replies.size(), 1u);
  const auto rewards = envelope(*replies[0]).getRewardResult().getRewards();
  ASSERT_EQ(rewards.size(), 2u);
  EXPECT_EQ(rewards[0].getStatus(), proto::RewardStatus::OK) << rewards[0].getDetail().cStr();
  EXPECT_EQ(rewards[1].getStatus(), proto::RewardStatus::WRONG);
}

TEST_F(VerifierWorkerTest, ARequestLargerThanTheQueueIsRefusedAsInvalid) {
  VerifierPool pool(registry_, metrics_, {.threads = 1, .queue_capacity = 2});
  VerifierWorker worker(pool);
  auto message = request(8, {"arithmetic", "arithmetic", "arithmetic"}, {"1", "2", "3"});
  auto reply = worker.handle(envelope(*message));
  ASSERT_TRUE(reply.ok() && reply->has_value());
  const std::string text = envelope(***reply).getErrorReply().getMessage().cStr();
  EXPECT_EQ(text.rfind("INVALID_ARGUMENT: verifier: request 8 has 3 items, more than the queue capacity 2", 0), 0u)
      << text;
}

TEST_F(VerifierWorkerTest, AnEmptyRequestIsAnsweredAtOnce) {
  VerifierPool pool(registry_, metrics_, {.threads = 1, .queue_capacity = 2});
  VerifierWorker worker(pool);
  auto message = request(9, {}, {});
  auto reply = worker.handle(envelope(*message));
  ASSERT_TRUE(reply.ok() && reply->has_value());
  EXPECT_EQ(envelope(***reply).getRewardResult().getRequestId(), 9u);
  EXPECT_EQ(envelope(***reply).getRewardResult().getRewards().size(), 0u);
  EXPECT_EQ(worker.pending_requests(), 0u);
}

TEST_F(VerifierWorkerTest, OtherMessagesAreRejected) {
  VerifierPool pool(registry_, metrics_, {.threads = 1, .queue_capacity = 2});
  VerifierWorker worker(pool);
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::Envelope>().initTrainBatch();
  EXPECT_EQ(worker.handle(envelope(message)).status().code(), StatusCode::kInvalidArgument);
}

// Served as the process's role: results go to the outbox from the collector thread as each
// request finishes, while the socket thread goes on accepting.
TEST_F(VerifierWorkerTest, AsARoleEachResultIsPostedWhenItsRequestFinishes) {
  VerifierPool pool(registry_, metrics_, {.threads = 2, .queue_capacity = 16});
  VerifierWorker worker(pool);
  core::Outbox outbox("verifier-0");
  int requests_seen = 0;
  VerifierRole role(worker, outbox, [&] { ++requests_seen; });
  auto slow = request(1, {"blocking"}, {"82"});
  auto fast = request(2, {"arithmetic"}, {"82"});
  ASSERT_TRUE(role.accept(envelope(*slow)).ok());
  blocking_->wait_entered(1);
  ASSERT_TRUE(role.accept(envelope(*fast)).ok());
  EXPECT_EQ(requests_seen, 2);
  ASSERT_TRUE(outbox.wait(seconds(10)));
  std::vector<core::Outbox::Message> first = outbox.take();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(envelope(*first[0]).getRewardResult().getRequestId(), 2u);
  EXPECT_EQ(role.active_requests(), std::vector<uint64_t>{1});
  blocking_->open();
  ASSERT_TRUE(outbox.wait(seconds(10)));
  std::vector<core::Outbox::Message> second = outbox.take();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(envelope(*second[0]).getRewardResult().getRequestId(), 1u);
  EXPECT_TRUE(role.stop_within(seconds(1)));
}

TEST_F(VerifierWorkerTest, AsARoleOtherMessagesAreRejected) {
  VerifierPool pool(registry_, metrics_, {.threads = 1, .queue_capacity = 4});
  VerifierWorker worker(pool);
  core::Outbox outbox("verifier-0");
  VerifierRole role(worker, outbox);
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::Envelope>().initTrainBatch();
  EXPECT_EQ(role.accept(envelope(message)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
} // namespace caravan::rewards
