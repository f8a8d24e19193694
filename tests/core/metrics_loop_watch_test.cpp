#include "core/metrics/loop_watch.h"

#include <gtest/gtest.h>

#include <thread>

namespace caravan::metrics {
namespace {

using namespace std::chrono_literals;

TEST(LoopWatchTest, AliveWhileBeatingDeadWhenStalledOrFinished) {
  LoopWatch loop(50ms);
  EXPECT_TRUE(loop.alive());  // a loop about to start
  std::this_thread::sleep_for(120ms);
  EXPECT_FALSE(loop.alive());  // no beat for longer than 50 ms
  loop.beat();
  EXPECT_TRUE(loop.alive());
  loop.finish();
  EXPECT_FALSE(loop.alive());
  loop.beat();
  EXPECT_FALSE(loop.alive());  // an ended loop stays dead
}

}  // namespace
} // namespace caravan::metrics
