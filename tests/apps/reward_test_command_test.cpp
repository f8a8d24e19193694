// End-to-end tests of `caravan reward-test`: the real binary runs over the shipped labelled
// samples (tests/data/reward_test/samples.jsonl) and over small files written into a TempDir,
// with stdout/stderr redirected through files.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/reward_config.h"
#include "tests/common/caravan_cli.h"
#include "tests/common/temp_dir.h"

namespace caravan::apps {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kData = CARAVAN_REWARD_TEST_DATA;
const fs::path kSamples = kData / "samples.jsonl";
const fs::path kRules = kData / "rewards.toml";


using testing::quoted;
using testing::read_text;
using testing::write_text;
using Outcome = testing::CliOutcome;

class RewardTestCommandTest : public ::testing::Test {
 protected:
  Outcome run(const std::string& args) { return testing::run_caravan("reward-test " + args, dir_.path()); }

  // The --out file as id -> result line.
  std::map<std::string, json> results() {
    std::map<std::string, json> by_id;
    std::istringstream lines(read_text(results_));
    for (std::string line; std::getline(lines, line);) {
      const json result = json::parse(line);
      by_id[result["id"].get<std::string>()] = result;
    }
    return by_id;
  }

  testing::TempDir dir_;
  fs::path results_ = dir_.path() / "results.jsonl";
};

int64_t count_lines(const std::string& text) {
  int64_t lines = 0;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  return lines;
}

TEST_F(RewardTestCommandTest, ShippedSamplesAllAgreeWithTheirExpectedVerdicts) {
  const Outcome outcome = run("--samples " + quoted(kSamples) + " --out " + quoted(results_));
  ASSERT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
  EXPECT_NE(outcome.out.find("reward-test: 30 samples from"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("(0 malformed lines skipped)"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("total       n=30    agree=30    100.0%"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("disagreements: 0\n"), std::string::npos) << outcome.out;
  // Per-verifier distribution rows: verifier, status, count, mean score.
  EXPECT_NE(outcome.out.find("arithmetic  error             1       0.000"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("ifeval      wrong             3       "), std::string::npos) << outcome.out;
  const size_t slowest = outcome.out.find("slowest:\n");
  ASSERT_NE(slowest, std::string::npos) << outcome.out;
  EXPECT_EQ(count_lines(outcome.out.substr(slowest)), 6) << outcome.out;  // header + top 5

  const std::map<std::string, json> by_id = results();
  ASSERT_EQ(by_id.size(), 30u);
  std::ifstream samples(kSamples);
  for (std::string line; std::getline(samples, line);) {
    const json sample = json::parse(line);
    const std::string id = sample["id"].is_string() ? sample["id"].get<std::string>() : sample["id"].dump();
    ASSERT_TRUE(by_id.contains(id)) << id;
    const json& result = by_id.at(id);
    EXPECT_EQ(result["verifier"], sample["verifier"]) << id;
    EXPECT_TRUE(result["ms"].is_number()) << result;
    // Without --config a run's verifier sends its score as the reward: weight 1, no version.
    const json& reward = result["reward"];
    EXPECT_EQ(reward["status"], sample["expected"]) << id;
    EXPECT_EQ(reward["verifier"], sample["verifier"]) << id;
    EXPECT_EQ(reward["config_version"], "") << id;
    EXPECT_TRUE(reward["raw_score"].is_number() && reward["detail"].is_string()) << result;
    if (reward["trainable"] == true && reward["status"] != "sandbox_violation") {
      EXPECT_EQ(reward["final_reward"], reward["raw_score"]) << result;
    }
  }
  EXPECT_EQ(by_id.at("ifeval-half-followed")["reward"]["raw_score"], 0.5);
  EXPECT_EQ(by_id.at("arith-wrong")["reward"]["detail"], "expected 12, got 13");
}

TEST_F(RewardTestCommandTest, ConfigAddsTheRewardBreakdown) {
  const Outcome outcome =
      run("--samples " + quoted(kSamples) + " --config " + quoted(kRules) + " --threads 3 --out " + quoted(results_));
  ASSERT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
  const std::string version = core::reward_config_version(read_text(kRules));
  EXPECT_NE(outcome.out.find("version " + version), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("mean_reward"), std::string::npos) << outcome.out;

  const std::map<std::string, json> by_id = results();
  ASSERT_EQ(by_id.size(), 30u);
  auto reward = [&](const std::string& id) {
    const json& result = by_id.at(id);
    EXPECT_TRUE(result.contains("reward")) << result;
    EXPECT_EQ(result["reward"]["config_version"], version) << result;
    return result["reward"];
  };
  // [source.MATH]: truncated -> non_stop replaces everything.
  EXPECT_EQ(reward("math-truncated")["final_reward"], -1.0);
  EXPECT_EQ(reward("math-truncated")["steps"], json::parse(R"([{"name": "non_stop", "value": -1.0}])"));
  // Boxed, 896 tokens: 1 * 1 * 1 + (768 - 896) / 256.
  EXPECT_EQ(reward("math-overlong-correct")["final_reward"], 0.5);
  // Correct but not boxed: * 0.5.
  EXPECT_EQ(reward("math-unboxed-correct")["final_reward"], 0.5);
  // [source.gsm8k]: weight 2.
  EXPECT_EQ(reward("math-decimal-vs-frac")["final_reward"], 2.0);
  // [source.ifeval] partial_credit = false: half followed -> 0; truncated without [non_stop] -> scored.
  EXPECT_EQ(reward("ifeval-half-followed")["final_reward"], 0.0);
  EXPECT_EQ(reward("ifeval-half-followed")["raw_score"], 0.5);
  EXPECT_EQ(reward("ifeval-truncated")["final_reward"], 1.0);
  // No source -> [source.default], weight 0.5.
  EXPECT_EQ(reward("arith-hashes")["final_reward"], 0.5);
  // A failed check keeps its status and is not trainable.
  EXPECT_EQ(reward("arith-bad-ground-truth")["status"], "error");
  EXPECT_EQ(reward("arith-bad-ground-truth")["trainable"], false);
  EXPECT_EQ(reward("arith-bad-ground-truth")["final_reward"], 0.0);
}

TEST_F(RewardTestCommandTest, ExampleConfigRunsOnTheShippedSamples) {
  const Outcome outcome = run("--samples " + quoted(kSamples) + " --config " + quoted(CARAVAN_EXAMPLE_REWARDS));
  // Every shipped sample has rules and the facts they need: no status turns into "error".
  EXPECT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
}

TEST_F(RewardTestCommandTest, DisagreementsAreListedAndExitWithOne) {
  const fs::path samples = dir_.path() / "s.jsonl";
  write_text(samples,
             R"({"id": "a", "verifier": "arithmetic", "ground_truth": "4", "completion": "#### 4", "expected": "ok"})" "\n"
             R"({"id": "b", "verifier": "arithmetic", "ground_truth": "4", "completion": "#### 5", "expected": "ok"})" "\n"
             R"({"id": "c", "verifier": "arithmetic", "ground_truth": "4", "completion": "#### 5"})" "\n");
  const Outcome outcome = run("--samples " + quoted(samples));
  EXPECT_EQ(outcome.exit_code, 1) << outcome.out << outcome.err;
  EXPECT_NE(outcome.out.find("arithmetic  n=2     agree=1     50.0%"), std::string::npos) << outcome.out;
  EXPECT_NE(outcome.out.find("disagreements: 1\n  id=b line=2 verifier=arithmetic expected=ok got=wrong score=0.000 "
                             "detail=expected 4, got 5\n"),
            std::string::npos)
      << outcome.out;
}

TEST_F(RewardTestCommandTest, MalformedLinesAreSkippedOrFatalUnderStrict) {
  const fs::path samples = dir_.path() / "s.jsonl";
  write_text(samples,
             R"({"id": "a", "verifier": "arithmetic", "ground_truth": "4", "completion": "#### 4", "expected": "ok"})" "\n"
             "\n"
             R"({"id": "b", "verifier": "arithmetic", "ground_truth": "4"})" "\n"
             "not json\n"
             R"({"id": "d", "verifier": "maths", "ground_truth": "4", "completion": "4"})" "\n"
             R"({"id": "e", "verifier": "math", "ground_truth": "4", "completion": "4", "expected": "right"})" "\n"
             R"({"id": "f", "verifier": "math", "ground_truth": "4", "completion": "4", "completion_tokens": -2})" "\n");
  const Outcome skipped = run("--samples " + quoted(samples));
  EXPECT_EQ(skipped.exit_code, 0) << skipped.out << skipped.err;
  EXPECT_NE(skipped.out.find("1 samples from"), std::string::npos) << skipped.out;
  EXPECT_NE(skipped.out.find("(5 malformed lines skipped)"), std::string::npos) << skipped.out;
  const std::string where = samples.string();
  EXPECT_NE(skipped.err.find(where + ":3: field 'completion': missing"), std::string::npos) << skipped.err;
  EXPECT_NE(skipped.err.find(where + ":4: not valid JSON"), std::string::npos) << skipped.err;
  EXPECT_NE(skipped.err.find(where + ":5: field 'verifier': unknown verifier 'maths'"), std::string::npos) << skipped.err;
  EXPECT_NE(skipped.err.find(where + ":6: field 'expected': expected one of ok, wrong"), std::string::npos) << skipped.err;
  EXPECT_NE(skipped.err.find(where + ":7: field 'completion_tokens': expected an integer >= 0, got -2"), std::string::npos)
      << skipped.err;

  const Outcome strict = run("--strict --samples " + quoted(samples));
  EXPECT_EQ(strict.exit_code, 2);
  EXPECT_NE(strict.err.find(where + ":3: field 'completion': missing"), std::string::npos) << strict.err;
  EXPECT_EQ(strict.out, "");
}

// The rules a run's verifier applies, reward-test applies: a source's rules may name another
// verifier than the line, and a rule that lacks a fact is an error, not a guess.
TEST_F(RewardTestCommandTest, ScoresLikeARunsVerifier) {
  const fs::path samples = dir_.path() / "s.jsonl";
  write_text(samples,
             R"({"id": "a", "verifier": "math", "source": "MATH", "ground_truth": "4", "completion": "\\boxed{4}", "expected": "error"})" "\n"
             R"({"id": "b", "verifier": "ifeval", "source": "MATH", "ground_truth": "4", "completion": "\\boxed{4}", "completion_tokens": 12, "expected": "ok"})" "\n"
             R"({"id": "c", "verifier": "math", "source": "gsm8k", "ground_truth": "4", "completion": "\\boxed{4}", "expected": "error"})" "\n");
  const fs::path rules = dir_.path() / "r.toml";
  write_text(rules, "[source.MATH]\nverifier = \"math\"\n[source.MATH.overlong]\nmax_tokens = 10\n");
  const Outcome outcome = run("--samples " + quoted(samples) + " --config " + quoted(rules) + " --out " + quoted(results_));
  EXPECT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
  const std::map<std::string, json> by_id = results();
  EXPECT_EQ(by_id.at("a")["reward"]["detail"],
            "[source.MATH.overlong] needs the sample's completion_tokens, which is missing");
  EXPECT_EQ(by_id.at("a")["reward"]["trainable"], false);
  // The line names ifeval; [source.MATH] says math, which judges it; 12 tokens > max_tokens 10.
  EXPECT_EQ(by_id.at("b")["verifier"], "ifeval");
  EXPECT_EQ(by_id.at("b")["reward"]["verifier"], "math");
  EXPECT_EQ(by_id.at("b")["reward"]["final_reward"], 0.0);
  EXPECT_EQ(by_id.at("b")["reward"]["steps"],
            json::parse(R"([{"name": "weight", "value": 1.0}, {"name": "overlong", "value": -1.0}])"));
  EXPECT_EQ(by_id.at("c")["reward"]["detail"],
            "reward config " + core::reward_config_version(read_text(rules)) +
                " has no [source.gsm8k] and no [source.default]");
}

TEST_F(RewardTestCommandTest, TheSourcesNumericToleranceReachesTheVerifier) {
  const fs::path samples = dir_.path() / "s.jsonl";
  write_text(samples,
             R"({"id": "a", "verifier": "math", "source": "rounded", "ground_truth": "82", "completion": "#### 82.5"})" "\n"
             R"({"id": "b", "verifier": "math", "source": "exact", "ground_truth": "82", "completion": "#### 82.5"})" "\n");
  const fs::path rules = dir_.path() / "r.toml";
  write_text(rules, "[source.rounded]\nnumeric_tolerance = 0.01\n[source.exact]\n");
  const Outcome outcome = run("--samples " + quoted(samples) + " --config " + quoted(rules) + " --out " + quoted(results_));
  EXPECT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
  const std::map<std::string, json> by_id = results();
  EXPECT_EQ(by_id.at("a")["reward"]["status"], "ok") << by_id.at("a");  // 82.5 is within 1% of 82
  EXPECT_EQ(by_id.at("b")["reward"]["status"], "wrong") << by_id.at("b");
}

TEST_F(RewardTestCommandTest, UsageAndInputErrorsExitWithTwo) {
  EXPECT_EQ(run("").exit_code, 2);
  const Outcome threads = run("--samples " + quoted(kSamples) + " --threads 0");
  EXPECT_EQ(threads.exit_code, 2);
  EXPECT_NE(threads.err.find("--threads: expected an integer 1 <= N <= 256, got '0'"), std::string::npos) << threads.err;
  const Outcome missing = run("--samples " + quoted(dir_.path() / "nope.jsonl"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.jsonl: cannot open samples file"), std::string::npos) << missing.err;

  const fs::path rules = dir_.path() / "r.toml";
  write_text(rules, "[source.MATH]\nverifier = \"mathh\"\n");
  const Outcome unknown = run("--samples " + quoted(kSamples) + " --config " + quoted(rules));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("[source.MATH] verifier: unknown verifier 'mathh'"), std::string::npos) << unknown.err;

  const Outcome help = run("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--samples"), std::string::npos) << help.out;
}

}  // namespace
} // namespace caravan::apps
