// End-to-end tests of `caravan generate` and `caravan eval` on a small random Qwen3-shaped
// Hugging Face checkpoint (tests/common/hf_checkpoint.h), through the real binary.
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/jsonl.h"
#include "model/model_loader.h"
#include "tests/common/caravan_cli.h"
#include "tests/common/hf_checkpoint.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using testing::quoted;
using testing::write_text;

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  return rows;
}

class GenerateEvalTest : public ::testing::Test {
 protected:
  void SetUp() override { checkpoint_ = testing::write_qwen3_checkpoint(dir_.path() / "qwen3"); }

  testing::CliOutcome run(const std::string& args) { return testing::run_caravan(args, dir_.path()); }
  std::string model_flag() const { return "--model " + quoted(checkpoint_.dir) + " --threads 1"; }

  testing::TempDir dir_;
  testing::HfCheckpoint checkpoint_;
};

TEST_F(GenerateEvalTest, GenerateSamplesChatAndRawPromptsReproducibly) {
  const fs::path prompts = dir_.path() / "prompts.jsonl";
  write_text(prompts, R"({"messages": [{"role": "user", "content": "What is 2+3?"}], "id": 7})" "\n\n"
                      R"({"prompt": "2+3="})" "\n");
  const std::string args = "generate " + model_flag() + " --prompts " + quoted(prompts) +
                           " --n 3 --temperature 1 --seed 5 --max-new-tokens 10";
  const testing::CliOutcome first = run(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(run(args).out, first.out) << "the same seed gives the same completions";
  EXPECT_NE(first.err.find("generate: prompts 2/2"), std::string::npos) << first.err;  // progress on stderr

  model::ModelOptions options;
  options.path = checkpoint_.dir.string();
  const model::ModelSpec spec = model::open_model(options).value();
  const size_t chat_tokens = spec.prompts->encode_chat(std::vector<core::ChatMessage>{{"user", "What is 2+3?"}})->size();
  const std::vector<json> rows = jsonl(first.out);
  ASSERT_EQ(rows.size(), 6u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    EXPECT_EQ(row["line"], i < 3 ? 1 : 3) << row;
    EXPECT_EQ(row["sample"], i % 3) << row;
    EXPECT_EQ(row["prompt_tokens"], i < 3 ? chat_tokens : spec.prompts->encode_text("2+3=").size()) << row;
    if (i < 3) {
      EXPECT_EQ(row["id"], 7) << row;  // other keys of the input row are kept
    }
    ASSERT_EQ(row["tokens"].size(), row["logprobs"].size()) << row;
    EXPECT_LE(row["tokens"].size(), 10u) << row;
    for (const json& logprob : row["logprobs"]) EXPECT_LE(logprob.get<double>(), 0.0) << row;
    const bool stopped = row["finish_reason"] == "stop";
    EXPECT_TRUE(stopped || (row["finish_reason"] == "length" && row["tokens"].size() == 10u)) << row;
    // The decoded completion; bytes that are not UTF-8 are written as U+FFFD (core/jsonl.h).
    const std::string text = model::decode_generated(*spec.tokenizer, row["tokens"].get<std::vector<int32_t>>()).value();
    EXPECT_EQ(row["text"], json::parse(core::jsonl_line(json(text)))) << row;
  }

  // Greedy: every sample of a prompt is the same continuation.
  const testing::CliOutcome greedy =
      run("generate " + model_flag() + " --prompts " + quoted(prompts) + " --n 2 --temperature 0 --max-new-tokens 6");
  ASSERT_EQ(greedy.exit_code, 0) << greedy.err;
  const std::vector<json> greedy_rows = jsonl(greedy.out);
  ASSERT_EQ(greedy_rows.size(), 4u);
  EXPECT_EQ(greedy_rows[0]["tokens"], greedy_rows[1]["tokens"]);
  EXPECT_EQ(greedy_rows[2]["tokens"], greedy_rows[3]["tokens"]);
}

TEST_F(GenerateEvalTest, GenerateRejectsBadInputNamingTheFileAndLine) {
  const fs::path prompts = dir_.path() / "prompts.jsonl";
  write_text(prompts, R"({"prompt": "ok"})" "\n" R"({"text": "neither key"})" "\n");
  testing::CliOutcome outcome = run("generate " + model_flag() + " --prompts " + quoted(prompts));
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.err.find(prompts.string() + ":2: expected exactly one of \"messages\""), std::string::npos)
      << outcome.err;

  write_text(prompts, R"({"prompt": ")" + std::string(600, 'x') + "\"}\n");
  outcome = run("generate " + model_flag() + " --prompts " + quoted(prompts) + " --max-new-tokens 8");
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.err.find(prompts.string() + ":1: the prompt has 600 tokens; with --max-new-tokens 8 it exceeds "
                                                "the model's context of 512"),
            std::string::npos)
      << outcome.err;

  outcome = run("generate --prompts " + quoted(prompts));
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.err.find("--model DIR is required"), std::string::npos) << outcome.err;
  outcome = run("generate " + model_flag() + " --prompts " + quoted(prompts) + " --top-p 1.5");
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.err.find("--top-p: expected a number > 0 and <= 1, got '1.5'"), std::string::npos) << outcome.err;
}

TEST_F(GenerateEvalTest, GenerateTakesTheSamplingControlsAndReportsTopLogprobs) {
  const fs::path prompts = dir_.path() / "prompts.jsonl";
  write_text(prompts, R"({"prompt": "2+3="})" "\n");
  const std::string base = "generate " + model_flag() + " --prompts " + quoted(prompts) + " --max-new-tokens 5";
  // Greedy with 3 top logprobs: the first entry at each position is the token taken.
  testing::CliOutcome outcome = run(base + " --temperature 0 --top-logprobs 3 --repetition-penalty 1.0");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  const json row = jsonl(outcome.out).at(0);
  ASSERT_EQ(row["top_logprobs"].size(), row["tokens"].size()) << row;
  for (size_t i = 0; i < row["tokens"].size(); ++i) {
    const json& top = row["top_logprobs"][i];
    ASSERT_EQ(top.size(), 3u) << row;
    EXPECT_EQ(top[0]["token"], row["tokens"][i]) << row;
    EXPECT_EQ(top[0]["logprob"], row["logprobs"][i]) << row;
    EXPECT_GE(top[0]["logprob"].get<double>(), top[1]["logprob"].get<double>()) << row;
    EXPECT_GE(top[1]["logprob"].get<double>(), top[2]["logprob"].get<double>()) << row;
  }
  outcome = run(base + " --top-k 5 --min-p 0.1 --presence-penalty 0.5 --frequency-penalty 0.5 --stop '[\"\\n\\n\"]'");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_EQ(jsonl(outcome.out).at(0).count("top_logprobs"), 0u);
  // Bad values name the flag.
  for (const auto& [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {"--min-p 1", "--min-p: expected 0 <= x < 1"},
           {"--top-logprobs 21", "--top-logprobs"},
           {"--repetition-penalty 0", "--repetition-penalty"},
           {"--presence-penalty 3", "--presence-penalty"},
           {"--top-k -1", "--top-k"},
           {"--stop '\"x\"'", "--stop: expected a JSON array"},
           {"--stop '[\"\"]'", "--stop: element 0 is not a non-empty string"}}) {
    outcome = run(base + " " + flags);
    EXPECT_EQ(outcome.exit_code, 2) << flags;
    EXPECT_NE(outcome.err.find(message), std::string::npos) << flags << ": " << outcome.err;
  }
}

TEST_F(GenerateEvalTest, EvalScoresEverySampleAndReportsPerSource) {
  // Any short answer satisfies the IFEval rows (fewer than 1000 words); a random model answers no
  // arithmetic question, so the gsm8k rows score 0.
  const std::string ifeval_truth =
      json{{"instruction_id", {"length_constraints:number_words"}}, {"kwargs", {{{"relation", "less than"}, {"num_words", 1000}}}}}
          .dump();
  std::string rows;
  for (int i = 0; i < 3; ++i) {
    rows += json{{"messages", {{{"role", "user"}, {"content", str_cat("Say something short, ", i, ".")}}}},
                 {"ground_truth", ifeval_truth},
                 {"dataset", "ifeval"}}
                .dump() + "\n";
  }
  for (int i = 0; i < 2; ++i) {
    rows += json{{"messages", {{{"role", "user"}, {"content", str_cat("What is ", i, "+1000?")}}}},
                 {"ground_truth", std::to_string(i + 1000)},
                 {"dataset", "gsm8k"}}
                .dump() + "\n";
  }
  rows += R"({"messages": [{"role": "user", "content": "no truth"}], "dataset": "gsm8k"})" "\n";
  const fs::path dataset = dir_.path() / "set.jsonl";
  write_text(dataset, rows);
  const fs::path out = dir_.path() / "scored.jsonl";
  const testing::CliOutcome outcome = run("eval " + model_flag() + " --dataset " + quoted(dataset) +
                                          " --n 3 --temperature 1 --max-new-tokens 6 --out " + quoted(out));
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;
  EXPECT_NE(outcome.err.find("set.jsonl:6: field 'ground_truth': missing"), std::string::npos) << outcome.err;
  EXPECT_NE(outcome.out.find("5 rows (1 malformed skipped, 0 too long for the context), 3 samples each"),
            std::string::npos)
      << outcome.out;
  std::istringstream table(outcome.out);
  std::map<std::string, std::vector<std::string>> columns;
  for (std::string line; std::getline(table, line);) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string word; words >> word;) fields.push_back(word);
    if (!fields.empty()) columns[fields[0]] = fields;
  }
  ASSERT_EQ(columns["source"], (std::vector<std::string>{"source", "rows", "samples", "pass@1", "pass@3", "mean_reward",
                                                         "mean_tokens", "unjudged"}));
  // source rows samples pass@1 pass@3 mean_reward mean_tokens unjudged
  EXPECT_EQ(columns["ifeval"][1], "3");
  EXPECT_EQ(columns["ifeval"][2], "9");
  EXPECT_EQ(columns["ifeval"][3], "100.0%");
  EXPECT_EQ(columns["ifeval"][4], "100.0%");
  EXPECT_EQ(columns["ifeval"][5], "1.000");
  EXPECT_EQ(columns["gsm8k"][1], "2");
  EXPECT_EQ(columns["gsm8k"][3], "0.0%");
  EXPECT_EQ(columns["all"][1], "5");
  EXPECT_EQ(columns["all"][3], "60.0%");  // 9 of 15 samples
  EXPECT_EQ(columns["all"][7], "0");

  const std::vector<json> scored = jsonl(testing::read_text(out));
  ASSERT_EQ(scored.size(), 15u);
  for (const json& sample : scored) {
    EXPECT_EQ(sample["reward"]["status"], sample["source"] == "ifeval" ? "ok" : "wrong") << sample;
    EXPECT_EQ(sample["reward"]["verifier"], sample["verifier"]) << sample;
    EXPECT_LE(sample["completion_tokens"].get<int>(), 6) << sample;
  }
}

}  // namespace
}  // namespace caravan::apps
