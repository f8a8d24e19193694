#include "apps/process_supervisor.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<std::string> shell(const std::string& script) { return {"/bin/sh", "-c", script}; }

const std::vector<std::string> kSleepLong = {"/bin/sleep", "30"};

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Sends `signal` to the calling thread after `delay`, from a helper thread (which inherits the
// supervisor's blocked mask, so the signal can only reach the supervising thread's sigtimedwait).
std::jthread signal_later(std::chrono::milliseconds delay, int signal) {
  const pthread_t target = pthread_self();
  return std::jthread([=] {
    std::this_thread::sleep_for(delay);
    pthread_kill(target, signal);
  });
}

bool contains(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

class ProcessSupervisorTest : public ::testing::Test {
 protected:
  caravan::testing::TempDir dir_;
};

// The terminal view's plumbing: every child's stdout and stderr go to the given descriptor, and
// each change in the number of running children is reported (a restart included).
TEST_F(ProcessSupervisorTest, ChildOutputGoesToTheGivenDescriptorAndRunningCountsAreReported) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::vector<std::pair<int64_t, int64_t>> counts;
  {
    ProcessSupervisor supervisor({.kill_grace = 2s,
                                  .child_output_fd = fds[1],
                                  .on_running_changed = [&](int64_t running, int64_t spawned) {
                                    counts.emplace_back(running, spawned);
                                  }});
    const std::filesystem::path marker = dir_.path() / "failed_once";
    ASSERT_TRUE(supervisor.spawn("controller-0", shell("echo out-controller; echo err-controller >&2; sleep 0.5")).ok());
    ASSERT_TRUE(supervisor
                    .spawn("rollout-0",
                           shell("echo out-rollout; if [ ! -f " + marker.string() + " ]; then touch " + marker.string() +
                                 "; exit 3; fi; sleep 2"),
                           {.max_restarts = 1, .backoff = 10ms})
                    .ok());
    EXPECT_TRUE(supervisor.wait("controller-0").ok());
  }
  ::close(fds[1]);
  std::string output;
  char buffer[256];
  for (ssize_t got; (got = ::read(fds[0], buffer, sizeof(buffer))) > 0;) output.append(buffer, static_cast<size_t>(got));
  ::close(fds[0]);
  for (const char* line : {"out-controller\n", "err-controller\n", "out-rollout\n"}) {
    EXPECT_NE(output.find(line), std::string::npos) << output;
  }
  // Spawned 1, spawned 2, the rollout died (1 running), restarted (2), ..., all done (0).
  ASSERT_GE(counts.size(), 5u);
  EXPECT_EQ(counts[0], (std::pair<int64_t, int64_t>{1, 1}));
  EXPECT_EQ(counts[1], (std::pair<int64_t, int64_t>{2, 2}));
  EXPECT_EQ(counts[2], (std::pair<int64_t, int64_t>{1, 2}));
  EXPECT_EQ(counts[3], (std::pair<int64_t, int64_t>{2, 2}));
  EXPECT_EQ(counts.back().first, 0);
}

TEST_F(ProcessSupervisorTest, ALeaderThatExitsZeroFinishesTheRun) {
  ProcessSupervisor supervisor({.kill_grace = 2s});
  ASSERT_TRUE(supervisor.spawn("controller-0", shell("sleep 0.2; exit 0")).ok());
  ASSERT_TRUE(supervisor.spawn("rollout-0", shell("sleep 0.1; exit 0"), {.max_restarts = 2, .backoff = 10ms}).ok());
  const Status status = supervisor.wait("controller-0");
  EXPECT_TRUE(status.ok()) << status.to_string();
  EXPECT_EQ(supervisor.restarts("rollout-0"), 0);
}

// Each start appends a time stamp: 1 start + 2 restarts, 100 ms then 200 ms apart at least.
TEST_F(ProcessSupervisorTest, RestartsAFailingWorkerWithDoublingBackoffThenFailsNamingIt) {
  const std::filesystem::path starts = dir_.path() / "starts";
  ProcessSupervisor supervisor({.kill_grace = 2s});
  ASSERT_TRUE(supervisor.spawn("controller-0", kSleepLong).ok());
  ASSERT_TRUE(supervisor
                  .spawn("rollout-0", shell("date +%s%N >> " + starts.string() + "; exit 3"),
                         {.max_restarts = 2, .backoff = 100ms})
                  .ok());
  const Status status = supervisor.wait("controller-0");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(status, "process rollout-0")) << status.message();
  EXPECT_TRUE(contains(status, "exit code 3")) << status.message();
  EXPECT_TRUE(contains(status, "restarted 2 times already ([supervision] max_restarts = 2)")) << status.message();
  EXPECT_EQ(supervisor.restarts("rollout-0"), 2);
  EXPECT_TRUE(supervisor.running_pids().empty());  // the leader was terminated too

  const std::vector<std::string> stamps = lines_of(starts);
  ASSERT_EQ(stamps.size(), 3u);
  const auto nanoseconds = [&](size_t i) { return std::stoll(stamps[i]); };
  EXPECT_GE(nanoseconds(1) - nanoseconds(0), 100'000'000);
  EXPECT_GE(nanoseconds(2) - nanoseconds(1), 200'000'000);
}

// Killed by a signal the first time, healthy after its restart: the run completes.
TEST_F(ProcessSupervisorTest, AWorkerThatRecoversAfterARestartLetsTheRunFinish) {
  const std::filesystem::path marker = dir_.path() / "started-once";
  ProcessSupervisor supervisor({.kill_grace = 2s});
  ASSERT_TRUE(supervisor.spawn("controller-0", shell("sleep 1; exit 0")).ok());
  ASSERT_TRUE(supervisor
                  .spawn("verifier-0",
                         shell("if [ -e " + marker.string() + " ]; then exit 0; fi; touch " + marker.string() +
                               "; kill -9 $$"),
                         {.max_restarts = 1, .backoff = 10ms})
                  .ok());
  const Status status = supervisor.wait("controller-0");
  EXPECT_TRUE(status.ok()) << status.to_string();
  EXPECT_EQ(supervisor.restarts("verifier-0"), 1);
}

// The learner has no restart policy: its failure stops the run, and the workers terminated
// on the way out are not restarted.
TEST_F(ProcessSupervisorTest, ALearnerFailureStopsTheRun) {
  ProcessSupervisor supervisor({.kill_grace = 2s});
  ASSERT_TRUE(supervisor.spawn("controller-0", kSleepLong).ok());
  ASSERT_TRUE(supervisor.spawn("learner-0", shell("sleep 0.1; exit 4")).ok());
  ASSERT_TRUE(supervisor.spawn("rollout-0", kSleepLong, {.max_restarts = 3, .backoff = 10ms}).ok());
  const Status status = supervisor.wait("controller-0");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(status, "process learner-0")) << status.message();
  EXPECT_TRUE(contains(status, "exit code 4")) << status.message();
  EXPECT_TRUE(supervisor.running_pids().empty());
  EXPECT_EQ(supervisor.restarts("rollout-0"), 0);
}

TEST_F(ProcessSupervisorTest, ALeaderFailureStopsTheRun) {
  ProcessSupervisor supervisor({.kill_grace = 2s});
  ASSERT_TRUE(supervisor.spawn("controller-0", shell("sleep 0.1; kill -9 $$")).ok());
  ASSERT_TRUE(supervisor.spawn("rollout-0", kSleepLong, {.max_restarts = 3, .backoff = 10ms}).ok());
  const Status status = supervisor.wait("controller-0");
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(status, "process controller-0")) << status.message();
  EXPECT_TRUE(contains(status, "killed by signal 9")) << status.message();
  EXPECT_TRUE(supervisor.running_pids().empty());
}

// SIGTERM reaches the leader alone: it checks, 0.3 s after its own SIGTERM, that the worker has
// not been stopped yet (it would have written its file), and exits 0 only then. The worker is
// stopped (SIGINT) after the leader has exited.
TEST_F(ProcessSupervisorTest, SigtermGoesToTheLeaderOnlyAndTheRestAfterItExits) {
  const std::filesystem::path worker_file = dir_.path() / "worker-stopped";
  ProcessSupervisor supervisor({.kill_grace = 2s, .sigterm_grace = 10s});
  ASSERT_TRUE(supervisor
                  .spawn("controller-0", shell("trap 'sleep 0.3; if [ -e " + worker_file.string() +
                                               " ]; then exit 9; fi; exit 0' TERM; while :; do sleep 0.05; done"))
                  .ok());
  ASSERT_TRUE(supervisor
                  .spawn("rollout-0",
                         shell("trap 'touch " + worker_file.string() + "; exit 0' INT TERM; while :; do sleep 0.05; done"),
                         {.max_restarts = 3, .backoff = 10ms})
                  .ok());
  const std::jthread sender = signal_later(300ms, SIGTERM);
  const Status status = supervisor.wait("controller-0");
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_TRUE(contains(status, "stopped by SIGTERM: controller-0 exited within the grace period (exit code 0)"))
      << status.message();
  EXPECT_TRUE(std::filesystem::exists(worker_file));
  EXPECT_TRUE(supervisor.running_pids().empty());
  EXPECT_EQ(supervisor.restarts("rollout-0"), 0);
}

TEST_F(ProcessSupervisorTest, ALeaderIgnoringSigtermIsTerminatedAfterTheGrace) {
  ProcessSupervisor supervisor({.kill_grace = 200ms, .sigterm_grace = 300ms});
  ASSERT_TRUE(supervisor.spawn("controller-0", shell("trap '' TERM; while :; do sleep 0.05; done")).ok());
  ASSERT_TRUE(supervisor.spawn("learner-0", kSleepLong).ok());
  const auto started = Clock::now();
  const std::jthread sender = signal_later(200ms, SIGTERM);
  const Status status = supervisor.wait("controller-0");
  const auto elapsed = Clock::now() - started;
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_TRUE(contains(status, "did not exit within [supervision] sigterm_grace_s = 0.3")) << status.message();
  EXPECT_GE(elapsed, 500ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_TRUE(supervisor.running_pids().empty());
}

TEST_F(ProcessSupervisorTest, SigintDuringTheSigtermGraceStopsEverythingAtOnce) {
  ProcessSupervisor supervisor({.kill_grace = 200ms, .sigterm_grace = 60s});
  ASSERT_TRUE(supervisor.spawn("controller-0", shell("trap '' TERM; while :; do sleep 0.05; done")).ok());
  const auto started = Clock::now();
  const std::jthread first = signal_later(200ms, SIGTERM);
  const std::jthread second = signal_later(500ms, SIGINT);
  const Status status = supervisor.wait("controller-0");
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_TRUE(contains(status, "interrupted by Interrupt")) << status.message();
  EXPECT_LT(Clock::now() - started, 5s);
  EXPECT_TRUE(supervisor.running_pids().empty());
}

}  // namespace
}  // namespace caravan::apps
