#include "apps/signal_stopper.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

namespace caravan::apps {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Polls `token` until a stop is requested or `limit` passes; true when it was requested.
bool stopped_within(const std::stop_token& token, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (token.stop_requested()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return token.stop_requested();
}

// Every thread of this binary blocks the signals (the stopper blocks them in the test's thread
// before its own starts), so a signal sent to the process reaches the stopper's sigtimedwait.
void send(int signal) { ASSERT_EQ(::kill(::getpid(), signal), 0); }

TEST(SignalStopper, TheControllerStopsAtTheFirstSignal) {
  SignalStopper signals;
  send(SIGTERM);
  EXPECT_TRUE(stopped_within(signals.token(), 2s));
}

TEST(SignalStopper, AServingRoleKeepsServingUntilTheGraceHasPassed) {
  SignalStopper signals;
  signals.keep_serving_after_first_signal(600ms);
  const auto sent = Clock::now();
  send(SIGTERM);
  EXPECT_FALSE(stopped_within(signals.token(), 300ms));
  EXPECT_TRUE(stopped_within(signals.token(), 3s));
  EXPECT_GE(Clock::now() - sent, 600ms);
}

TEST(SignalStopper, ASecondSignalStopsAtOnce) {
  SignalStopper signals;
  signals.keep_serving_after_first_signal(60s);
  send(SIGTERM);
  EXPECT_FALSE(stopped_within(signals.token(), 300ms));
  send(SIGINT);
  EXPECT_TRUE(stopped_within(signals.token(), 2s));
}

TEST(SignalStopper, SighupIsCountedAndStopsNothing) {
  SignalStopper signals;
  send(SIGHUP);
  const auto deadline = Clock::now() + 2s;
  while (signals.hangups() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(signals.hangups(), 1u);
  EXPECT_FALSE(signals.token().stop_requested());
}

}  // namespace
}  // namespace caravan::apps
