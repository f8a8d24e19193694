#include "core/worker_session.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "core/serial_role.h"

namespace caravan::core {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A latch the work thread waits on inside a handler, so a test knows the role is busy.
class Gate {
 public:
  // Work thread: marks the handler entered and waits until open().
  void pass() {
    std::unique_lock lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  bool wait_entered() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return entered_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool entered_ = false;  // Guarded by mutex_.
  bool open_ = false;     // Guarded by mutex_.
};

Outbox::Message train_result(uint64_t request_id) {
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  reply->initRoot<proto::Envelope>().initTrainResult().setRequestId(request_id);
  return reply;
}

// The test plays the controller on a real ROUTER; the worker is a learner served by SerialRole.
class WorkerSessionTest : public ::testing::Test {
 protected:
  void SetUp() override { router_ = Channel::bind(context_, "tcp://127.0.0.1:*", {}).value(); }
  void TearDown() override { gate_.open(); }

  void connect(std::chrono::milliseconds interval, std::chrono::milliseconds timeout) {
    session_ = WorkerSession::connect(context_, router_->endpoint(),
                                      {.role = proto::Role::LEARNER, .rank = 0, .heartbeat_interval = interval,
                                       .heartbeat_timeout = timeout},
                                      stop_.get_token())
                   .value();
  }
  // SftRequest 1..: request 13 blocks on gate_, request 21 fails, request 66 throws, the others
  // are answered with a TrainResult.
  void serve() {
    role_ = std::make_unique<SerialRole>(
        [this](const proto::Envelope::Reader& message) -> Result<Outbox::Message> {
          const uint64_t id = message.getSftRequest().getRequestId();
          if (id == 13) gate_.pass();
          if (id == 21) return Status::failed_precondition("no SFT task in this run");
          if (id == 66) throw std::runtime_error("invariant broken");
          return train_result(id);
        },
        [] { return uint64_t{7}; }, session_->outbox());
    served_ = std::async(std::launch::async, [this] { return session_->serve(*role_); });
  }
  void send(uint64_t sft_request_id) {
    capnp::MallocMessageBuilder message;
    message.initRoot<proto::Envelope>().initSftRequest().setRequestId(sft_request_id);
    ASSERT_TRUE(router_->send_to("learner-0", message).ok());
  }
  void send_shutdown() {
    capnp::MallocMessageBuilder message;
    message.initRoot<proto::Envelope>().initShutdown().setReason("test over");
    ASSERT_TRUE(router_->send_to("learner-0", message).ok());
  }
  void send_heartbeat() {
    capnp::MallocMessageBuilder message;
    message.initRoot<proto::Envelope>().initHeartbeat().setRole(proto::Role::CONTROLLER);
    ASSERT_TRUE(router_->send_to("learner-0", message).ok());
  }
  // The next message from the worker that is not a Heartbeat (those are counted).
  std::optional<ReceivedMessage> next_reply(std::chrono::milliseconds within = 10s) {
    const auto deadline = Clock::now() + within;
    while (Clock::now() < deadline) {
      auto received = router_->receive(20ms).value();
      if (!received) continue;
      if (!received->envelope().isHeartbeat()) return received;
      ++heartbeats_;
    }
    return std::nullopt;
  }
  Status served() {
    EXPECT_EQ(served_.wait_for(10s), std::future_status::ready);
    return served_.get();
  }

  zmq::context_t context_;
  std::unique_ptr<Channel> router_;
  std::stop_source stop_;
  Gate gate_;
  std::unique_ptr<WorkerSession> session_;
  std::unique_ptr<SerialRole> role_;
  std::future<Status> served_;
  int heartbeats_ = 0;
};

// /healthz and /readyz of a worker: live while the socket thread loops; ready once the role is
// attached and the controller has been heard; neither after the session ended.
TEST_F(WorkerSessionTest, LiveFromConnectReadyOnceServingAndHeardNeitherAfterTheEnd) {
  connect(20ms, 5s);
  ASSERT_TRUE(next_reply().has_value());  // Hello
  EXPECT_TRUE(session_->live());
  EXPECT_FALSE(session_->ready());  // no role yet (the model would still be loading)
  serve();
  EXPECT_FALSE(session_->ready());  // the controller has not spoken yet
  send_heartbeat();
  for (const auto deadline = Clock::now() + 10s; !session_->ready() && Clock::now() < deadline;) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(session_->ready());
  send_shutdown();
  EXPECT_TRUE(served().ok());
  EXPECT_FALSE(session_->live());
  EXPECT_FALSE(session_->ready());
}

TEST_F(WorkerSessionTest, HelloThenHeartbeatsWhileTheRoleIsBusy) {
  connect(20ms, 5s);
  auto hello = next_reply();
  ASSERT_TRUE(hello && hello->envelope().isHello());
  EXPECT_EQ(hello->peer(), "learner-0");
  EXPECT_EQ(hello->envelope().getHello().getRole(), proto::Role::LEARNER);
  EXPECT_GT(hello->envelope().getHello().getHost().size(), 0u);
  serve();
  send(13);
  ASSERT_TRUE(gate_.wait_entered());
  // The work thread is inside the handler; the socket thread keeps beating.
  int busy_beats = 0;
  for (const auto deadline = Clock::now() + 10s; busy_beats < 3 && Clock::now() < deadline;) {
    auto received = router_->receive(100ms).value();
    if (!received) continue;
    ASSERT_TRUE(received->envelope().isHeartbeat());
    const auto beat = received->envelope().getHeartbeat();
    EXPECT_EQ(beat.getRole(), proto::Role::LEARNER);
    EXPECT_EQ(beat.getPolicyVersion(), 7u);
    ASSERT_EQ(beat.getActiveRequests().size(), 1u);
    EXPECT_EQ(beat.getActiveRequests()[0], 13u);
    ++busy_beats;
  }
  EXPECT_EQ(busy_beats, 3);
  gate_.open();
  auto reply = next_reply();
  ASSERT_TRUE(reply && reply->envelope().isTrainResult());
  EXPECT_EQ(reply->envelope().getTrainResult().getRequestId(), 13u);
  send_shutdown();
  EXPECT_TRUE(served().ok());
  EXPECT_TRUE(role_->stop_within(1s));
}

TEST_F(WorkerSessionTest, RequestsBeforeServeWaitForTheRole) {
  connect(20ms, 5s);
  ASSERT_TRUE(next_reply()->envelope().isHello());
  send(3);
  send(4);
  EXPECT_FALSE(next_reply(200ms).has_value()) << "nothing may answer before serve()";
  EXPECT_GT(heartbeats_, 0) << "heartbeats flow before serve()";
  serve();
  for (uint64_t id : {3u, 4u}) {
    auto reply = next_reply();
    ASSERT_TRUE(reply && reply->envelope().isTrainResult());
    EXPECT_EQ(reply->envelope().getTrainResult().getRequestId(), id);
  }
  send_shutdown();
  EXPECT_TRUE(served().ok());
}

TEST_F(WorkerSessionTest, AFailedRequestCarriesItsIdAndServingGoesOn) {
  connect(20ms, 5s);
  ASSERT_TRUE(next_reply()->envelope().isHello());
  serve();
  send(21);
  send(22);
  auto error = next_reply();
  ASSERT_TRUE(error && error->envelope().isErrorReply());
  EXPECT_EQ(error->envelope().getErrorReply().getRequestId(), 21u);
  const std::string text = error->envelope().getErrorReply().getMessage().cStr();
  EXPECT_NE(text.find("learner-0"), std::string::npos) << text;
  EXPECT_NE(text.find("no SFT task in this run"), std::string::npos) << text;
  auto reply = next_reply();
  ASSERT_TRUE(reply && reply->envelope().isTrainResult());
  EXPECT_EQ(reply->envelope().getTrainResult().getRequestId(), 22u);
  send_shutdown();
  EXPECT_TRUE(served().ok());
}

TEST_F(WorkerSessionTest, ABrokenRoleSendsErrorWithRequestIdZeroAndEnds) {
  connect(20ms, 5s);
  ASSERT_TRUE(next_reply()->envelope().isHello());
  serve();
  send(66);
  auto error = next_reply();
  ASSERT_TRUE(error && error->envelope().isErrorReply());
  EXPECT_EQ(error->envelope().getErrorReply().getRequestId(), 0u);
  const Status status = served();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("invariant broken"), std::string::npos) << status.message();
}

TEST_F(WorkerSessionTest, WorkerWhoseControllerIsSilentEndsWithinTheHeartbeatTimeoutEvenWhileBusy) {
  constexpr auto kTimeout = 300ms;
  connect(50ms, kTimeout);
  ASSERT_TRUE(next_reply()->envelope().isHello());
  serve();
  const auto last_sent = Clock::now();
  send(13);  // the controller's last word; the role then stays busy
  ASSERT_TRUE(gate_.wait_entered());
  const Status status = served();
  const auto elapsed = Clock::now() - last_sent;
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("controller is gone"), std::string::npos) << status.message();
  EXPECT_GE(elapsed, kTimeout);
  EXPECT_LT(elapsed, kTimeout + 400ms);
  EXPECT_TRUE(session_->stop_token().stop_requested());
  EXPECT_FALSE(role_->stop_within(20ms)) << "the handler is still inside the gate";
  gate_.open();
  EXPECT_TRUE(role_->stop_within(10s));
}

TEST_F(WorkerSessionTest, ControllerHeartbeatsKeepTheSessionAlive) {
  constexpr auto kTimeout = 200ms;
  connect(50ms, kTimeout);
  ASSERT_TRUE(next_reply()->envelope().isHello());
  serve();
  for (const auto until = Clock::now() + 4 * kTimeout; Clock::now() < until;) {
    send_heartbeat();
    std::this_thread::sleep_for(kTimeout / 4);
  }
  EXPECT_FALSE(session_->end_status().has_value());
  send_shutdown();
  EXPECT_TRUE(served().ok());
}

TEST_F(WorkerSessionTest, StopRequestCancelsTheSession) {
  connect(20ms, 5s);
  ASSERT_TRUE(next_reply()->envelope().isHello());
  serve();
  stop_.request_stop();
  EXPECT_EQ(served().code(), StatusCode::kCancelled);
}

TEST_F(WorkerSessionTest, HeartbeatSettingsAreChecked) {
  auto session = WorkerSession::connect(context_, router_->endpoint(),
                                        {.heartbeat_interval = 2s, .heartbeat_timeout = 1s}, {});
  EXPECT_EQ(session.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(session.status().message().find("heartbeat_interval"), std::string::npos);
}

}  // namespace
} // namespace caravan::core
