#include "actors/rollout/intra_op_threads.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "core/status.h"

namespace caravan::rollout {
namespace {

// A machine that gives `cpu_rate(n)` CPU seconds per wall second to a step on n threads.
using Machine = std::function<double(int)>;

// Runs `windows` windows of one step each on `machine`; returns the thread count of every step.
std::vector<int> run(IntraOpThreads& threads, const Machine& machine, int windows) {
  std::vector<int> counts;
  for (int w = 0; w < windows; ++w) {
    const int n = threads.threads();
    counts.push_back(n);
    threads.observe(/*wall_seconds=*/0.2, /*cpu_seconds=*/0.2 * machine(n));
  }
  return counts;
}

int steps_on(const std::vector<int>& counts, int n) { return static_cast<int>(std::count(counts.begin(), counts.end(), n)); }

TEST(IntraOpThreads, KeepsEveryThreadOnAnIdleMachineAndProbesLessAndLess) {
  IntraOpThreads threads(/*most=*/2);
  const Machine idle = [](int n) { return 0.95 * n; };
  const std::vector<int> counts = run(threads, idle, 400);
  EXPECT_EQ(counts.front(), 2);
  EXPECT_EQ(threads.threads(), 2);
  // Probes of 1 thread double their spacing while they confirm 2 (after the first window, then
  // 2, 4, ... 64 windows): 11 in 400 windows, under 3% of the steps.
  EXPECT_LE(steps_on(counts, 1), 12);
  EXPECT_GE(steps_on(counts, 1), 3);
}

TEST(IntraOpThreads, DropsToOneThreadWhenTwoReceiveLessCpuAndComesBack) {
  IntraOpThreads threads(/*most=*/2);
  const Machine idle = [](int n) { return 0.95 * n; };
  // Two threads wait at barriers for a core the scheduler gave away: less CPU than one thread.
  const Machine contended = [](int n) { return n == 1 ? 0.6 : 0.35; };
  (void)run(threads, idle, 100);  // a long quiet stretch: probes are far apart by now
  const std::vector<int> loaded = run(threads, contended, 100);
  // The drop in rate brings the next probe forward: one thread within probe_windows_min (2)
  // windows, then only probes of 2 threads, further and further apart.
  const auto switched = std::find(loaded.begin(), loaded.end(), 1);
  ASSERT_NE(switched, loaded.end());
  EXPECT_LE(switched - loaded.begin(), 3);
  EXPECT_LE(steps_on(loaded, 2), 3 + 6);  // before the switch, then probes after 2, 4, ... 64 windows
  EXPECT_EQ(threads.threads(), 1);
  // The load ends: the rate of one thread rises, a probe finds 2 threads better.
  const std::vector<int> quiet = run(threads, idle, 20);
  EXPECT_EQ(quiet.back(), 2);
  EXPECT_EQ(quiet[1], 2);  // the first quiet window's rise probes 2 threads at once
  EXPECT_LE(steps_on(quiet, 1), 1 + 3);  // then probes that confirm 2, after 2, 4 and 8 windows
}

TEST(IntraOpThreads, KeepsTheChoiceWhenAProbeIsNotClearlyBetter) {
  IntraOpThreads threads(/*most=*/2);
  // One thread gets 5% more: under switch_gain (10%), so the configured count stays.
  const Machine even = [](int n) { return n == 1 ? 0.63 : 0.60; };
  const std::vector<int> counts = run(threads, even, 200);
  EXPECT_EQ(threads.threads(), 2);
  EXPECT_LE(steps_on(counts, 1), 8);
}

TEST(IntraOpThreads, ClimbsToTheBestCountOneStepAtATime) {
  IntraOpThreads threads(/*most=*/4);
  // Four threads collapse; three receive the most CPU.
  const Machine machine = [](int n) { return std::vector<double>{0.9, 1.8, 2.6, 1.2}[static_cast<size_t>(n - 1)]; };
  const std::vector<int> counts = run(threads, machine, 300);
  EXPECT_EQ(threads.threads(), 3);
  EXPECT_GT(steps_on(counts, 3), 270);
  EXPECT_EQ(steps_on(counts, 1), 0);  // never more than one away from the choice
}

TEST(IntraOpThreads, MeasuresWindowsOfSeveralSteps) {
  IntraOpThreads threads(/*most=*/2, {.window_seconds = 1.0, .probe_windows_min = 1});
  // Steps of 0.25 s: the first window ends after 4 of them, then one window probes 1 thread.
  for (int step = 0; step < 4; ++step) {
    EXPECT_EQ(threads.threads(), 2) << "step " << step;
    threads.observe(0.25, 0.25 * 1.9);
  }
  EXPECT_EQ(threads.threads(), 1);
  for (int step = 0; step < 4; ++step) threads.observe(0.25, 0.25 * 0.5);
  EXPECT_EQ(threads.threads(), 2);
}

TEST(IntraOpThreads, OneThreadConfiguredStaysOne) {
  IntraOpThreads threads(/*most=*/1);
  const std::vector<int> counts = run(threads, [](int) { return 0.5; }, 50);
  EXPECT_EQ(steps_on(counts, 1), 50);
  EXPECT_EQ(threads.most(), 1);
  EXPECT_THROW(IntraOpThreads(0), InternalError);
  EXPECT_THROW(IntraOpThreads(2, {.switch_gain = 0.5}), InternalError);
}

TEST(IntraOpThreads, ProcessCpuSecondsCountsWork) {
  const double before = process_cpu_seconds();
  volatile double sink = 0;
  for (int i = 0; i < 20'000'000; ++i) sink = sink + 1e-9 * i;
  EXPECT_GT(process_cpu_seconds(), before);
}

} // namespace
} // namespace caravan::rollout
