#include "core/config.h"

#include <gtest/gtest.h>

namespace caravan::core {
namespace {

constexpr const char* kMinimal = R"(
[run]
name = "t"
[task]
kind = "arithmetic"
)";

Status parse_error(const std::string& text) { return parse_run_config(text, "test.toml").status(); }

TEST(ConfigTest, MinimalConfigGetsDefaults) {
  auto config = parse_run_config(kMinimal, "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->run.name, "t");
  EXPECT_EQ(config->grpo.group_size, GrpoOptions{}.group_size);
  EXPECT_EQ(config->model.hidden_size, TransformerConfig{}.hidden_size);
}

TEST(ConfigTest, MissingRequiredKeyIsNamed) {
  Status status = parse_error("[run]\nname = \"t\"\n[task]\nmax_operand_add = 9\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [task] missing required key 'kind'"), std::string::npos) << status.message();
}

TEST(ConfigTest, WrongTypeIsNamedWithExpectedType) {
  Status status = parse_error(std::string(kMinimal) + "[grpo]\ngroup_size = \"eight\"\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml: [grpo] group_size: expected an integer, got a string"), std::string::npos)
      << status.message();
}

TEST(ConfigTest, UnknownKeyIsNamed) {
  Status status = parse_error(std::string(kMinimal) + "[grpo]\ngruop_size = 8\n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("[grpo] unknown key 'gruop_size'"), std::string::npos) << status.message();
}

TEST(ConfigTest, UnknownSectionIsNamed) {
  Status status = parse_error(std::string(kMinimal) + "[grop]\ngroup_size = 8\n");
  EXPECT_NE(status.message().find("unknown section [grop]"), std::string::npos) << status.message();
}

TEST(ConfigTest, OutOfRangeValueShowsTheRange) {
  Status status = parse_error(std::string(kMinimal) + "[grpo]\nclip_low = 1.5\n");
  EXPECT_NE(status.message().find("[grpo] clip_low: expected 0 < x < 1, got 1.5"), std::string::npos) << status.message();
}

TEST(ConfigTest, InvalidChoiceListsTheChoices) {
  Status status = parse_error("[run]\nname = \"t\"\n[task]\nkind = \"chess\"\n");
  EXPECT_NE(status.message().find("[task] kind: expected one of \"arithmetic\", got \"chess\""), std::string::npos)
      << status.message();
}

TEST(ConfigTest, SyntaxErrorHasLineAndColumn) {
  Status status = parse_error("[run]\nname = \n");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("test.toml:2:"), std::string::npos) << status.message();
}

TEST(ConfigTest, CrossFieldConstraintIsChecked) {
  Status status = parse_error(std::string(kMinimal) + "[model]\nhidden_size = 100\nnum_heads = 3\n");
  EXPECT_NE(status.message().find("hidden_size (100) must be a multiple of num_heads (3)"), std::string::npos)
      << status.message();
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto config = load_run_config("/nonexistent/caravan.toml");
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_NE(config.status().message().find("/nonexistent/caravan.toml"), std::string::npos);
}

TEST(ConfigTest, ResolvedConfigRoundTrips) {
  auto config = parse_run_config(std::string(kMinimal) + "[grpo]\nkl_coef = 0.05\n[cluster]\ncontroller_port = 4242\n",
                                 "test.toml");
  ASSERT_TRUE(config.ok());
  auto again = parse_run_config(to_toml(*config), "resolved.toml");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(to_toml(*again), to_toml(*config));
  EXPECT_DOUBLE_EQ(again->grpo.kl_coef, 0.05);
  EXPECT_EQ(again->cluster.controller_port, 4242);
}

}  // namespace
} // namespace caravan::core
