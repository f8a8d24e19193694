#include "model/tokenizer_config.h"

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/temp_dir.h"

namespace caravan::model {
namespace {

using nlohmann::json;

class TokenizerConfigTest : public ::testing::Test {
 protected:
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_.path() / name) << text; }
  testing::TempDir dir_;
};

TEST_F(TokenizerConfigTest, ReadsTemplateAndSpecialTokensAsStringsOrObjects) {
  write("tokenizer_config.json", json{{"chat_template", "<|im_start|>"},
                                      {"bos_token", {{"__type", "AddedToken"}, {"content", "<s>"}}},
                                      {"eos_token", "</s>"},
                                      {"pad_token", nullptr},
                                      {"add_bos_token", true}}
                                     .dump());
  Result<TokenizerConfig> config = read_tokenizer_config(dir_.path());
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->chat_template, "<|im_start|>");
  EXPECT_EQ(config->chat_template_file, (dir_.path() / "tokenizer_config.json").string());
  EXPECT_EQ(config->bos_token, "<s>");
  EXPECT_EQ(config->eos_token, "</s>");
  EXPECT_EQ(config->pad_token, "");
  EXPECT_EQ(config->add_bos_token, true);
}

TEST_F(TokenizerConfigTest, ChatTemplateJinjaWinsAndTemplateListsUseTheDefaultEntry) {
  write("tokenizer_config.json",
        json{{"chat_template", json::array({{{"name", "tool_use"}, {"template", "A"}}, {{"name", "default"}, {"template", "B"}}})}}
            .dump());
  EXPECT_EQ(read_tokenizer_config(dir_.path()).value().chat_template, "B");
  write("chat_template.jinja", "C");
  const TokenizerConfig config = read_tokenizer_config(dir_.path()).value();
  EXPECT_EQ(config.chat_template, "C");
  EXPECT_EQ(config.chat_template_file, (dir_.path() / "chat_template.jinja").string());
}

TEST_F(TokenizerConfigTest, AbsentFilesGiveAnEmptyConfig) {
  const TokenizerConfig config = read_tokenizer_config(dir_.path()).value();
  EXPECT_TRUE(config.chat_template.empty());
  EXPECT_FALSE(config.add_bos_token.has_value());
}

TEST_F(TokenizerConfigTest, MalformedContentNamesTheFileAndKey) {
  const std::string file = (dir_.path() / "tokenizer_config.json").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", file + ": invalid JSON"},
      {"[1]", file + ": expected a JSON object"},
      {json{{"chat_template", 7}}.dump(), file + ": key 'chat_template': expected a string or a list"},
      {json{{"chat_template", json::array()}}.dump(), file + ": key 'chat_template': the list has no \"default\""},
      {json{{"eos_token", 3}}.dump(), file + ": key 'eos_token': expected a string, null or {\"content\": string}"},
      {json{{"add_bos_token", "yes"}}.dump(), file + ": key 'add_bos_token': expected a boolean"},
  };
  for (const auto& [text, expected] : cases) {
    write("tokenizer_config.json", text);
    Result<TokenizerConfig> config = read_tokenizer_config(dir_.path());
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(expected), std::string::npos) << config.status().message();
  }
}

}  // namespace
}  // namespace caravan::model
