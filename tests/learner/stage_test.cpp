// The SFT and DPO stages end to end in-process: a JSONL dataset in, a run directory out, and the
// SFT stage's final model taken as the next stage's [model] path.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/checkpoints.h"
#include "learner/dpo_stage.h"
#include "learner/sft_stage.h"
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
  const Status sft_status = run_sft_stage(sft, sft_dir);
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
  const Status dpo_status = run_dpo_stage(dpo, dpo_dir);
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
  const Status status = run_sft_stage(sft, create(sft));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("chat.jsonl:1: chat conversation, but the model has no chat template"),
            std::string::npos)
      << status.message();
}

} // namespace
} // namespace caravan::learner
