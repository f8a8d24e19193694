// core/regex.h: PCRE2 matching with Unicode classes, invalid UTF-8 subjects, and bounded work on
// the inputs that crash std::regex (deep recursion) or backtrack exponentially.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/regex.h"

namespace caravan::core {
namespace {

Regex compiled(std::string_view pattern, Regex::Syntax syntax = Regex::Syntax::kRegex) {
  Result<Regex> regex = Regex::compile(pattern, syntax);
  EXPECT_TRUE(regex.ok()) << regex.status().message();
  return std::move(*regex);
}

// The match of `regex` in `text` from `start` as a string, or nullopt; fails the test on an error.
std::optional<std::string> match_text(const Regex& regex, std::string_view text, size_t start = 0) {
  Result<std::optional<Regex::Span>> found = regex.find(text, start);
  EXPECT_TRUE(found.ok()) << found.status().message();
  if (!found.ok() || !*found) return std::nullopt;
  return std::string(text.substr((*found)->begin, (*found)->end - (*found)->begin));
}

TEST(RegexTest, FindsTheLeftmostMatchFromAStartOffset) {
  const Regex number = compiled(R"(\d+)");
  EXPECT_EQ(match_text(number, "a 12 b 345"), "12");
  EXPECT_EQ(match_text(number, "a 12 b 345", 4), "345");
  EXPECT_EQ(match_text(number, "no digits"), std::nullopt);
  EXPECT_EQ(match_text(number, "12", 2), std::nullopt);
}

TEST(RegexTest, FindAllReturnsNonEmptyMatchesLeftToRight) {
  const Regex digits = compiled(R"(\d*)");  // also matches empty: those are stepped over
  Result<std::vector<Regex::Span>> found = digits.find_all("a12é345");
  ASSERT_TRUE(found.ok()) << found.status().message();
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].begin, 1u);
  EXPECT_EQ((*found)[0].end, 3u);
  EXPECT_EQ((*found)[1].begin, 5u);  // after the two-byte 'é'
  EXPECT_EQ((*found)[1].end, 8u);
  EXPECT_TRUE(digits.find_all("")->empty());
  EXPECT_EQ(compiled("(x+x+)+$").find_all(std::string(40, 'x') + "!").status().code(),
            StatusCode::kResourceExhausted);
}

TEST(RegexTest, UnicodePropertiesAndInvalidUtf8Subjects) {
  const Regex letters = compiled(R"(\p{L}+)");
  EXPECT_EQ(match_text(letters, "42 Grüße!"), "Grüße");
  EXPECT_EQ(match_text(letters, "\xff\xfe ok"), "ok");  // invalid bytes never match
}

TEST(RegexTest, LiteralSyntaxMatchesMetacharactersAsText) {
  EXPECT_EQ(match_text(compiled("a.b(", Regex::Syntax::kLiteral), "axb( a.b("), "a.b(");
}

TEST(RegexTest, CompileErrorNamesThePatternAndOffset) {
  Result<Regex> bad = Regex::compile("\\boxed{(");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "regex '\\boxed{(': missing closing parenthesis at offset 8");
}

TEST(RegexTest, LongSubjectsThatOverflowStdRegexAreFine) {
  // libstdc++'s std::regex segfaults on these (one recursion per character).
  const std::string long_text(2'000'000, 'a');
  EXPECT_EQ(match_text(compiled("(a|b)*c"), long_text), std::nullopt);
  const std::optional<std::string> whole = match_text(compiled("^(a|b)*"), std::string(100'000, 'a'));
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->size(), 100'000u);
}

TEST(RegexTest, ExponentialBacktrackingHitsTheMatchLimit) {
  const Regex catastrophic = compiled("(x+x+)+$");
  Result<std::optional<Regex::Span>> found = catastrophic.find(std::string(40, 'x') + "!");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(found.status().message().find("(x+x+)+$"), std::string::npos) << found.status().message();
}

} // namespace
} // namespace caravan::core
