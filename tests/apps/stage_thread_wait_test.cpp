// `caravan run` on an SFT stage, which trains inside the launcher process: the stage runs with
// [run] thread_wait in effect (the launcher re-executes itself with OMP_WAIT_POLICY set), as
// every RL worker does.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "tests/common/caravan_cli.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

using testing::quoted;
using testing::write_text;

TEST(StageThreadWaitTest, SftStageRunsWithTheConfiguredThreadWait) {
  testing::TempDir dir;
  std::string rows;
  for (int i = 0; i < 40; ++i) {
    rows += "{\"prompt\": \"" + std::to_string(i) + "+1=\", \"completion\": \"" + std::to_string(i + 1) + "\"}\n";
  }
  write_text(dir.path() / "sft.jsonl", rows);
  write_text(dir.path() / "sft.toml", R"([run]
name = "stage-thread-wait"
threads_per_process = 1
thread_wait = "active"
[task]
kind = "sft"
dataset = ")" + (dir.path() / "sft.jsonl").string() + R"("
held_out_fraction = 0.1
[model]
vocab_size = 259
hidden_size = 32
intermediate_size = 64
num_layers = 1
num_heads = 2
num_kv_heads = 1
max_position_embeddings = 32
[sft]
steps = 2
batch_size = 4
)");
  // The launcher starts without the policy in its environment (a user's shell).
  ::unsetenv("OMP_WAIT_POLICY");
  const testing::CliOutcome outcome =
      testing::run_caravan("run --run-dir " + quoted(dir.path() / "run") + " " + quoted(dir.path() / "sft.toml"),
                           dir.path());
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_NE(outcome.err.find("stage=sft thread_wait=active OMP_WAIT_POLICY=ACTIVE"), std::string::npos) << outcome.err;
}

}  // namespace
} // namespace caravan::apps
