// The guards on learning, one per RL recipe: each trains the same SFT checkpoint for 150 steps
// with `caravan run` (every role a real process) and must end with held-out accuracy at least
// kMinGainPoints above the checkpoint's. The checkpoint is made once per ctest run by the fixture
// test learning_guard_sft_model (`caravan run learning_sft.toml`, SFT only) and loaded through
// [model] path (learning_rl.toml), so the recipes share one SFT instead of each repeating it.
// Run them through ctest (`ctest -R LearningGuard`), which runs the fixture first.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>

#include "tests/integration/caravan_run.h"

namespace {

using namespace caravan::testing;

// The margin is set below the smallest gain measured for the GRPO recipe over several seeds
// (bench/RESULTS.md, "Learning guard") and below each recipe's measured gain on the test's seed
// ("Learning guards per RL recipe"): OpenBLAS on another machine may round differently, which
// moves the numbers about as much as another seed does. A recipe that learns nothing gains 0:
// the evaluation is greedy, so unchanged weights score the same.
constexpr double kMinGainPoints = 2.0;

// An RL recipe: its name in the test's name and its keys, appended to learning_rl.toml's [grpo].
struct Recipe {
  std::string name;
  std::string grpo_keys;
};

void PrintTo(const Recipe& recipe, std::ostream* out) { *out << recipe.name; }

class LearningGuardTest : public ::testing::TestWithParam<Recipe> {
 protected:
  void SetUp() override {
    run_dir_ = fs::temp_directory_path() / ("caravan-learning-" + std::to_string(::getpid()) + "-" + GetParam().name);
    fs::remove_all(run_dir_);
  }
  void TearDown() override {
    if (!HasFailure()) {
      fs::remove_all(run_dir_);
      fs::remove(run_dir_.string() + ".toml");
      fs::remove(run_dir_.string() + ".stdout");
      fs::remove(run_dir_.string() + ".stderr");
    }
  }
  // Writes learning_rl.toml with the SFT checkpoint's path in place of "@SFT_MODEL@" (a JSON
  // string is a TOML basic string) and the recipe's keys appended; nullopt when the template
  // lacks the placeholder.
  std::optional<fs::path> write_config() const {
    std::string text = read_file(CARAVAN_LEARNING_RL_CONFIG);
    const std::string placeholder = "\"@SFT_MODEL@\"";
    const size_t at = text.find(placeholder);
    if (at == std::string::npos) return std::nullopt;
    text.replace(at, placeholder.size(), nlohmann::json(CARAVAN_LEARNING_SFT_MODEL).dump());
    text += GetParam().grpo_keys;
    const fs::path config = run_dir_.string() + ".toml";
    std::ofstream(config) << text;
    return config;
  }
  fs::path run_dir_;
};

TEST_P(LearningGuardTest, RlRaisesHeldOutAccuracyOverSft) {
  ASSERT_TRUE(fs::exists(fs::path(CARAVAN_LEARNING_SFT_MODEL) / "model.safetensors"))
      << CARAVAN_LEARNING_SFT_MODEL << " is missing: ctest makes it with the fixture test learning_guard_sft_model";
  const std::optional<fs::path> config = write_config();
  ASSERT_TRUE(config) << CARAVAN_LEARNING_RL_CONFIG << " has no path = \"@SFT_MODEL@\" for the checkpoint";
  const auto started = std::chrono::steady_clock::now();
  CaravanRun run(*config, run_dir_);
  auto status = run.wait(240s);
  ASSERT_TRUE(status.has_value()) << "caravan run did not finish within 4 minutes\n" << run.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.stderr_text();
  std::optional<double> after_sft, after_rl;
  for (const auto& record : read_jsonl(run_dir_ / "metrics.jsonl")) {
    if (record["phase"] == "eval-sft") after_sft = record["held_out_accuracy"].get<double>();
    if (record["phase"] == "eval-rl") after_rl = record["held_out_accuracy"].get<double>();
  }
  ASSERT_TRUE(after_sft && after_rl) << read_file(run_dir_ / "metrics.jsonl");
  const double gain_points = 100.0 * (*after_rl - *after_sft);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Shown in the test log, so a slower or weaker run is visible before it fails.
  std::printf("%s: held-out accuracy after SFT %.1f%%, after RL %.1f%%, gain %+.1f points, %.0f s\n",
              GetParam().name.c_str(), 100.0 * *after_sft, 100.0 * *after_rl, gain_points, seconds);
  EXPECT_GE(gain_points, kMinGainPoints) << run.stdout_text();
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, LearningGuardTest,
    ::testing::Values(
        // The defaults: GRPO advantages (std division), PPO clip 0.2, token-mean aggregation.
        Recipe{"grpo", ""},
        // Dr. GRPO: no std division, Dr. GRPO's constant denominator.
        Recipe{"dr_grpo", "advantage_estimator = \"dr_grpo\"\nloss_aggregation = \"constant\"\n"},
        // RLOO's leave-one-out baseline with DAPO's clip-higher.
        Recipe{"rloo_clip_higher", "advantage_estimator = \"rloo\"\nclip_high = 0.28\n"}),
    [](const ::testing::TestParamInfo<Recipe>& info) { return info.param.name; });

}  // namespace
