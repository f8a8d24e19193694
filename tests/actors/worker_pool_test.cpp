#include "actors/controller/worker_pool.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/worker_session.h"

using namespace std::chrono_literals;

namespace caravan::controller {
namespace {

class WorkerPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { router_ = core::Channel::bind(context_, "tcp://127.0.0.1:*", {}).value(); }
  // A verifier worker on its own thread that answers each RewardRequest with `behaviour`.
  // kBusyTwice: replies "busy, retry after 20 ms" to the first two deliveries, then answers.
  enum class Behaviour { kAnswer, kFail, kIgnore, kBusyTwice };
  class ScriptedVerifier : public core::WorkerRole {
   public:
    ScriptedVerifier(Behaviour behaviour, core::Outbox& outbox) : behaviour_(behaviour), outbox_(outbox) {}
    Status accept(const proto::Envelope::Reader& message) override {
      const uint64_t id = message.getRewardRequest().getRequestId();
      ++deliveries_;
      auto reply = std::make_unique<capnp::MallocMessageBuilder>();
      switch (behaviour_) {
        case Behaviour::kBusyTwice:
          if (deliveries_ <= 2) {
            auto busy = reply->initRoot<proto::Envelope>().initErrorReply();
            busy.setRequestId(id);
            busy.setMessage("queue full");
            busy.setRetryAfterMs(20);
          } else {
            reply->initRoot<proto::Envelope>().initRewardResult().setRequestId(id);
          }
          outbox_.post(std::move(reply));
          return Status();
        case Behaviour::kAnswer:
          reply->initRoot<proto::Envelope>().initRewardResult().setRequestId(id);
          outbox_.post(std::move(reply));
          return Status();
        case Behaviour::kFail: return Status::internal("disk on fire");
        case Behaviour::kIgnore: return Status();
      }
      return Status();
    }
    uint64_t policy_version() const override { return 0; }
    std::vector<uint64_t> active_requests() const override { return {}; }
    bool stop_within(std::chrono::milliseconds) override { return true; }

   private:
    const Behaviour behaviour_;
    core::Outbox& outbox_;
    int deliveries_ = 0;
  };
  std::jthread start_worker(uint32_t rank, Behaviour behaviour) {
    return std::jthread([this, rank, behaviour](std::stop_token stop) {
      // The old controller sends no heartbeats: a timeout longer than any test here.
      core::WorkerSessionOptions options{.role = proto::Role::VERIFIER, .rank = rank,
                                         .heartbeat_interval = 5s, .heartbeat_timeout = 10s};
      auto session = core::WorkerSession::connect(context_, router_->endpoint(), options, stop).value();
      ScriptedVerifier role(behaviour, session->outbox());
      (void)session->serve(role);
    });
  }
  zmq::context_t context_;
  std::unique_ptr<core::Channel> router_;
};

TEST_F(WorkerPoolTest, ExchangeReturnsRepliesInRequestOrder) {
  auto a = start_worker(0, Behaviour::kAnswer);
  auto b = start_worker(1, Behaviour::kAnswer);
  WorkerPool pool(*router_, {"verifier-0", "verifier-1"}, 5s);
  ASSERT_TRUE(pool.await_hello({}).ok());
  std::vector<Outgoing> requests;
  for (const char* peer : {"verifier-1", "verifier-0"}) {
    requests.push_back(pool.make_request(peer));
    requests.back().envelope().initRewardRequest();
  }
  auto replies = pool.exchange(std::move(requests), {});
  ASSERT_TRUE(replies.ok()) << replies.status().to_string();
  ASSERT_EQ(replies->size(), 2u);
  EXPECT_EQ((*replies)[0].peer(), "verifier-1");
  EXPECT_EQ((*replies)[1].peer(), "verifier-0");
  pool.shutdown_all("test over");
}

TEST_F(WorkerPoolTest, WorkerErrorFailsTheExchangeNamingIt) {
  auto a = start_worker(0, Behaviour::kFail);
  WorkerPool pool(*router_, {"verifier-0"}, 5s);
  ASSERT_TRUE(pool.await_hello({}).ok());
  std::vector<Outgoing> requests;
  requests.push_back(pool.make_request("verifier-0"));
  requests.back().envelope().initRewardRequest();
  auto replies = pool.exchange(std::move(requests), {});
  EXPECT_FALSE(replies.ok());
  EXPECT_NE(replies.status().message().find("verifier-0"), std::string::npos) << replies.status().message();
  EXPECT_NE(replies.status().message().find("disk on fire"), std::string::npos) << replies.status().message();
}

TEST_F(WorkerPoolTest, BusyWorkerGetsTheRequestAgainAfterItsDelay) {
  auto a = start_worker(0, Behaviour::kBusyTwice);
  WorkerPool pool(*router_, {"verifier-0"}, 5s);
  ASSERT_TRUE(pool.await_hello({}).ok());
  std::vector<Outgoing> requests;
  requests.push_back(pool.make_request("verifier-0"));
  requests.back().envelope().initRewardRequest();
  const auto started = std::chrono::steady_clock::now();
  auto replies = pool.exchange(std::move(requests), {});
  ASSERT_TRUE(replies.ok()) << replies.status().to_string();
  EXPECT_TRUE((*replies)[0].envelope().isRewardResult());
  EXPECT_GE(std::chrono::steady_clock::now() - started, 40ms);
  pool.shutdown_all("test over");
}

TEST_F(WorkerPoolTest, SilentWorkerTimesOutNamingIt) {
  auto a = start_worker(0, Behaviour::kIgnore);
  WorkerPool pool(*router_, {"verifier-0"}, 300ms);
  ASSERT_TRUE(pool.await_hello({}).ok());
  std::vector<Outgoing> requests;
  requests.push_back(pool.make_request("verifier-0"));
  requests.back().envelope().initRewardRequest();
  auto replies = pool.exchange(std::move(requests), {});
  EXPECT_EQ(replies.status().code(), StatusCode::kTimeout);
  EXPECT_NE(replies.status().message().find("verifier-0"), std::string::npos);
  pool.shutdown_all("test over");
}

TEST_F(WorkerPoolTest, MissingWorkerIsNamedWhenWaitingForHello) {
  auto a = start_worker(0, Behaviour::kAnswer);
  WorkerPool pool(*router_, {"verifier-0", "learner-0"}, 300ms);
  Status status = pool.await_hello({});
  EXPECT_EQ(status.code(), StatusCode::kTimeout);
  EXPECT_NE(status.message().find("learner-0"), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find("verifier-0"), std::string::npos) << status.message();
  pool.shutdown_all("test over");
}

}  // namespace
} // namespace caravan::controller
