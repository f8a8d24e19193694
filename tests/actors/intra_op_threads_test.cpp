#include "actors/rollout/intra_op_threads.h"

#include <gtest/gtest.h>

namespace caravan::rollout {
namespace {

TEST(IntraOpThreads, FollowsTheCoresOtherTasksLeaveFree) {
  IntraOpThreads threads(/*most=*/2, /*cores=*/2);
  EXPECT_EQ(threads.next(0), 2);  // idle machine: every configured thread
  // Two busy processes appear: the average follows within a few steps, never below 1 thread.
  EXPECT_EQ(threads.next(2), 2);  // average 0.5
  EXPECT_EQ(threads.next(2), 1);  // 0.875
  for (int step = 0; step < 10; ++step) EXPECT_EQ(threads.next(5), 1);
  // They end: back to 2 once the average falls under 0.5.
  int steps = 0;
  while (threads.next(0) == 1) ASSERT_LT(++steps, 20);
  EXPECT_GT(steps, 2);  // not on one quiet reading
}

TEST(IntraOpThreads, NeverMoreThanConfiguredNorFewerThanOne) {
  IntraOpThreads threads(/*most=*/4, /*cores=*/16);
  EXPECT_EQ(threads.next(0), 4);
  EXPECT_EQ(threads.next(-3), 4);  // a negative reading counts as none
  EXPECT_EQ(threads.most(), 4);
  EXPECT_THROW(IntraOpThreads(0, 2), InternalError);
}

TEST(IntraOpThreads, ReadsProcsRunningFromProcStat) {
  const std::string stat = "cpu  1 2 3\ncpu0 1 2 3\nintr 5 0\nctxt 99\nprocs_running 3\nprocs_blocked 0\n";
  ASSERT_TRUE(procs_running(stat).ok());
  EXPECT_EQ(*procs_running(stat), 3);
  EXPECT_EQ(*procs_running("procs_running 12"), 12);
  const Status missing = procs_running("cpu 1 2\nxprocs_running 4\n").status();
  EXPECT_NE(missing.message().find("/proc/stat: no procs_running field"), std::string::npos) << missing.message();
  const Status malformed = procs_running("procs_running many\n").status();
  EXPECT_NE(malformed.message().find("procs_running: expected a count, got \"many\""), std::string::npos)
      << malformed.message();
  const Result<int64_t> now = other_runnable_tasks();  // this machine's, whatever its load
  ASSERT_TRUE(now.ok()) << now.status().to_string();
  EXPECT_GE(*now, 0);
}

} // namespace
} // namespace caravan::rollout
