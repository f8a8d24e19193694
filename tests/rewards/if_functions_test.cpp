// open-instruct func_name constraints (rewards/ifeval/if_functions.h): each function on texts
// that follow and break it, the Tülu 3 row layout with null arguments, and malformed constraints.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rewards/ifeval/if_functions.h"
#include "rewards/ifeval/ifeval_verifier.h"

namespace caravan::rewards::ifeval {
namespace {

using nlohmann::json;

// Checks `constraint` (JSON text) against `text`; fails the test on an error status.
bool followed(std::string_view constraint, std::string_view text) {
  const Result<bool> result = check_if_function(json::parse(constraint), text);
  EXPECT_TRUE(result.ok()) << constraint << ": " << result.status().message();
  return result.ok() && *result;
}

std::string error_of(std::string_view constraint, std::string_view text = "text") {
  const Result<bool> result = check_if_function(json::parse(constraint), text);
  EXPECT_FALSE(result.ok()) << constraint << " unexpectedly ok";
  return result.ok() ? "" : std::string(result.status().message());
}

TEST(IfFunctions, AllTwentyFiveOfOpenInstructAreSupported) {
  EXPECT_EQ(supported_if_functions().size(), 25U);
  EXPECT_EQ(supported_if_functions().front(), "verify_keywords");
  EXPECT_EQ(supported_if_functions().back(), "validate_no_commas");
}

TEST(IfFunctions, Keywords) {
  const std::string_view c = R"({"func_name": "verify_keywords", "keyword_list": ["Apple", "pie"]})";
  EXPECT_TRUE(followed(c, "An apple PIE."));
  EXPECT_FALSE(followed(c, "An apple tart."));
  const std::string_view freq = R"({"func_name": "verify_keyword_frequency", "word": "Cat", "N": 2})";
  EXPECT_TRUE(followed(freq, "cat, CAT and category"));  // whole words only
  EXPECT_FALSE(followed(freq, "cat cat cat"));
  const std::string_view forbidden = R"({"func_name": "validate_forbidden_words", "forbidden_words": ["dog"]})";
  EXPECT_TRUE(followed(forbidden, "A cat."));
  EXPECT_FALSE(followed(forbidden, "Hotdogs."));  // substring, as open-instruct
}

TEST(IfFunctions, LetterFrequencyIsCaseSensitiveAndNeedsOneCharacter) {
  EXPECT_TRUE(followed(R"({"func_name": "verify_letter_frequency", "letter": "l", "N": 3})", "hello world L"));
  EXPECT_TRUE(followed(R"({"func_name": "verify_letter_frequency", "letter": "é", "N": 2})", "été"));
  EXPECT_NE(error_of(R"({"func_name": "verify_letter_frequency", "letter": "ab", "N": 1})").find("letter"),
            std::string::npos);
}

TEST(IfFunctions, ResponseLanguage) {
  EXPECT_TRUE(followed(R"({"func_name": "validate_response_language", "language": "ru"})", "Привет, мир"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_response_language", "language": "en"})", "Привет, мир"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_response_language", "language": "de"})", "Das ist gut und schön."));
  EXPECT_NE(error_of(R"({"func_name": "validate_response_language", "language": "nl"})").find("'nl'"),
            std::string::npos);
}

TEST(IfFunctions, ParagraphsByMarkdownDivider) {
  const std::string_view c = R"({"func_name": "verify_paragraph_count", "N": 2})";
  EXPECT_TRUE(followed(c, "First.\n* * *\nSecond."));
  EXPECT_FALSE(followed(c, "First.\n* * *\n  \n* * *\nThird."));  // an empty paragraph
  EXPECT_FALSE(followed(c, "Only one."));
}

TEST(IfFunctions, WordConstraintWithQuantifiers) {
  const auto words = [](int n, std::string_view quantifier) {
    return json{{"func_name", "validate_word_constraint"}, {"N", n}, {"quantifier", quantifier}}.dump();
  };
  EXPECT_TRUE(followed(words(3, "at least"), "one two\u3000three"));  // Unicode whitespace splits
  EXPECT_FALSE(followed(words(4, "at least"), "one two three"));
  EXPECT_TRUE(followed(words(3, "at most"), "one two three"));
  // around: max(round(N * 0.1), 1); round(2.5) is 2 in Python.
  const std::string twenty_seven = [] {
    std::string s;
    for (int i = 0; i < 27; ++i) s += "w ";
    return s;
  }();
  EXPECT_TRUE(followed(words(25, "around"), twenty_seven));
  EXPECT_FALSE(followed(words(24, "around"), twenty_seven));
  EXPECT_TRUE(followed(words(5, "around"), "a b c d"));  // tolerance at least 1
  EXPECT_NE(error_of(words(3, "exactly")).find("quantifier"), std::string::npos);
}

TEST(IfFunctions, SentenceSplitFollowsOpenInstructRegex) {
  const auto sentences = [](int n, std::string_view quantifier) {
    return json{{"func_name", "verify_sentence_constraint"}, {"N", n}, {"quantifier", quantifier}}.dump();
  };
  // Splits after ". ", "? ", "! " but not after "e.g. " (\w.\w.) nor after "Mr. " ([A-Z][a-z].).
  const std::string_view text = "Hi there. Is it e.g. fine? Ask Mr. Smith! Done";
  EXPECT_TRUE(followed(sentences(4, "at least"), text));
  EXPECT_FALSE(followed(sentences(5, "at least"), text));
  EXPECT_TRUE(followed(sentences(5, "around"), text));
  EXPECT_TRUE(followed(sentences(1, "at most"), "One sentence only."));
}

TEST(IfFunctions, ParagraphsWithFirstWord) {
  const std::string_view c = R"({"func_name": "validate_paragraphs", "N": 3, "i": 2, "first_word": "Second"})";
  EXPECT_TRUE(followed(c, "First.\n\n  Second para.\n\nThird."));
  EXPECT_FALSE(followed(c, "First.\n\nsecond para.\n\nThird."));
  EXPECT_FALSE(followed(c, "First.\n\nSecond para."));
  EXPECT_NE(error_of(R"({"func_name": "validate_paragraphs", "N": 2, "i": 3, "first_word": "x"})").find("'i'"),
            std::string::npos);
}

TEST(IfFunctions, PostscriptNeedsTextAfterTheMarker) {
  const std::string_view c = R"({"func_name": "verify_postscript", "postscript_marker": "P.S."})";
  EXPECT_TRUE(followed(c, "Body.\nP.S. see you"));
  EXPECT_FALSE(followed(c, "Body.\nP.S.   "));
  EXPECT_FALSE(followed(c, "Body."));
}

TEST(IfFunctions, PlaceholdersBulletsTitleHighlights) {
  EXPECT_TRUE(followed(R"({"func_name": "validate_placeholders", "N": 2})", "[name] at [address]"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_placeholders", "N": 2})", "[name] at [addr\ness]"));
  EXPECT_TRUE(followed(R"({"func_name": "verify_bullet_points", "N": 2})", "* one\n  - two\nthree"));
  EXPECT_FALSE(followed(R"({"func_name": "verify_bullet_points", "N": 2})", "* one\n- two\n* three"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_title"})", "<<Ode>>\ntext"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_title"})", "<<Ode\n>> text"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_highlighted_sections", "N": 2})", "*a* and *b*"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_highlighted_sections", "N": 2})", "*a* and *b"));
}

TEST(IfFunctions, ChoiceTakesAListOrAPythonTupleString) {
  EXPECT_TRUE(followed(R"j({"func_name": "validate_choice", "options": ["a)", "b)"]})j", "I pick b)."));
  EXPECT_FALSE(followed(R"j({"func_name": "validate_choice", "options": ["a)", "b)"]})j", "I pick c)."));
  const std::string_view tuple =
      R"j({"func_name": "validate_choice", "options": "('My answer is yes.', 'My answer is no.', \"It's maybe.\")"})j";
  EXPECT_TRUE(followed(tuple, "My answer is no."));
  EXPECT_TRUE(followed(tuple, "It's maybe."));
  // open-instruct would iterate this string by character and pass on any shared letter.
  EXPECT_FALSE(followed(tuple, "My answer is perhaps."));
  EXPECT_NE(error_of(R"({"func_name": "validate_choice", "options": "yes or no"})").find("options"),
            std::string::npos);
}

TEST(IfFunctions, SectionsAreCaseInsensitiveAndNumbered) {
  const std::string_view c = R"({"func_name": "validate_sections", "N": 2, "section_splitter": "Section"})";
  EXPECT_TRUE(followed(c, "SECTION 1\nintro\nsection 2\nbody"));
  EXPECT_FALSE(followed(c, "Section 1\nintro\nSection two\nbody"));
}

TEST(IfFunctions, WholeTextFormats) {
  EXPECT_TRUE(followed(R"({"func_name": "validate_json_format"})", R"({"a": [1, 2]})"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_json_format"})", "```json\n{}\n```"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_repeat_prompt", "original_prompt": "Say hi."})", "Say hi. Hi!"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_repeat_prompt", "original_prompt": "Say hi."})", "say hi. Hi!"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_two_responses"})", "Yes.\n******\nNo."));
  EXPECT_FALSE(followed(R"({"func_name": "validate_two_responses"})", "Yes.\n******\nYes. "));
  EXPECT_FALSE(followed(R"({"func_name": "validate_two_responses"})", "a ****** b ****** c"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_uppercase"})", "ALL CAPS, 123!"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_uppercase"})", "ALL CAPs"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_lowercase"})", "all lower"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_lowercase"})", "not All lower"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_end", "end_phrase": "Any questions?"})", "Done. Any questions?"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_end", "end_phrase": "Any questions?"})", "Any questions? Bye"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_quotation"})", "\"quoted\""));
  EXPECT_FALSE(followed(R"({"func_name": "validate_quotation"})", "\"quoted"));
  EXPECT_TRUE(followed(R"({"func_name": "validate_no_commas"})", "no commas here"));
  EXPECT_FALSE(followed(R"({"func_name": "validate_no_commas"})", "one, two"));
}

TEST(IfFunctions, CapitalWordsAreWholeWordsOfCapitals) {
  const std::string_view c = R"({"func_name": "validate_frequency_capital_words", "N": 2, "quantifier": "at least"})";
  EXPECT_TRUE(followed(c, "USE the API or NASA"));
  EXPECT_FALSE(followed(c, "USE the APIs or NASA2"));  // "APIs" and "NASA2" are not all capitals
}

TEST(IfFunctions, TuluRowWithNullArgumentsIsAccepted) {
  const std::string_view row = R"({"func_name": "validate_word_constraint", "N": 3, "quantifier": "at least",
      "end_phrase": null, "keyword_list": null, "word": null, "forbidden_words": null, "letter": null,
      "i": null, "first_word": null, "postscript_marker": null, "options": null, "section_splitter": null,
      "original_prompt": null})";
  EXPECT_TRUE(followed(row, "one two three"));
}

TEST(IfFunctions, MalformedConstraintsNameTheFunctionAndArgument) {
  EXPECT_NE(error_of(R"({"func_name": "validate_everything"})").find("unknown function 'validate_everything'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"N": 3})").find("func_name"), std::string::npos);
  const std::string unexpected = error_of(R"({"func_name": "validate_no_commas", "N": 3})");
  EXPECT_NE(unexpected.find("'validate_no_commas': unexpected argument 'N'"), std::string::npos) << unexpected;
  const std::string missing = error_of(R"({"func_name": "validate_word_constraint", "quantifier": "at least"})");
  EXPECT_NE(missing.find("'validate_word_constraint'"), std::string::npos) << missing;
  EXPECT_NE(missing.find("'N'"), std::string::npos) << missing;
  EXPECT_FALSE(check_if_function(json::array(), "text").ok());
}

class IfevalFuncNameVerifierTest : public ::testing::Test {
 protected:
  IfevalVerifier verifier_;
};

TEST_F(IfevalFuncNameVerifierTest, ScoresOneOrZeroAndNamesTheFunction) {
  const std::string truth = json(R"({"func_name": "validate_lowercase", "N": null})").dump();  // JSON string
  const Verdict ok = verifier_.verify("all lowercase here", truth);
  EXPECT_EQ(ok.status, VerdictStatus::kOk) << ok.detail;
  EXPECT_EQ(ok.score, 1.0);
  const Verdict wrong = verifier_.verify("Not lowercase", R"({"func_name": "validate_lowercase"})");
  EXPECT_EQ(wrong.status, VerdictStatus::kWrong);
  EXPECT_EQ(wrong.score, 0.0);
  EXPECT_EQ(wrong.detail, "not followed: validate_lowercase");
  const Verdict bad = verifier_.verify("x", R"({"func_name": "validate_end"})");
  EXPECT_EQ(bad.status, VerdictStatus::kError);
  EXPECT_NE(bad.detail.find("end_phrase"), std::string::npos) << bad.detail;
}

TEST_F(IfevalFuncNameVerifierTest, OnlyTheFinalAnswerIsChecked) {
  // The reasoning before </think> has capitals and commas; the answer has neither.
  const std::string_view completion = "<think>Hmm, Let me think.</think>\n<answer>all good here</answer>\n";
  EXPECT_EQ(verifier_.verify(completion, R"({"func_name": "validate_no_commas"})").status, VerdictStatus::kOk);
  EXPECT_EQ(verifier_.verify(completion, R"({"instruction_id_list": ["change_case:english_lowercase"]})").status,
            VerdictStatus::kOk);
  EXPECT_EQ(verifier_.verify("\"quoted\"</answer>", R"({"func_name": "validate_quotation"})").status,
            VerdictStatus::kOk);
}

TEST_F(IfevalFuncNameVerifierTest, AnEmptyAnswerIsWrongWhateverTheConstraint) {
  for (std::string_view completion : {"", "  \n", "<think>no commas here</think>   "}) {
    const Verdict v = verifier_.verify(completion, R"({"func_name": "validate_no_commas"})");
    EXPECT_EQ(v.status, VerdictStatus::kWrong) << completion;
    EXPECT_EQ(v.detail, "empty answer");
  }
}

} // namespace
} // namespace caravan::rewards::ifeval
