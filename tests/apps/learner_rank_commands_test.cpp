#include "apps/learner_rank_commands.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include "tests/weights_sync/loopback_group.h"
#include "weights_sync/communicator.h"

namespace caravan::apps {
namespace {

using wsync::testing::run_ranks;
using wsync::testing::serve_loopback_store;

// A TrainBatch envelope that carries `step`.
std::unique_ptr<capnp::MallocMessageBuilder> train_batch(uint64_t step) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto batch = message->initRoot<proto::Envelope>().initTrainBatch();
  batch.setStep(step);
  batch.initGroups(1)[0].setPromptId(step * 10);
  return message;
}

// One rank of a group of two over loopback Gloo, and its commands. Rank 0 passes the store it
// serves, rank 1 connects to `port`.
struct Rank {
  Rank(int rank, std::shared_ptr<wsync::RendezvousStore> served, int port, std::chrono::milliseconds timeout) {
    wsync::CommunicatorOptions options;
    options.rank = rank;
    options.world_size = 2;
    options.scope = "ranks/group/";
    options.timeout = timeout;
    if (rank == 0) {
      options.store = std::move(served);
    } else {
      auto client = wsync::RendezvousStore::connect("127.0.0.1", port, timeout, {});
      EXPECT_TRUE(client.ok()) << client.status().to_string();
      if (!client.ok()) return;
      options.store = *client;
    }
    store = options.store;
    auto communicator = wsync::make_communicator("gloo", options);
    EXPECT_TRUE(communicator.ok()) << communicator.status().to_string();
    if (!communicator.ok()) return;
    data_parallel = std::make_unique<learner::DataParallel>(std::move(*communicator));
    commands = std::make_unique<LearnerRankCommands>(*data_parallel, store, "ranks/commands/");
  }
  std::shared_ptr<wsync::RendezvousStore> store;
  std::unique_ptr<learner::DataParallel> data_parallel;
  std::unique_ptr<LearnerRankCommands> commands;
};

TEST(LearnerRankCommands, RankOneReceivesEveryEnvelopeInOrderThenStop) {
  const std::shared_ptr<wsync::RendezvousStore> served = serve_loopback_store();
  std::vector<uint64_t> received_steps;
  Status sent, received;
  run_ranks(2, [&](int rank) {
    Rank self(rank, rank == 0 ? served : nullptr, served->port(), std::chrono::seconds(20));
    if (self.commands == nullptr) return;
    if (rank == 0) {
      for (uint64_t step : {1, 2, 3}) {
        sent = self.commands->send_envelope(*train_batch(step));
        if (!sent.ok()) return;
      }
      sent = self.commands->send_stop();
      return;
    }
    while (true) {
      Result<std::optional<core::ReceivedMessage>> next = self.commands->receive({});
      if (!next.ok()) {
        received = next.status();
        return;
      }
      if (!next->has_value()) return;
      const proto::Envelope::Reader envelope = (*next)->envelope();
      ASSERT_TRUE(envelope.isTrainBatch());
      received_steps.push_back(envelope.getTrainBatch().getStep());
      EXPECT_EQ(envelope.getTrainBatch().getGroups()[0].getPromptId(), received_steps.back() * 10);
    }
  });
  EXPECT_TRUE(sent.ok()) << sent.to_string();
  EXPECT_TRUE(received.ok()) << received.to_string();
  EXPECT_EQ(received_steps, (std::vector<uint64_t>{1, 2, 3}));
}

// A waiting rank is not bound by the collective timeout (rollouts between two steps take any
// time), but it learns within about a second that rank 0 is gone or that it was told to stop.
TEST(LearnerRankCommands, AWaitingRankEndsWhenRankZeroIsGoneOrOnStop) {
  for (const bool rank_zero_leaves : {true, false}) {
    SCOPED_TRACE(rank_zero_leaves ? "rank 0 gone" : "stop requested");
    // Rank 0 alone holds the served store: it goes when rank 0 does.
    std::shared_ptr<wsync::RendezvousStore> served = serve_loopback_store();
    const int port = served->port();
    std::stop_source stop;
    Status received;
    double waited_seconds = 0;
    std::atomic<bool> rank_one_done = false;
    run_ranks(2, [&](int rank) {
      Rank self(rank, rank == 0 ? std::move(served) : nullptr, port, std::chrono::seconds(2));
      if (self.commands == nullptr) return;
      if (rank == 0) {
        // Longer than the collective timeout, then leave (the store's server goes with it) or stop rank 1.
        std::this_thread::sleep_for(std::chrono::seconds(3));
        if (!rank_zero_leaves) {
          // Keep the store up until rank 1 has seen the stop request.
          stop.request_stop();
          while (!rank_one_done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return;
      }
      const auto start = std::chrono::steady_clock::now();
      received = self.commands->receive(stop.get_token()).status();
      waited_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      rank_one_done = true;
    });
    EXPECT_EQ(received.code(), rank_zero_leaves ? StatusCode::kUnavailable : StatusCode::kCancelled)
        << received.to_string();
    EXPECT_GT(waited_seconds, 2.5);
    EXPECT_LT(waited_seconds, 6.0);
  }
}

} // namespace
} // namespace caravan::apps
