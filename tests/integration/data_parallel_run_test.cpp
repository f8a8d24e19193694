// End-to-end: `caravan run` with two data-parallel learner ranks ([learner] ranks = 2).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/integration/caravan_run.h"

namespace {

using namespace caravan::testing;

TEST(DataParallelRun, TwoLearnerRanksCompleteAShortRun) {
  const fs::path run_dir = fs::temp_directory_path() / ("caravan-it-dp-" + std::to_string(::getpid()));
  fs::remove_all(run_dir);
  CaravanRun run(CARAVAN_DATA_PARALLEL_CONFIG, run_dir);
  auto status = run.wait(120s);
  ASSERT_TRUE(status.has_value()) << "caravan run did not finish within 2 minutes\n" << run.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.stderr_text();

  // Both ranks formed the group; rank 0 served the controller.
  const std::string log = run.stderr_text();
  for (const char* rank : {"rank=0 ranks=2", "rank=1 ranks=2"}) {
    EXPECT_NE(log.find(std::string("event=learner_ranks_joined ") + rank), std::string::npos) << rank << "\n" << log;
  }
  EXPECT_NE(log.find("event=worker_connected worker=learner-0"), std::string::npos);
  // The ranks' sharded optimizer state is not checkpointed: the run says so instead of failing.
  EXPECT_NE(log.find("event=checkpoint_skipped"), std::string::npos) << log;
  // Every step trained (on both ranks' shares) and published a new policy version.
  std::vector<uint64_t> versions;
  for (const auto& record : read_jsonl(run_dir / "metrics.jsonl")) {
    if (record["phase"] == "rl") versions.push_back(record["policy_version"].get<uint64_t>());
  }
  ASSERT_EQ(versions.size(), 4u) << read_file(run_dir / "metrics.jsonl");
  for (size_t i = 1; i < versions.size(); ++i) EXPECT_EQ(versions[i], versions[i - 1] + 1);
  EXPECT_NE(run.stdout_text().find("held-out accuracy after RL: "), std::string::npos) << run.stdout_text();
  for (const char* file : {"config.toml", "metrics.jsonl", "samples/eval-rl.jsonl", "final_model/config.json"}) {
    EXPECT_TRUE(fs::exists(run_dir / file)) << file;
  }
  EXPECT_TRUE(processes_with(run_dir.string()).empty()) << "worker processes outlived the run";
  if (!::testing::Test::HasFailure()) {
    fs::remove_all(run_dir);
    fs::remove(run_dir.string() + ".stdout");
    fs::remove(run_dir.string() + ".stderr");
  }
}

} // namespace
