// The runtime end to end (issue 18): runs that survive killed workers (Chaos), a killed
// controller resumed without losing or repeating a prompt (Resume), the async pipeline's
// staleness bound (Staleness), and workers that leave when their controller is gone. Every test
// drives the real `caravan` binary on the quickstart model (tests/integration/runtime_run.toml).
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <set>

#include "tests/common/caravan_cli.h"
#include "tests/integration/caravan_run.h"

namespace {

using namespace caravan::testing;

constexpr int kSteps = 16;          // runtime_run.toml [grpo] steps
constexpr int kPromptsPerStep = 8;  // prompts_per_step
constexpr int kGroupSize = 4;       // group_size

// runtime_run.toml with `extra` TOML sections appended.
fs::path write_config(const fs::path& where, const std::string& extra) {
  const std::string base = read_file(CARAVAN_RUNTIME_CONFIG);
  std::ofstream(where) << base << "\n" << extra;
  return where;
}

pid_t pid_of(const fs::path& run_dir, const std::string& role, int rank) {
  const auto pids =
      processes_with("--role " + role + " --rank " + std::to_string(rank) + " --config " + (run_dir / "config.toml").string());
  return pids.size() == 1 ? pids.front() : -1;
}

// Every training prompt of the run (keys 0 .. steps * prompts_per_step - 1) appears in the
// sample file with each of its samples exactly once.
void expect_every_prompt_trained_once(const fs::path& run_dir) {
  std::map<std::pair<uint64_t, uint32_t>, int> seen;
  for (const auto& sample : read_jsonl(run_dir / "samples" / "train.jsonl")) {
    ++seen[{sample["prompt_key"].get<uint64_t>(), sample["sample_index"].get<uint32_t>()}];
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kSteps * kPromptsPerStep * kGroupSize));
  for (const auto& [key, count] : seen) {
    EXPECT_LT(key.first, static_cast<uint64_t>(kSteps * kPromptsPerStep));
    EXPECT_EQ(count, 1) << "prompt " << key.first << " sample " << key.second;
  }
  // One metrics record per step, in order.
  std::vector<int> steps;
  for (const auto& record : read_jsonl(run_dir / "metrics.jsonl")) {
    if (record.value("phase", "") == "rl") steps.push_back(record["step"].get<int>());
  }
  std::vector<int> expected(kSteps);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(steps, expected);
}

class RuntimeIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_dir_ = fs::temp_directory_path() /
               ("caravan-rt-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(run_dir_);
    config_ = run_dir_.string() + ".toml";
  }
  void TearDown() override {
    EXPECT_TRUE(processes_with(run_dir_.string()).empty()) << "worker processes outlived the run";
    if (!HasFailure()) {
      fs::remove_all(run_dir_);
      for (const char* suffix : {".toml", ".stdout", ".stderr", ".resume.stdout", ".resume.stderr"}) {
        fs::remove(run_dir_.string() + suffix);
      }
    }
  }
  fs::path run_dir_;
  fs::path config_;
};

// kill -9 a rollout actor, then a verifier, then another rollout actor while a weight sync waits
// for it: the run completes every step, and every prompt is trained exactly once.
TEST_F(RuntimeIntegrationTest, ChaosRunSurvivesKilledActorsAndVerifiers) {
  CaravanRun run(write_config(config_, "[pipeline]\nmode = \"async\"\nmax_staleness = 2\n"), run_dir_);
  ASSERT_TRUE(await_step(run_dir_, 3, 90s)) << run.stderr_text();
  const pid_t actor0 = pid_of(run_dir_, "rollout", 0);
  ASSERT_GT(actor0, 0);
  ASSERT_EQ(::kill(actor0, SIGKILL), 0);

  ASSERT_TRUE(await_step(run_dir_, 7, 60s)) << run.stderr_text();
  const pid_t verifier0 = pid_of(run_dir_, "verifier", 0);
  ASSERT_GT(verifier0, 0);
  ASSERT_EQ(::kill(verifier0, SIGKILL), 0);

  // Freeze actor 1: the sync after the step in progress (steps take well under a second) waits
  // for it; kill it inside that sync.
  ASSERT_TRUE(await_step(run_dir_, 11, 60s)) << run.stderr_text();
  const pid_t actor1 = pid_of(run_dir_, "rollout", 1);
  ASSERT_GT(actor1, 0);
  ASSERT_EQ(::kill(actor1, SIGSTOP), 0);
  std::this_thread::sleep_for(2s);
  ASSERT_EQ(::kill(actor1, SIGKILL), 0);

  auto status = run.wait(120s);
  ASSERT_TRUE(status.has_value()) << "the run did not finish\n" << run.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.stderr_text();
  const std::string log = run.stderr_text();
  EXPECT_NE(log.find("event=weight_sync_failed"), std::string::npos) << "actor 1 did not die inside a sync\n" << log;
  for (const char* worker : {"rollout-0", "verifier-0", "rollout-1"}) {
    EXPECT_NE(log.find(std::string("event=worker_rejoined worker=") + worker), std::string::npos) << worker;
  }
  expect_every_prompt_trained_once(run_dir_);
  EXPECT_NE(run.stdout_text().find("held-out accuracy after RL: "), std::string::npos);
}

// SIGKILL the controller mid-run, leave a checkpoint torn while being written, then
// `caravan run --resume`: the run continues from the last committed checkpoint with the same
// step, policy version and prompts, and nothing is lost or trained twice.
TEST_F(RuntimeIntegrationTest, ResumeAfterKilledControllerLosesNothingAndRepeatsNothing) {
  {
    CaravanRun run(write_config(config_, ""), run_dir_);
    ASSERT_TRUE(await_step(run_dir_, 6, 90s)) << run.stderr_text();
    const pid_t controller = pid_of(run_dir_, "controller", 0);
    ASSERT_GT(controller, 0);
    ASSERT_EQ(::kill(controller, SIGKILL), 0);
    auto status = run.wait(60s);
    ASSERT_TRUE(status.has_value()) << run.stderr_text();
    EXPECT_FALSE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    EXPECT_NE(run.stdout_text().find("resume with: caravan run --resume " + run_dir_.string()), std::string::npos)
        << run.stdout_text();
  }
  // The last committed checkpoint (every 4 steps; the controller died at step 6 or a little later).
  int committed = 0;
  for (int step = 4; step < kSteps; step += 4) {
    char name[32];
    std::snprintf(name, sizeof(name), "step-%06d", step);
    if (fs::exists(run_dir_ / "checkpoints" / name / "COMMITTED")) committed = step;
  }
  ASSERT_GE(committed, 4);
  char committed_name[32], torn_name[32];
  std::snprintf(committed_name, sizeof(committed_name), "step-%06d", committed);
  std::snprintf(torn_name, sizeof(torn_name), "step-%06d", committed + 4);
  // A later checkpoint whose writing was cut short: no commit marker.
  const fs::path torn = run_dir_ / "checkpoints" / torn_name;
  fs::remove_all(torn);
  fs::create_directories(torn);
  write_text(torn / "model.safetensors", "truncated");
  ASSERT_FALSE(fs::exists(torn / "COMMITTED"));

  CaravanRun resumed(CaravanRun::resume_arguments(run_dir_), run_dir_.string() + ".resume");
  auto status = resumed.wait(150s);
  ASSERT_TRUE(status.has_value()) << resumed.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << resumed.stderr_text();
  const std::string log = resumed.stderr_text();
  EXPECT_NE(log.find("event=resumed checkpoint=" + (run_dir_ / "checkpoints" / committed_name).string() +
                     " step=" + std::to_string(committed)),
            std::string::npos)
      << log;
  expect_every_prompt_trained_once(run_dir_);
  // The policy version continues: SFT made version 1, step s makes version s + 1.
  int resumes = 0;
  for (const auto& record : read_jsonl(run_dir_ / "metrics.jsonl")) {
    if (record.value("phase", "") == "rl") EXPECT_EQ(record["policy_version"].get<int>(), record["step"].get<int>() + 1);
    resumes += record.value("phase", "") == "resume" ? 1 : 0;
  }
  EXPECT_EQ(resumes, 1);
  EXPECT_TRUE(fs::exists(run_dir_ / "checkpoints" / "step-000016" / "COMMITTED"));
  EXPECT_NE(resumed.stdout_text().find("held-out accuracy after RL: "), std::string::npos);
}

// SIGTERM (what Slurm and Kubernetes send, here to the launcher) lets the controller finish the
// step in progress and checkpoint it while the other roles keep serving; the resumed run then
// completes with every prompt trained once.
TEST_F(RuntimeIntegrationTest, ResumeAfterSigtermContinuesFromTheCheckpointItWrote) {
  {
    CaravanRun run(write_config(config_, ""), run_dir_);
    ASSERT_TRUE(await_step(run_dir_, 5, 90s)) << run.stderr_text();
    ASSERT_EQ(::kill(run.pid(), SIGTERM), 0);
    auto status = run.wait(40s);  // [supervision] sigterm_grace_s = 30
    ASSERT_TRUE(status.has_value()) << run.stderr_text();
    EXPECT_FALSE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    // The checkpoint holds the last step trained.
    const int stopped_at = last_step(run_dir_);
    char name[32];
    std::snprintf(name, sizeof(name), "step-%06d", stopped_at);
    EXPECT_TRUE(fs::exists(run_dir_ / "checkpoints" / name / "COMMITTED")) << name << "\n" << run.stderr_text();
    EXPECT_LT(stopped_at, kSteps);
    EXPECT_EQ(run.stderr_text().find("event=kill "), std::string::npos) << "a process had to be killed";
  }
  CaravanRun resumed(CaravanRun::resume_arguments(run_dir_), run_dir_.string() + ".resume");
  auto status = resumed.wait(150s);
  ASSERT_TRUE(status.has_value()) << resumed.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << resumed.stderr_text();
  expect_every_prompt_trained_once(run_dir_);
}

// The async pipeline with max_staleness = 2: generation overlaps training (some samples are
// older than the policy that trains them) and no trained sample is older than 2 versions.
TEST_F(RuntimeIntegrationTest, StalenessAsyncRunTrainsNoSampleOlderThanTheBound) {
  CaravanRun run(write_config(config_, "[pipeline]\nmode = \"async\"\nmax_staleness = 2\n"), run_dir_);
  auto status = run.wait(150s);
  ASSERT_TRUE(status.has_value()) << run.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.stderr_text();
  uint64_t oldest = 0;
  for (const auto& sample : read_jsonl(run_dir_ / "samples" / "train.jsonl")) {
    const uint64_t staleness = sample["staleness"].get<uint64_t>();
    EXPECT_LE(staleness, 2u) << sample.dump();
    oldest = std::max(oldest, staleness);
  }
  EXPECT_GT(oldest, 0u) << "generation never overlapped training";
  expect_every_prompt_trained_once(run_dir_);
}

// A worker whose controller is gone exits by itself within its heartbeat timeout.
TEST_F(RuntimeIntegrationTest, WorkerWithoutControllerExitsWithinItsHeartbeatTimeout) {
  fs::create_directories(run_dir_);
  // A resolved config naming a controller port nothing listens on.
  std::string base = read_file(CARAVAN_RUNTIME_CONFIG);
  const std::string heartbeat = "heartbeat_timeout_s = 10";
  base.replace(base.find(heartbeat), heartbeat.size(), "heartbeat_timeout_s = 3");
  std::ofstream(config_) << base << "\n";
  std::string config_text = read_file(config_);
  config_text.replace(config_text.find("[run]\n"), 6, "[run]\ndirectory = \"" + run_dir_.string() + "\"\n");
  config_text.replace(config_text.find("[cluster]\n"), 10, "[cluster]\ncontroller_port = 1\n");
  write_text(config_, config_text);

  const auto started = std::chrono::steady_clock::now();
  const CliOutcome outcome = run_caravan("worker --role verifier --rank 0 --config " + quoted(config_), run_dir_);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_NE(outcome.exit_code, 0);
  EXPECT_LT(seconds, 3.0 + 5.0) << outcome.err;
  EXPECT_NE(outcome.err.find("controller"), std::string::npos) << outcome.err;
}

}  // namespace
