// End-to-end: `caravan run` as a user starts it, with every role a real process.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/caravan_cli.h"
#include "tests/common/hf_checkpoint.h"
#include "tests/integration/caravan_run.h"

namespace {

using namespace caravan::testing;

class RunIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_dir_ = fs::temp_directory_path() /
               ("caravan-it-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(run_dir_);
  }
  void TearDown() override {
    if (!HasFailure()) {
      fs::remove_all(run_dir_);
      fs::remove(run_dir_.string() + ".stdout");
      fs::remove(run_dir_.string() + ".stderr");
    }
  }
  fs::path run_dir_;
};

TEST_F(RunIntegrationTest, ShortRunCompletesWithEveryRoleTakingPart) {
  CaravanRun run(CARAVAN_SHORT_CONFIG, run_dir_);
  auto status = run.wait(120s);
  ASSERT_TRUE(status.has_value()) << "caravan run did not finish within 2 minutes\n" << run.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.stderr_text();

  const std::string log = run.stderr_text();
  for (const char* worker : {"learner-0", "rollout-0", "rollout-1", "verifier-0", "verifier-1"}) {
    EXPECT_NE(log.find(std::string("event=worker_connected worker=") + worker), std::string::npos) << worker;
  }
  const std::string out = run.stdout_text();
  EXPECT_NE(out.find("held-out accuracy after SFT: "), std::string::npos) << out;
  EXPECT_NE(out.find("held-out accuracy after RL: "), std::string::npos) << out;

  // The learner trained and published a new version every step; the actors generated with them.
  std::vector<uint64_t> versions;
  for (const auto& record : read_jsonl(run_dir_ / "metrics.jsonl")) {
    if (record["phase"] == "rl") versions.push_back(record["policy_version"].get<uint64_t>());
  }
  ASSERT_EQ(versions.size(), 4u);
  for (size_t i = 1; i < versions.size(); ++i) EXPECT_EQ(versions[i], versions[i - 1] + 1);
  std::set<uint64_t> generated_with;
  std::set<std::string> statuses;
  for (const auto& sample : read_jsonl(run_dir_ / "samples" / "train.jsonl")) {
    generated_with.insert(sample["policy_version"].get<uint64_t>());
    const nlohmann::json& reward = sample["reward"];
    statuses.insert(reward["status"].get<std::string>());
    // The breakdown in the layout reward-test --out writes too (core/reward_record.h).
    for (const char* field : {"verifier", "status", "detail", "raw_score", "steps", "final_reward", "trainable",
                              "config_version"}) {
      EXPECT_TRUE(reward.contains(field)) << field << ": " << sample.dump();
    }
    // Generated tokens without the EOS: a stopped sample used at most max_new_tokens - 1 of
    // them, a truncated one all max_new_tokens = 6 (short_run.toml). Each token is at most one
    // character of the completion (byte tokenizer; special tokens decode to nothing; the sample
    // file writes each invalid UTF-8 byte as one U+FFFD).
    const int64_t tokens = sample["completion_tokens"];
    const std::string completion = sample["completion"];
    const auto characters = std::count_if(completion.begin(), completion.end(),
                                          [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
    EXPECT_GE(tokens, characters) << sample.dump();
    if (sample["finish_reason"] == "length") {
      EXPECT_EQ(tokens, 6) << sample.dump();
    } else {
      EXPECT_LE(tokens, 5) << sample.dump();
    }
  }
  // Sampled with SFT weights (version 1) and then versions 2, 3, 4 broadcast after each step:
  // the policy version advanced at least three times on the rollout actors.
  EXPECT_GE(generated_with.size(), 4u);
  EXPECT_TRUE(statuses.count("ok") || statuses.count("wrong"));

  for (const char* file : {"config.toml", "metrics.jsonl", "samples/eval-sft.jsonl", "samples/eval-rl.jsonl",
                           "checkpoints/step-000002/model.safetensors", "checkpoints/step-000004/model.safetensors",
                           "checkpoints/step-000004/config.json", "checkpoints/step-000004/optimizer.pt",
                           "checkpoints/step-000004/controller_state.json",
                           // Complete, so another run can take it as [model] path.
                           "final_model/model.safetensors", "final_model/tokenizer.json",
                           "final_model/tokenizer_config.json"}) {
    EXPECT_TRUE(fs::exists(run_dir_ / file)) << file;
  }
  const auto state = nlohmann::json::parse(read_file(run_dir_ / "checkpoints/step-000004/controller_state.json"));
  EXPECT_EQ(state["step"], 4);
  EXPECT_TRUE(processes_with(run_dir_.string()).empty()) << "worker processes outlived the run";
}

// Waits until the run's rollout actor 0 is up; returns its pid, or -1 after a minute.
pid_t await_rollout_actor(const fs::path& run_dir) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto pids = processes_with("--role rollout --rank 0 --config " + (run_dir / "config.toml").string());
    if (pids.size() == 1) return pids.front();
    std::this_thread::sleep_for(50ms);
  }
  return -1;
}

TEST_F(RunIntegrationTest, KilledWorkerFailsTheRunAndLeavesNoOrphans) {
  CaravanRun run(CARAVAN_LONG_CONFIG, run_dir_);
  const pid_t rollout = await_rollout_actor(run_dir_);
  ASSERT_GT(rollout, 0) << run.stderr_text();
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(::kill(rollout, SIGKILL), 0);

  auto status = run.wait(60s);
  ASSERT_TRUE(status.has_value()) << "caravan run kept running after a worker died\n" << run.stderr_text();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
  const std::string log = run.stderr_text();
  EXPECT_NE(log.find("process rollout-0 (pid " + std::to_string(rollout) + ") died: killed by signal 9"),
            std::string::npos)
      << log;
  EXPECT_TRUE(processes_with(run_dir_.string()).empty()) << "orphaned worker processes remain";
}

TEST_F(RunIntegrationTest, CtrlCStopsEveryProcessPromptly) {
  CaravanRun run(CARAVAN_LONG_CONFIG, run_dir_);
  ASSERT_GT(await_rollout_actor(run_dir_), 0) << run.stderr_text();
  std::this_thread::sleep_for(1s);
  // What a terminal's Ctrl-C does: SIGINT to every process of the foreground group.
  ASSERT_EQ(::kill(-run.pid(), SIGINT), 0);
  auto status = run.wait(20s);
  ASSERT_TRUE(status.has_value()) << "caravan run ignored Ctrl-C\n" << run.stderr_text();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 130) << run.stderr_text();
  const std::string log = run.stderr_text();
  EXPECT_NE(log.find("interrupted by Interrupt"), std::string::npos) << log;
  // Every worker stopped by itself (the learner mid-SFT included), none had to be killed.
  EXPECT_EQ(log.find("event=kill "), std::string::npos) << log;
  EXPECT_TRUE(processes_with(run_dir_.string()).empty()) << "worker processes outlived Ctrl-C";
}

// A 2-step GRPO run of a (random, tiny) Qwen3-shaped Hugging Face checkpoint on the Tülu 3 style
// sample set (tests/data/rlvr/sample.jsonl: gsm8k, MATH and ifeval rows, one malformed row on
// line 21, one prompt too long for this context), every prompt rendered by Qwen3's chat template.
std::string rlvr_config(const std::string& on_bad_row, const fs::path& model_dir) {
  return std::string(R"([run]
name = "rlvr-integration"
seed = 7
threads_per_process = 1

[task]
kind = "rlvr"
dataset = ")") + CARAVAN_RLVR_SAMPLE + R"("
on_bad_row = ")" + on_bad_row + R"("
held_out_size = 4

[model]
path = ")" + model_dir.string() + R"("
enable_thinking = false

[sft]
steps = 0

[grpo]
steps = 2
prompts_per_step = 4
group_size = 4

[rollout]
actors = 1
max_new_tokens = 12

[verifier]
workers = 1

[cluster]
heartbeat_interval_s = 1
heartbeat_timeout_s = 10
)";
}

class RlvrRunIntegrationTest : public RunIntegrationTest {
 protected:
  void SetUp() override {
    RunIntegrationTest::SetUp();
    model_dir_ = run_dir_.string() + ".model";
    fs::remove_all(model_dir_);
    input_ = caravan::testing::write_qwen3_checkpoint(model_dir_, {.max_position_embeddings = 128});
  }
  // Writes the config next to the run directory and returns its path.
  fs::path write_config(const std::string& on_bad_row) {
    config_ = run_dir_.string() + ".toml";
    std::ofstream(config_) << rlvr_config(on_bad_row, model_dir_);
    return config_;
  }
  void TearDown() override {
    fs::remove(config_);
    if (!HasFailure()) fs::remove_all(model_dir_);
    RunIntegrationTest::TearDown();
  }
  fs::path config_;
  fs::path model_dir_;
  caravan::testing::HfCheckpoint input_;
};

TEST_F(RlvrRunIntegrationTest, TrainsARealCheckpointOnTheSampleSetSkippingTheBadRow) {
  CaravanRun run(write_config("skip"), run_dir_);
  auto status = run.wait(120s);
  ASSERT_TRUE(status.has_value()) << "caravan run did not finish within 2 minutes\n" << run.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << run.stderr_text();

  const std::string log = run.stderr_text();
  EXPECT_NE(log.find("sample.jsonl:21: field 'ground_truth': missing"), std::string::npos) << log;
  EXPECT_NE(log.find("event=dataset_rows_too_long count=1 first_line=38"), std::string::npos) << log;
  // Every process that computes loaded the checkpoint (and logged its time and memory).
  EXPECT_NE(log.find("role=learner rank=0 event=model_loaded source=" + model_dir_.string()), std::string::npos) << log;
  EXPECT_NE(log.find("role=rollout rank=0 event=model_loaded source=" + model_dir_.string()), std::string::npos) << log;
  std::optional<nlohmann::json> dataset;
  int rl_steps = 0;
  for (const auto& record : read_jsonl(run_dir_ / "metrics.jsonl")) {
    if (record["phase"] == "dataset") dataset = record;
    if (record["phase"] == "rl") ++rl_steps;
  }
  ASSERT_TRUE(dataset.has_value());
  EXPECT_EQ((*dataset)["rows_read"], 38);
  EXPECT_EQ((*dataset)["rows_skipped"], 1);
  ASSERT_EQ((*dataset)["skipped_problems"].size(), 1u);
  EXPECT_NE((*dataset)["skipped_problems"][0].get<std::string>().find("sample.jsonl:21: "), std::string::npos);
  EXPECT_EQ((*dataset)["rows_too_long"], 1);
  EXPECT_EQ((*dataset)["held_out_rows"], 4);
  EXPECT_EQ((*dataset)["training_rows"], 32);
  EXPECT_EQ(rl_steps, 2);
  const std::string out = run.stdout_text();
  EXPECT_NE(out.find("held-out accuracy before RL: "), std::string::npos) << out;  // no SFT phase
  EXPECT_NE(out.find("final model: " + (run_dir_ / "final_model").string()), std::string::npos) << out;

  // Every reward item went to the row's verifier with the row's dataset as its source.
  std::set<std::string> verifiers;
  std::set<std::string> held_out_prompts;
  for (const char* file : {"train.jsonl", "eval-sft.jsonl", "eval-rl.jsonl"}) {
    const auto samples = read_jsonl(run_dir_ / "samples" / file);
    EXPECT_EQ(samples.size(), std::string(file) == "train.jsonl" ? 2u * 4 * 4 : 4u) << file;
    for (const auto& sample : samples) {
      const std::string verifier = sample["verifier"];
      const std::string source = sample["source"];
      EXPECT_EQ(sample["reward"]["verifier"], verifier);
      EXPECT_NE(sample["reward"]["status"], "error") << sample.dump();
      EXPECT_EQ(verifier, source == "ifeval" ? "ifeval" : "math") << sample.dump();
      // The row's messages, as the chat template received them.
      ASSERT_TRUE(sample["prompt"].is_array()) << sample.dump();
      EXPECT_EQ(sample["prompt"].back()["role"], "user") << sample.dump();
      verifiers.insert(verifier);
      if (std::string(file) != "train.jsonl") held_out_prompts.insert(sample["prompt"].dump());
    }
  }
  EXPECT_EQ(verifiers, (std::set<std::string>{"math", "ifeval"}));
  for (const auto& sample : read_jsonl(run_dir_ / "samples" / "train.jsonl")) {
    EXPECT_EQ(held_out_prompts.count(sample["prompt"].dump()), 0u) << "trained on a held-out row";
  }
  EXPECT_TRUE(processes_with(run_dir_.string()).empty()) << "worker processes outlived the run";

  // The final model and the last checkpoint are complete Hugging Face directories with the
  // input's config.json (a run changes the weights only; they are saved in the input's bf16).
  for (const fs::path& dir : {run_dir_ / "final_model", run_dir_ / "checkpoints" / "step-000002"}) {
    EXPECT_EQ(nlohmann::json::parse(read_file(dir / "config.json")), input_.config_json) << dir;
    for (const char* file : {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
      EXPECT_TRUE(fs::exists(dir / file)) << dir / file;
    }
  }

  // The final model serves `caravan generate` and `caravan eval` directly.
  const fs::path prompts = run_dir_ / "prompts.jsonl";
  std::ofstream(prompts) << R"({"messages": [{"role": "user", "content": "What is 2+3?"}], "id": "a"})" << "\n"
                         << R"({"prompt": "2+3="})" << "\n";
  const caravan::testing::CliOutcome generated = caravan::testing::run_caravan(
      "generate --model '" + (run_dir_ / "final_model").string() + "' --prompts '" + prompts.string() +
          "' --n 2 --temperature 0.7 --max-new-tokens 6 --threads 1",
      run_dir_);
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  std::istringstream completions(generated.out);
  int rows = 0;
  for (std::string line; std::getline(completions, line); ++rows) {
    const nlohmann::json row = nlohmann::json::parse(line);
    EXPECT_EQ(row["tokens"].size(), row["logprobs"].size()) << line;
    EXPECT_LE(row["tokens"].size(), 6u) << line;
    EXPECT_TRUE(row["finish_reason"] == "stop" || row["finish_reason"] == "length") << line;
    EXPECT_EQ(row["line"], rows < 2 ? 1 : 2) << line;
    if (rows < 2) {
      EXPECT_EQ(row["id"], "a") << line;
    }
  }
  EXPECT_EQ(rows, 4);

  const caravan::testing::CliOutcome evaluated = caravan::testing::run_caravan(
      "eval --model '" + (run_dir_ / "final_model").string() + "' --dataset '" + CARAVAN_RLVR_SAMPLE +
          "' --n 2 --temperature 1 --max-new-tokens 8 --threads 1 --out '" + (run_dir_ / "eval.jsonl").string() + "'",
      run_dir_);
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const std::string& eval_out = evaluated.out;
  for (const char* source : {"gsm8k", "MATH", "ifeval"}) {
    EXPECT_NE(eval_out.find(std::string("\n") + source + " "), std::string::npos) << eval_out;
  }
  EXPECT_NE(eval_out.find("pass@1"), std::string::npos) << eval_out;
  EXPECT_NE(eval_out.find("pass@2"), std::string::npos) << eval_out;
  // 36 rows fit (the malformed one is skipped, the long one does not fit): 2 samples each.
  EXPECT_EQ(read_jsonl(run_dir_ / "eval.jsonl").size(), 2u * 36) << eval_out;
}

TEST_F(RlvrRunIntegrationTest, FailPolicyStopsTheRunNamingTheBadLine) {
  CaravanRun run(write_config("fail"), run_dir_);
  auto status = run.wait(60s);
  ASSERT_TRUE(status.has_value()) << "caravan run kept running after a bad row\n" << run.stderr_text();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
  const std::string log = run.stderr_text();
  EXPECT_NE(log.find("sample.jsonl:21: field 'ground_truth': missing"), std::string::npos) << log;
  EXPECT_TRUE(processes_with(run_dir_.string()).empty()) << "orphaned worker processes remain";
}

TEST_F(RlvrRunIntegrationTest, ACheckpointWithoutTokenizerFailsBeforeAnyProcessStarts) {
  fs::remove(model_dir_ / "tokenizer.json");
  CaravanRun run(write_config("skip"), run_dir_);
  auto status = run.wait(30s);
  ASSERT_TRUE(status.has_value()) << run.stderr_text();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
  const std::string log = run.stderr_text();
  EXPECT_NE(log.find((model_dir_ / "tokenizer.json").string() + ": missing"), std::string::npos) << log;
  EXPECT_EQ(log.find("role=learner"), std::string::npos) << "a worker started: " << log;
  EXPECT_FALSE(fs::exists(run_dir_)) << "a failed start left a run directory";
}

}  // namespace
