// `caravan run --resume` as a user starts it, up to the point where it would start processes.
#include <gtest/gtest.h>

#include "tests/common/caravan_cli.h"
#include "tests/common/tcp_listener.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

class RunResumeTest : public ::testing::Test {
 protected:
  testing::CliOutcome run(const std::string& args) { return testing::run_caravan(args, dir_.path()); }
  caravan::testing::TempDir dir_;
};

TEST_F(RunResumeTest, ADirectoryWithoutConfigIsRefused) {
  const testing::CliOutcome outcome = run("run --resume " + testing::quoted(dir_.path()));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.err;
  EXPECT_NE(outcome.err.find("--resume " + dir_.path().string() + ": not a run directory (no config.toml)"),
            std::string::npos)
      << outcome.err;
}

TEST_F(RunResumeTest, RunDirDoesNotApplyToAResume) {
  const testing::CliOutcome outcome = run("run --resume " + testing::quoted(dir_.path()) + " --run-dir elsewhere");
  EXPECT_EQ(outcome.exit_code, 2) << outcome.err;
  EXPECT_NE(outcome.err.find("--run-dir does not apply"), std::string::npos) << outcome.err;
}

// A port set in the config (no record of `caravan run` picking it) that another process holds:
// the resume stops before starting anything, names the file, key and port, and leaves the
// config as it was.
TEST_F(RunResumeTest, ATakenPortTheUserSetStopsTheResumeNamingIt) {
  const testing::TcpListener holder;
  const std::filesystem::path run_dir = dir_.path() / "run";
  std::filesystem::create_directories(run_dir / "checkpoints");
  // The integration test's short run, resolved into `run_dir` with its controller port held.
  std::string config = testing::read_text(std::filesystem::path(CARAVAN_SOURCE_DIR) / "tests/integration/short_run.toml");
  config.replace(config.find("[run]\n"), 6, "[run]\ndirectory = \"" + run_dir.string() + "\"\n");
  config.replace(config.find("[cluster]\n"), 10, "[cluster]\ncontroller_port = " + std::to_string(holder.port()) + "\n");
  testing::write_text(run_dir / "config.toml", config);
  const testing::CliOutcome outcome = run("run --resume " + testing::quoted(run_dir));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.err;
  EXPECT_NE(outcome.err.find((run_dir / "config.toml").string() + ": [cluster] controller_port = " +
                             std::to_string(holder.port()) + " is in use"),
            std::string::npos)
      << outcome.err;
  EXPECT_EQ(outcome.err.find("event=spawned"), std::string::npos) << outcome.err;
  EXPECT_EQ(testing::read_text(run_dir / "config.toml"), config);
}

}  // namespace
}  // namespace caravan::apps
