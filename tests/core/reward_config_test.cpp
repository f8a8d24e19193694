#include "core/reward_config.h"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/common/temp_dir.h"

namespace caravan::core {
namespace {

constexpr const char* kFull = R"(
[source.gsm8k]
verifier = "math"
weight = 2
partial_credit = false
numeric_tolerance = 1e-4
[source.gsm8k.format]
pattern = '\\boxed\{'
multiplier_if_missing = 0.5
[source.gsm8k.overlong]
max_tokens = 1024
buffer_tokens = 256
[source.gsm8k.non_stop]
reward = -1.0

[source.default]
)";

Status parse_error(const std::string& text) { return parse_reward_options(text, "rewards.toml").status(); }

void expect_error(const std::string& text, const std::string& message) {
  Status status = parse_error(text);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << text;
  EXPECT_NE(status.message().find(message), std::string::npos) << status.message();
}

TEST(RewardConfigTest, ParsesEveryKey) {
  Result<RewardOptions> options = parse_reward_options(kFull, "rewards.toml");
  ASSERT_TRUE(options.ok()) << options.status().to_string();
  ASSERT_EQ(options->sources.size(), 2u);
  const SourceRewardOptions& gsm8k = options->sources.at("gsm8k");
  EXPECT_EQ(gsm8k.verifier, "math");
  EXPECT_EQ(gsm8k.weight, 2.0);
  EXPECT_FALSE(gsm8k.partial_credit);
  EXPECT_EQ(gsm8k.numeric_tolerance, 1e-4);
  ASSERT_TRUE(gsm8k.format.has_value());
  EXPECT_EQ(gsm8k.format->pattern, "\\\\boxed\\{");
  EXPECT_EQ(gsm8k.format->multiplier_if_missing, 0.5);
  ASSERT_TRUE(gsm8k.format->regex.has_value());
  EXPECT_TRUE(gsm8k.format->regex->find("so \\boxed{3}")->has_value());
  EXPECT_FALSE(gsm8k.format->regex->find("so boxed{3}")->has_value());
  ASSERT_TRUE(gsm8k.overlong.has_value());
  EXPECT_EQ(gsm8k.overlong->max_tokens, 1024);
  EXPECT_EQ(gsm8k.overlong->buffer_tokens, 256);
  ASSERT_TRUE(gsm8k.non_stop_reward.has_value());
  EXPECT_EQ(*gsm8k.non_stop_reward, -1.0);

  // An empty section gets the defaults: no rule beyond weight 1 with partial credit.
  const SourceRewardOptions& fallback = options->sources.at("default");
  EXPECT_EQ(fallback.verifier, "");
  EXPECT_EQ(fallback.weight, 1.0);
  EXPECT_TRUE(fallback.partial_credit);
  EXPECT_EQ(fallback.numeric_tolerance, 0.0);  // exact unless a source asks
  EXPECT_FALSE(fallback.format || fallback.overlong || fallback.non_stop_reward);
}

TEST(RewardConfigTest, FindFallsBackToDefaultThenNull) {
  Result<RewardOptions> options = parse_reward_options(kFull, "rewards.toml");
  ASSERT_TRUE(options.ok()) << options.status().to_string();
  EXPECT_EQ(options->find("gsm8k"), &options->sources.at("gsm8k"));
  EXPECT_EQ(options->find("MATH"), &options->sources.at("default"));
  Result<RewardOptions> no_default = parse_reward_options("[source.gsm8k]\n", "rewards.toml");
  ASSERT_TRUE(no_default.ok()) << no_default.status().to_string();
  EXPECT_EQ(no_default->find("MATH"), nullptr);
}

TEST(RewardConfigTest, VersionIsAShortFnv1aHashOfTheBytes) {
  // FNV-1a 64 of "" is cbf29ce484222325; of "a" is af63dc4c8601ec8c (reference values).
  EXPECT_EQ(reward_config_version(""), "cbf29ce48422");
  EXPECT_EQ(reward_config_version("a"), "af63dc4c8601");
  Result<RewardOptions> a = parse_reward_options(kFull, "a.toml");
  Result<RewardOptions> b = parse_reward_options(kFull, "b.toml");
  Result<RewardOptions> c = parse_reward_options(std::string(kFull) + "# comment\n", "a.toml");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->version, reward_config_version(kFull));
  EXPECT_EQ(a->version, b->version);  // same bytes, same version, whatever the file name
  EXPECT_NE(a->version, c->version);
}

TEST(RewardConfigTest, LoadsFromFileAndNamesMissingFile) {
  testing::TempDir dir;
  const auto path = dir.path() / "rewards.toml";
  std::ofstream(path) << kFull;
  Result<RewardOptions> options = load_reward_options(path);
  ASSERT_TRUE(options.ok()) << options.status().to_string();
  EXPECT_EQ(options->version, reward_config_version(kFull));

  Status missing = load_reward_options(dir.path() / "nope.toml").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("nope.toml"), std::string::npos) << missing.message();
}

TEST(RewardConfigTest, RejectsUnknownKeysAndSections) {
  expect_error("[source.gsm8k]\nwieght = 1\n", "rewards.toml: [source.gsm8k] unknown key 'wieght'");
  expect_error("[source.gsm8k.format]\npattern = 'x'\nmultiplier = 0\n",
               "rewards.toml: [source.gsm8k.format] unknown key 'multiplier'");
  expect_error("[source.a.overlong]\nmax_tokens = 4\nbuffer = 1\n", "[source.a.overlong] unknown key 'buffer'");
  expect_error("[source.a.non_stop]\nreward = 0\npenalty = 1\n", "[source.a.non_stop] unknown key 'penalty'");
  expect_error("[learner]\nx = 1\n", "rewards.toml: unknown section [learner]");
  expect_error("", "no [source.NAME] section");
  expect_error("source = 1\n", "rewards.toml: source: expected [source.NAME] tables, got an integer");
  expect_error("[source]\ngsm8k = 1\n", "[source] gsm8k: expected a table [source.gsm8k], got an integer");
}

TEST(RewardConfigTest, RejectsWrongTypes) {
  expect_error("[source.a]\nweight = \"one\"\n", "rewards.toml: [source.a] weight: expected a number, got a string");
  expect_error("[source.a]\npartial_credit = 1\n", "[source.a] partial_credit: expected a boolean, got an integer");
  expect_error("[source.a]\nverifier = 3\n", "[source.a] verifier: expected a string, got an integer");
  expect_error("[source.a]\nformat = 3\n", "[source.a] format: expected a table, got an integer");
  expect_error("[source.a.overlong]\nmax_tokens = 4.5\n", "[source.a.overlong] max_tokens: expected an integer, got a float");
}

TEST(RewardConfigTest, RejectsOutOfRangeValues) {
  expect_error("[source.a]\nweight = -1\n", "[source.a] weight: expected 0 <= x <= 1000, got -1");
  expect_error("[source.a]\nweight = nan\n", "[source.a] weight: expected 0 <= x <= 1000, got nan");
  expect_error("[source.a]\nnumeric_tolerance = -0.1\n", "[source.a] numeric_tolerance: expected 0 <= x <= 1, got -0.1");
  expect_error("[source.a]\nnumeric_tolerance = 2\n", "[source.a] numeric_tolerance: expected 0 <= x <= 1, got 2");
  expect_error("[source.a]\nnumeric_tolerance = true\n", "[source.a] numeric_tolerance: expected a number, got");
  expect_error("[source.a.format]\npattern = 'x'\nmultiplier_if_missing = 1.5\n",
               "[source.a.format] multiplier_if_missing: expected 0 <= x <= 1, got 1.5");
  expect_error("[source.a.overlong]\nmax_tokens = 0\n", "[source.a.overlong] max_tokens: expected 1 <= x <");
  expect_error("[source.a.overlong]\nmax_tokens = 1024\nbuffer_tokens = 1024\n",
               "[source.a.overlong] buffer_tokens: expected 0 <= x < max_tokens (1024), got 1024");
  expect_error("[source.a.non_stop]\nreward = 5000\n", "[source.a.non_stop] reward: expected -1000 <= x <= 1000, got 5000");
}

TEST(RewardConfigTest, RequiresTheKeyThatGivesASubsectionMeaning) {
  expect_error("[source.a.format]\nmultiplier_if_missing = 0\n", "[source.a.format] missing required key 'pattern'");
  expect_error("[source.a.overlong]\nbuffer_tokens = 1\n", "[source.a.overlong] missing required key 'max_tokens'");
  expect_error("[source.a.non_stop]\n", "[source.a.non_stop] missing required key 'reward'");
}

TEST(RewardConfigTest, RejectsABadRegularExpressionNamingIt) {
  expect_error("[source.a.format]\npattern = '\\boxed{('\n",
               "rewards.toml: [source.a.format] pattern: not a valid regular expression: regex '\\boxed{(': "
               "missing closing parenthesis at offset 8");
}

TEST(RewardConfigTest, SyntaxErrorsCarryLineAndColumn) {
  Status status = parse_error("[source.a]\nweight = = 1\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().rfind("rewards.toml:2:", 0), 0u) << status.message();
}

TEST(RewardConfigTest, MakeFormatRewardOptionsValidates) {
  Result<FormatRewardOptions> format = make_format_reward_options("answer: [0-9]+", 0.25);
  ASSERT_TRUE(format.ok()) << format.status().to_string();
  EXPECT_TRUE(format->regex->find("the answer: 42.")->has_value());
  EXPECT_EQ(format->multiplier_if_missing, 0.25);
  EXPECT_FALSE(make_format_reward_options("[", 0.0).ok());
  EXPECT_FALSE(make_format_reward_options("x", -0.1).ok());
}

}  // namespace
} // namespace caravan::core
