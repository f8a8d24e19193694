// End-to-end: `caravan run` with two data-parallel learner ranks ([learner] ranks = 2) training
// PPO with a value model in two mini-batches per step, checkpointed (rank 0 writes every rank's
// optimizer shards), stopped by SIGTERM and resumed with `caravan run --resume`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/integration/caravan_run.h"

namespace {

using namespace caravan::testing;

constexpr int kSteps = 8;  // data_parallel_run.toml [grpo] steps

std::string checkpoint_name(int step) {
  char name[32];
  std::snprintf(name, sizeof(name), "step-%06d", step);
  return name;
}

TEST(DataParallelRun, TwoLearnerRanksCheckpointStopAndResume) {
  const fs::path run_dir = fs::temp_directory_path() / ("caravan-it-dp-" + std::to_string(::getpid()));
  fs::remove_all(run_dir);
  int stopped_at = 0;
  {
    CaravanRun run(CARAVAN_DATA_PARALLEL_CONFIG, run_dir);
    ASSERT_TRUE(await_step(run_dir, 3, 90s)) << run.stderr_text();
    ASSERT_EQ(::kill(run.pid(), SIGTERM), 0);
    auto status = run.wait(60s);
    ASSERT_TRUE(status.has_value()) << run.stderr_text();
    EXPECT_FALSE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    // Both ranks formed the group; rank 0 served the controller.
    const std::string log = run.stderr_text();
    for (const char* rank : {"rank=0 ranks=2", "rank=1 ranks=2"}) {
      EXPECT_NE(log.find(std::string("event=learner_ranks_joined ") + rank), std::string::npos) << rank << "\n" << log;
    }
    EXPECT_NE(log.find("event=worker_connected worker=learner-0"), std::string::npos);
    // checkpoint_every = 2, and the checkpoint of the step SIGTERM let finish: each holds the
    // whole optimizer state and every rank's RNG state.
    stopped_at = last_step(run_dir);
    ASSERT_GE(stopped_at, 3);
    ASSERT_LT(stopped_at, kSteps);
    for (const int step : {2, stopped_at}) {
      const fs::path dir = run_dir / "checkpoints" / checkpoint_name(step);
      for (const char* file : {"COMMITTED", "optimizer.pt", "rng_state.safetensors", "learner_state.json",
                               "value_model.safetensors", "value_optimizer.pt"}) {
        EXPECT_TRUE(fs::exists(dir / file)) << dir / file << "\n" << log;
      }
    }
  }
  CaravanRun resumed(CaravanRun::resume_arguments(run_dir), run_dir.string() + ".resume");
  auto status = resumed.wait(120s);
  ASSERT_TRUE(status.has_value()) << resumed.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << resumed.stderr_text();
  const std::string log = resumed.stderr_text();
  const std::string checkpoint = (run_dir / "checkpoints" / checkpoint_name(stopped_at)).string();
  EXPECT_NE(log.find("event=resumed checkpoint=" + checkpoint + " step=" + std::to_string(stopped_at)),
            std::string::npos)
      << log;
  // Each rank restored its part of it.
  for (const char* rank : {" rank=0", " rank=1"}) {
    EXPECT_NE(log.find("event=checkpoint_restored dir=" + checkpoint + " step=" + std::to_string(stopped_at)),
              std::string::npos)
        << log;
    EXPECT_NE(log.find(std::string("rl_started=1") + rank), std::string::npos) << rank << "\n" << log;
  }
  // Every step trained once, in order, each publishing the next policy version.
  std::vector<int> steps;
  std::vector<uint64_t> versions;
  // Steps whose record has the value model's terms (PPO; a step with nothing judged has none).
  int value_terms = 0;
  for (const auto& record : read_jsonl(run_dir / "metrics.jsonl")) {
    if (record.value("phase", "") != "rl") continue;
    value_terms += record.contains("terms") && record["terms"].contains("explained_variance") ? 1 : 0;
    steps.push_back(record["step"].get<int>());
    versions.push_back(record["policy_version"].get<uint64_t>());
  }
  std::vector<int> expected(kSteps);
  for (int i = 0; i < kSteps; ++i) expected[static_cast<size_t>(i)] = i + 1;
  EXPECT_EQ(steps, expected) << read_file(run_dir / "metrics.jsonl");
  EXPECT_GT(value_terms, 0) << read_file(run_dir / "metrics.jsonl");
  for (size_t i = 1; i < versions.size(); ++i) EXPECT_EQ(versions[i], versions[i - 1] + 1);
  EXPECT_TRUE(fs::exists(run_dir / "checkpoints" / checkpoint_name(kSteps) / "COMMITTED"));
  EXPECT_NE(resumed.stdout_text().find("held-out accuracy after RL: "), std::string::npos) << resumed.stdout_text();
  for (const char* file : {"config.toml", "metrics.jsonl", "samples/eval-rl.jsonl", "final_model/config.json"}) {
    EXPECT_TRUE(fs::exists(run_dir / file)) << file;
  }
  EXPECT_TRUE(processes_with(run_dir.string()).empty()) << "worker processes outlived the run";
  if (!::testing::Test::HasFailure()) {
    fs::remove_all(run_dir);
    for (const char* suffix : {".stdout", ".stderr", ".resume.stdout", ".resume.stderr"}) {
      fs::remove(run_dir.string() + suffix);
    }
  }
}

} // namespace
