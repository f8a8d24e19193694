// The SFT and DPO stages end to end in-process: a JSONL dataset in, a run directory out, and the
// SFT stage's final model taken as the next stage's [model] path; stopping and resuming a stage
// gives the uninterrupted run's losses bit for bit.
#include <fstream>
#include <functional>
#include <stop_token>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include "core/checkpoints.h"
#include "learner/dpo_stage.h"
#include "learner/sft_stage.h"
#include "learner/stage_loop.h"
#include "model/byte_tokenizer.h"
#include "model/model_loader.h"
#include "tests/common/temp_dir.h"

namespace caravan::learner {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<json> read_jsonl(const fs::path& path) {
  std::vector<json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
  return records;
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int count_phase(const std::vector<json>& records, const std::string& phase) {
  return static_cast<int>(std::count_if(records.begin(), records.end(), [&](const json& r) { return r["phase"] == phase; }));
}

json user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }
json assistant(const std::string& text) { return {{"role", "assistant"}, {"content", text}}; }

class StageTest : public ::testing::Test {
 protected:
  fs::path write_jsonl(const std::string& name, const std::vector<json>& rows) {
    const fs::path path = dir_.path() / name;
    std::ofstream out(path);
    for (const json& row : rows) out << row.dump() << "\n";
    return path;
  }

  StageOptions base_config(const std::string& name, const std::string& kind, const fs::path& dataset) {
    StageOptions config;
    config.run.name = name;
    config.run.directory = (dir_.path() / name).string();
    config.task.kind = kind;
    config.task.dataset = dataset.string();
    config.task.held_out_size = 2;
    config.model.chat_template = "chatml";
    core::TransformerConfig& m = config.model.inline_config;
    m.vocab_size = 259;
    m.hidden_size = 32;
    m.intermediate_size = 64;
    m.num_layers = 2;
    m.num_heads = 4;
    m.num_kv_heads = 2;
    m.max_position_embeddings = 192;
    return config;
  }

  // The stages read their options, not the run directory's config.toml.
  core::RunDirectory create(const StageOptions& config) {
    return core::RunDirectory::create(config.run.directory, "[run]\nname = \"" + config.run.name + "\"\n").value();
  }

  // 20 SFT rows (chat and prompt/completion) or 10 preference pairs of small sums.
  fs::path sft_rows() {
    std::vector<json> conversations;
    for (int a = 0; a < 10; ++a) {
      const std::string question = std::to_string(a) + "+1?";
      const std::string answer = std::to_string(a + 1);
      conversations.push_back({{"messages", {user(question), assistant(answer)}}});
      conversations.push_back({{"prompt", std::to_string(a) + "+1="}, {"completion", answer}});
    }
    return write_jsonl("sft.jsonl", conversations);
  }
  fs::path preference_rows() {
    std::vector<json> pairs;
    for (int a = 0; a < 10; ++a) {
      const std::string question = std::to_string(a) + "+1?";
      pairs.push_back({{"chosen", {user(question), assistant(std::to_string(a + 1))}},
                       {"rejected", {user(question), assistant("x")}}});
    }
    return write_jsonl("pairs.jsonl", pairs);
  }

  caravan::testing::TempDir dir_;
};

TEST_F(StageTest, SftWritesAModelTheDpoStageLoadsAsItsPath) {
  std::vector<json> conversations;
  std::vector<json> pairs;
  for (int a = 0; a < 10; ++a) {
    const std::string question = std::to_string(a) + "+1?";
    const std::string answer = std::to_string(a + 1);
    conversations.push_back({{"messages", {user(question), assistant(answer), user("and +2?"), assistant(std::to_string(a + 2))}}});
    conversations.push_back({{"prompt", std::to_string(a) + "+1="}, {"completion", answer}});
    pairs.push_back({{"chosen", {user(question), assistant(answer)}}, {"rejected", {user(question), assistant("x")}}});
  }
  // One row too long for the model's 192 positions: skipped and counted, never truncated.
  conversations.push_back({{"messages", {user(std::string(200, 'q')), assistant("a")}}});

  StageOptions sft = base_config("sft", "sft", write_jsonl("sft.jsonl", conversations));
  sft.sft.steps = 3;
  sft.sft.batch_size = 4;
  sft.sft.checkpoint_every = 2;
  const core::RunDirectory sft_dir = create(sft);
  const Status sft_status = run_stage(sft, sft_dir, open_sft_stage, {});
  ASSERT_TRUE(sft_status.ok()) << sft_status.to_string();

  const fs::path final_model = sft_dir.root() / "final_model";
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_TRUE(fs::exists(final_model / file)) << file;
  }
  auto latest = core::latest_committed_checkpoint(sft_dir).value();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, 2);
  EXPECT_TRUE(fs::exists(latest->dir / "model.safetensors"));
  const std::vector<json> sft_metrics = read_jsonl(sft_dir.metrics_path());
  EXPECT_EQ(count_phase(sft_metrics, "sft"), 3);
  EXPECT_EQ(count_phase(sft_metrics, "sft_eval"), 2);
  ASSERT_EQ(sft_metrics.front()["phase"], "data");
  EXPECT_EQ(sft_metrics.front()["rows_unfit"], 1);
  EXPECT_EQ(sft_metrics.front()["held_out_rows"], 2);
  EXPECT_EQ(sft_metrics.front()["training_rows"], 18);

  // The exported directory is a complete model: its tokenizer gives the byte tokenizer's ids.
  model::ModelOptions exported;
  exported.path = final_model.string();
  exported.chat_template = "chatml";
  const model::ModelSpec spec = model::open_model(exported).value();
  EXPECT_EQ(spec.prompts->encode_text("2+3="), (std::vector<int32_t>{model::ByteTokenizer::kBosId, '2', '+', '3', '='}));
  EXPECT_EQ(spec.prompts->stop_ids().front(), model::ByteTokenizer::kEosId);
  EXPECT_EQ(spec.tokenizer->pad_id(), model::ByteTokenizer::kPadId);

  StageOptions dpo = base_config("dpo", "dpo", write_jsonl("pairs.jsonl", pairs));
  dpo.model.path = final_model.string();
  dpo.dpo.steps = 2;
  dpo.dpo.batch_size = 4;
  dpo.dpo.learning_rate = 1e-3;
  const core::RunDirectory dpo_dir = create(dpo);
  const Status dpo_status = run_stage(dpo, dpo_dir, open_dpo_stage, {});
  ASSERT_TRUE(dpo_status.ok()) << dpo_status.to_string();
  EXPECT_TRUE(fs::exists(dpo_dir.root() / "final_model" / "model.safetensors"));
  const std::vector<json> dpo_metrics = read_jsonl(dpo_dir.metrics_path());
  EXPECT_EQ(count_phase(dpo_metrics, "dpo"), 2);
  ASSERT_EQ(count_phase(dpo_metrics, "dpo_eval"), 2);
  const auto first_eval = std::find_if(dpo_metrics.begin(), dpo_metrics.end(), [](const json& r) { return r["phase"] == "dpo_eval"; });
  EXPECT_NEAR((*first_eval)["held_out_margin"].get<double>(), 0.0, 1e-6) << "the reference is the loaded SFT model";
}

TEST_F(StageTest, ChatRowsNeedAChatTemplate) {
  StageOptions sft = base_config("no-template", "sft",
                                    write_jsonl("chat.jsonl", {{{"messages", {user("a"), assistant("b")}}},
                                                               {{"messages", {user("c"), assistant("d")}}},
                                                               {{"messages", {user("e"), assistant("f")}}}}));
  sft.model.chat_template.clear();
  sft.task.held_out_size = 1;
  const Status status = run_stage(sft, create(sft), open_sft_stage, {});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("chat.jsonl:1: chat conversation, but the model has no chat template"),
            std::string::npos)
      << status.message();
}

// Forwards to the stage it wraps and requests `stop` once `steps` steps are done: the stop a
// SIGTERM requests, at a known step.
class StopAfter final : public StageTrainer {
 public:
  StopAfter(std::unique_ptr<StageTrainer> stage, int64_t steps, std::stop_source stop)
      : stage_(std::move(stage)), steps_(steps), stop_(std::move(stop)) {}
  const StageDescription& description() const override { return stage_->description(); }
  Result<json> step(const std::vector<size_t>& batch) override {
    Result<json> metrics = stage_->step(batch);
    if (++done_ == steps_) stop_.request_stop();
    return metrics;
  }
  Result<json> evaluate(const char* when) override { return stage_->evaluate(when); }
  torch::optim::Optimizer& optimizer() override { return stage_->optimizer(); }
  void restore_steps_done(int64_t steps) override { stage_->restore_steps_done(steps); }

 private:
  std::unique_ptr<StageTrainer> stage_;
  int64_t steps_;
  int64_t done_ = 0;
  std::stop_source stop_;
};

// The control: a resume that restores the weights (and the RNG and the batch position) but not
// the optimizer's moments or the schedule's position. The checkpoint's optimizer state goes into
// a scratch AdamW over the same parameters; the stage's own optimizer starts fresh.
class ForgetsOptimizer final : public StageTrainer {
 public:
  ForgetsOptimizer(std::unique_ptr<StageTrainer> stage, const std::vector<at::Tensor>& parameters)
      : stage_(std::move(stage)), scratch_(parameters) {}
  const StageDescription& description() const override { return stage_->description(); }
  Result<json> step(const std::vector<size_t>& batch) override { return stage_->step(batch); }
  Result<json> evaluate(const char* when) override { return stage_->evaluate(when); }
  torch::optim::Optimizer& optimizer() override { return scratch_; }
  void restore_steps_done(int64_t) override {}

 private:
  std::unique_ptr<StageTrainer> stage_;
  torch::optim::AdamW scratch_;
};

class StageResumeTest : public StageTest, public ::testing::WithParamInterface<std::string> {
 protected:
  static constexpr int64_t kSteps = 6;
  // `caravan run --resume`, never stopped.
  const StageControl kResume{.resume = true, .stop = {}};

  StageOptions config(const std::string& name) {
    const bool sft = GetParam() == "sft";
    StageOptions options = base_config(name, GetParam(), sft ? sft_rows() : preference_rows());
    options.run.threads_per_process = 1;
    options.sft.steps = kSteps;
    options.sft.batch_size = 4;
    // Also the stop's step: the stop must not write that checkpoint twice.
    options.sft.checkpoint_every = kSteps / 2;
    options.dpo.steps = kSteps;
    options.dpo.batch_size = 3;
    options.dpo.learning_rate = 1e-3;
    return options;
  }
  StageOpener opener() const { return GetParam() == "sft" ? StageOpener(open_sft_stage) : StageOpener(open_dpo_stage); }

  // The stage's run in `name`, stopped after kSteps / 2 steps with a checkpoint.
  core::RunDirectory run_stopped(const std::string& name) {
    const StageOptions options = config(name);
    const core::RunDirectory run_dir = create(options);
    std::stop_source stop;
    const StageOpener stopping = [&](const StageOptions& c, const model::ModelSpec& spec,
                                     model::Llama policy) -> Result<std::unique_ptr<StageTrainer>> {
      CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<StageTrainer> stage, opener()(c, spec, std::move(policy)));
      return std::unique_ptr<StageTrainer>(std::make_unique<StopAfter>(std::move(stage), kSteps / 2, stop));
    };
    const Status status = run_stage(options, run_dir, stopping, {.stop = stop.get_token()});
    EXPECT_EQ(status.code(), StatusCode::kCancelled) << status.to_string();
    EXPECT_NE(status.message().find("stopped after step 3 with checkpoint"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find("resume with: caravan run --resume " + run_dir.root().string()), std::string::npos);
    return run_dir;
  }

  // The step records of the stage and its last held-out evaluation, in metrics.jsonl's order.
  std::vector<json> trajectory(const core::RunDirectory& run_dir) {
    std::vector<json> records;
    for (const json& record : read_jsonl(run_dir.metrics_path())) {
      if (record["phase"] == GetParam() || record["phase"] == GetParam() + "_eval") records.push_back(record);
    }
    return records;
  }
};

TEST_P(StageResumeTest, StopThenResumeGivesTheStraightRunsLossesBitForBit) {
  const StageOptions straight_config = config("straight");
  const core::RunDirectory straight = create(straight_config);
  ASSERT_TRUE(run_stage(straight_config, straight, opener(), {}).ok());

  const core::RunDirectory resumed = run_stopped("resumed");
  EXPECT_FALSE(fs::exists(resumed.root() / "final_model"));
  const auto latest = core::latest_committed_checkpoint(resumed).value();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->step, kSteps / 2);
  for (const char* file : {"model.safetensors", "optimizer.pt", "rng_state.safetensors", "stage_state.json"}) {
    EXPECT_TRUE(fs::exists(latest->dir / file)) << file;
  }
  const Status status = run_stage(config("resumed"), resumed, opener(), kResume);
  ASSERT_TRUE(status.ok()) << status.to_string();

  // Every step once (metrics.jsonl cut back to the checkpoint), each number bit for bit: the
  // doubles are written with round-trip precision, and json == compares them exactly.
  const std::vector<json> expected = trajectory(straight);
  const std::vector<json> actual = trajectory(resumed);
  ASSERT_EQ(expected.size(), static_cast<size_t>(kSteps + 2));
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(actual[i], expected[i]) << "record " << i;
  const std::vector<json> records = read_jsonl(resumed.metrics_path());
  EXPECT_EQ(count_phase(records, "resume"), 1);
  EXPECT_EQ(count_phase(records, "data"), 1);
  EXPECT_EQ(file_bytes(resumed.root() / "final_model" / "model.safetensors"),
            file_bytes(straight.root() / "final_model" / "model.safetensors"));

  // A finished stage has nothing to resume.
  const Status again = run_stage(config("resumed"), resumed, opener(), kResume);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition) << again.to_string();
  EXPECT_NE(again.message().find("final_model exists"), std::string::npos) << again.message();
}

// The comparison above sees lost state: a resume that restores the weights alone (a fresh
// optimizer and schedule) gives the same loss for the first step after the checkpoint (computed
// before its update) and departs from the second on.
TEST_P(StageResumeTest, AResumeWithTheWeightsAloneDeparts) {
  const StageOptions straight_config = config("straight");
  const core::RunDirectory straight = create(straight_config);
  ASSERT_TRUE(run_stage(straight_config, straight, opener(), {}).ok());

  const core::RunDirectory resumed = run_stopped("weights-only");
  const StageOpener forgetting = [&](const StageOptions& c, const model::ModelSpec& spec,
                                     model::Llama policy) -> Result<std::unique_ptr<StageTrainer>> {
    const std::vector<at::Tensor> parameters = policy->parameters();
    CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<StageTrainer> stage, opener()(c, spec, std::move(policy)));
    return std::unique_ptr<StageTrainer>(std::make_unique<ForgetsOptimizer>(std::move(stage), parameters));
  };
  ASSERT_TRUE(run_stage(config("weights-only"), resumed, forgetting, kResume).ok());

  const std::vector<json> expected = trajectory(straight);
  const std::vector<json> actual = trajectory(resumed);
  ASSERT_EQ(actual.size(), expected.size());
  // Record 0 is the evaluation before training; record k the step k.
  for (int64_t step = 1; step <= kSteps / 2 + 1; ++step) {
    EXPECT_EQ(actual[step]["loss"], expected[step]["loss"]) << step;
  }
  for (int64_t step = kSteps / 2 + 2; step <= kSteps; ++step) {
    EXPECT_NE(actual[step]["loss"], expected[step]["loss"]) << step;
  }
}

// A checkpoint that does not fit the run is an error naming the file and key, never a start over.
TEST_P(StageResumeTest, AMismatchedOrDamagedCheckpointIsAnErrorNamingTheFileAndKey) {
  const core::RunDirectory stopped = run_stopped("stopped");
  const auto checkpoint = core::latest_committed_checkpoint(stopped).value()->dir;
  // Each case resumes its own copy of the stopped run.
  const auto resume_copy = [&](const std::string& name, const std::function<void(const fs::path&)>& damage,
                               const std::function<void(StageOptions&)>& edit = nullptr) {
    const fs::path copy = dir_.path() / name;
    fs::copy(stopped.root(), copy, fs::copy_options::recursive);
    damage(copy / fs::relative(checkpoint, stopped.root()));
    StageOptions options = config(name);
    if (edit) edit(options);
    return run_stage(options, core::RunDirectory::open(copy).value(), opener(), kResume);
  };

  const Status other_rate = resume_copy("other-rate", [](const fs::path&) {}, [](StageOptions& options) {
    options.sft.learning_rate *= 2;
    options.dpo.learning_rate *= 2;
  });
  EXPECT_EQ(other_rate.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other_rate.message().find("stage_state.json: key 'settings.learning_rate': the checkpoint has"),
            std::string::npos)
      << other_rate.message();

  const Status other_seed = resume_copy("other-seed", [](const fs::path&) {}, [](StageOptions& options) {
    options.run.seed += 1;
  });
  EXPECT_NE(other_seed.message().find("key 'settings.seed'"), std::string::npos) << other_seed.message();

  const Status no_optimizer =
      resume_copy("no-optimizer", [](const fs::path& dir) { fs::remove(dir / "optimizer.pt"); });
  EXPECT_EQ(no_optimizer.code(), StatusCode::kNotFound);
  EXPECT_NE(no_optimizer.message().find("optimizer.pt"), std::string::npos) << no_optimizer.message();

  const Status garbled =
      resume_copy("garbled", [](const fs::path& dir) { std::ofstream(dir / "stage_state.json") << "{"; });
  EXPECT_EQ(garbled.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(garbled.message().find("stage_state.json: expected a JSON object"), std::string::npos)
      << garbled.message();

  const Status moved_data = resume_copy("moved-data", [](const fs::path& dir) {
    json state = json::parse(file_bytes(dir / "stage_state.json"));
    state["data"]["cursor"] = state["data"]["cursor"].get<int>() + 1;
    std::ofstream(dir / "stage_state.json") << state.dump();
  });
  EXPECT_EQ(moved_data.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(moved_data.message().find("stage_state.json: key 'data'"), std::string::npos) << moved_data.message();
}

INSTANTIATE_TEST_SUITE_P(Stages, StageResumeTest, ::testing::Values("sft", "dpo"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

} // namespace
} // namespace caravan::learner
