#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "rewards/ifeval/ifeval_verifier.h"
#include "rewards/ifeval/instructions.h"
#include "rewards/ifeval/latin_language.h"
#include "rewards/verifier_registry.h"

namespace caravan::rewards::ifeval {
namespace {

using nlohmann::json;

// Checks one instruction; kwargs given as JSON text. Fails the test on an error status.
bool followed(std::string_view id, std::string_view kwargs, std::string_view response) {
  const Result<bool> result = check_instruction(id, json::parse(kwargs), response);
  EXPECT_TRUE(result.ok()) << id << ": " << result.status().message();
  return result.ok() && *result;
}

Status error_of(std::string_view id, std::string_view kwargs, std::string_view response = "text") {
  const Result<bool> result = check_instruction(id, json::parse(kwargs), response);
  EXPECT_FALSE(result.ok()) << id << " unexpectedly ok";
  return result.ok() ? Status::ok_status() : result.status();
}

TEST(IfevalRelation, LessThanIsStrictAtLeastIsInclusive) {
  EXPECT_TRUE(relation_holds(2, Relation::kLessThan, 3));
  EXPECT_FALSE(relation_holds(3, Relation::kLessThan, 3));
  EXPECT_TRUE(relation_holds(3, Relation::kAtLeast, 3));
  EXPECT_FALSE(relation_holds(2, Relation::kAtLeast, 3));
  EXPECT_FALSE(parse_relation("at most").ok());
  EXPECT_FALSE(parse_relation("At least").ok());
}

TEST(IfevalText, CountWordsUsesWordRuns) {
  EXPECT_EQ(count_words(""), 0U);
  EXPECT_EQ(count_words("Hello, world! It's 2024."), 5U); // Hello world It s 2024
  EXPECT_EQ(count_words("snake_case — dash"), 2U);        // em dash is punctuation
  EXPECT_EQ(count_words("Привет мир"), 2U);
}

TEST(IfevalText, CountSentences) {
  EXPECT_EQ(count_sentences(""), 0U);
  EXPECT_EQ(count_sentences("One. Two! Three?"), 3U);
  EXPECT_EQ(count_sentences("No terminator here"), 1U);
  EXPECT_EQ(count_sentences("Mr. Smith paid 3.50 dollars. Then he left"), 2U);
  EXPECT_EQ(count_sentences("J. R. R. Tolkien wrote books, e.g. this one."), 1U);
  EXPECT_EQ(count_sentences("Wait... what?! \"Yes.\" Done."), 4U);
}

TEST(IfevalText, DominantScriptAndLanguage) {
  EXPECT_EQ(dominant_script("Hello there"), Script::kLatin);
  EXPECT_EQ(dominant_script("12 + 3"), Script::kNone);
  EXPECT_EQ(dominant_script("Привет, мир (hi)"), Script::kCyrillic);
  EXPECT_EQ(dominant_script("東京は日本の首都です"), Script::kKana); // has kana: Japanese
  EXPECT_EQ(dominant_script("北京是中国的首都"), Script::kHan);
  EXPECT_EQ(dominant_script("안녕하세요 hi"), Script::kHangul);
  EXPECT_EQ(dominant_script("\xFF\xFE abc"), Script::kLatin); // invalid bytes are skipped
  EXPECT_TRUE(*is_language("مرحبا بالعالم", "ar"));
  EXPECT_TRUE(*is_language("नमस्ते दुनिया", "hi"));
  EXPECT_TRUE(*is_language("Γειά σου κόσμε", "el"));
  EXPECT_TRUE(*is_language("שלום עולם", "he"));
  EXPECT_TRUE(*is_language("สวัสดีชาวโลก", "th"));
  EXPECT_FALSE(*is_language("Hello world", "ru"));
  EXPECT_FALSE(*is_language("1234", "en"));           // no letters: not followed (IFEval would say yes)
  EXPECT_FALSE(is_language("Hallo Welt", "nl").ok()); // Latin languages IFEval never asks for
}

// One everyday sentence per language IFEval asks for in Latin script.
TEST(IfevalText, LatinLanguagesByFunctionWords) {
  const std::pair<const char*, const char*> samples[] = {
      {"en", "The weather is nice today and we are going to the park with our friends."},
      {"es", "El tiempo es muy bueno hoy y vamos al parque con los amigos de la escuela."},
      {"pt", "O tempo está muito bom hoje e nós vamos ao parque com os amigos da escola."},
      {"fr", "Le temps est très beau aujourd'hui et nous allons au parc avec les amis de l'école."},
      {"de", "Das Wetter ist heute schön und wir gehen mit den Freunden in den Park."},
      {"it", "Il tempo è molto bello oggi e andiamo al parco con gli amici della scuola."},
      {"pl", "Pogoda jest dzisiaj bardzo ładna i idziemy do parku z przyjaciółmi ze szkoły."},
      {"vi", "Thời tiết hôm nay rất đẹp và chúng tôi sẽ đi công viên với những người bạn của mình."},
      {"sw", "Hali ya hewa ni nzuri sana leo na tunaenda kwenye bustani pamoja na marafiki wa shule."},
      {"fi", "Sää on tänään kaunis ja me menemme puistoon ystävien kanssa, mutta vain hetkeksi."},
  };
  for (const auto& [code, text] : samples) {
    EXPECT_EQ(detect_latin_language(text), code) << text;
    for (const auto& [other, unused] : samples) {
      EXPECT_EQ(*is_language(text, other), std::string_view(code) == other) << code << " asked as " << other;
    }
  }
  EXPECT_EQ(detect_latin_language("OK 42"), "");
  EXPECT_TRUE(*is_language("HELLO WORLD", "en"));   // no function words: English by default only
  EXPECT_FALSE(*is_language("HELLO WORLD", "de"));
  EXPECT_FALSE(*is_language("Привет, мир", "de"));  // not Latin script at all
}

TEST(IfevalKeywords, Existence) {
  // Case-insensitive substring search for every keyword.
  EXPECT_TRUE(followed("keywords:existence", R"({"keywords": ["Apple", "pie"]})", "I baked an apple PIE."));
  EXPECT_FALSE(followed("keywords:existence", R"({"keywords": ["apple", "tart"]})", "I baked an apple pie."));
}

TEST(IfevalKeywords, FrequencyRelations) {
  // "the" occurs 3 times (The, the, thE).
  const std::string text = "The cat saw the dog and thE bird.";
  EXPECT_TRUE(
      followed("keywords:frequency", R"({"keyword": "the", "frequency": 3, "relation": "at least"})", text));
  EXPECT_FALSE(
      followed("keywords:frequency", R"({"keyword": "the", "frequency": 4, "relation": "at least"})", text));
  EXPECT_TRUE(
      followed("keywords:frequency", R"({"keyword": "the", "frequency": 4, "relation": "less than"})", text));
  EXPECT_FALSE(
      followed("keywords:frequency", R"({"keyword": "the", "frequency": 3, "relation": "less than"})", text));
}

TEST(IfevalKeywords, ForbiddenWordsRespectWordBoundaries) {
  const std::string_view kwargs = R"({"forbidden_words": ["cat", "dog"]})";
  EXPECT_TRUE(followed("keywords:forbidden_words", kwargs, "A category of hotdogs.")); // inside words
  EXPECT_FALSE(followed("keywords:forbidden_words", kwargs, "My Cat sleeps."));
  EXPECT_FALSE(followed("keywords:forbidden_words", kwargs, "dog"));
}

TEST(IfevalKeywords, LetterFrequency) {
  // "Banana bread": a appears 4 times (case-insensitive: B-a-n-a-n-a + bre-a-d).
  const std::string text = "Banana bread";
  EXPECT_TRUE(followed("keywords:letter_frequency",
                       R"({"letter": "A", "let_frequency": 4, "let_relation": "at least"})", text));
  EXPECT_FALSE(followed("keywords:letter_frequency",
                        R"({"letter": "a", "let_frequency": 4, "let_relation": "less than"})", text));
  EXPECT_TRUE(followed("keywords:letter_frequency",
                       R"({"letter": "a", "let_frequency": 5, "let_relation": "less than"})", text));
}

TEST(IfevalLanguage, ResponseLanguage) {
  EXPECT_TRUE(followed("language:response_language", R"({"language": "ru"})", "Это ответ на русском языке."));
  EXPECT_FALSE(followed("language:response_language", R"({"language": "ru"})", "This is English."));
  EXPECT_TRUE(followed("language:response_language", R"({"language": "ko"})", "안녕하세요"));
  EXPECT_TRUE(followed("language:response_language", R"({"language": "fr"})", "C'est une réponse en français."));
  EXPECT_FALSE(followed("language:response_language", R"({"language": "fr"})", "This is the English answer."));
  EXPECT_EQ(error_of("language:response_language", R"({"language": "nl"})").code(),
            StatusCode::kInvalidArgument);
}

TEST(IfevalLength, NumberSentences) {
  const std::string text = "First one. Second one. Third one.";
  EXPECT_TRUE(followed("length_constraints:number_sentences",
                       R"({"num_sentences": 3, "relation": "at least"})", text));
  EXPECT_FALSE(followed("length_constraints:number_sentences",
                        R"({"num_sentences": 3, "relation": "less than"})", text));
  EXPECT_TRUE(followed("length_constraints:number_sentences",
                       R"({"num_sentences": 4, "relation": "less than"})", text));
}

TEST(IfevalLength, NumberParagraphsUsesMarkdownDivider) {
  const std::string_view kwargs = R"({"num_paragraphs": 3})";
  EXPECT_TRUE(followed("length_constraints:number_paragraphs", kwargs, "A\n***\nB\n***\nC"));
  EXPECT_TRUE(
      followed("length_constraints:number_paragraphs", kwargs, "***\nA\n***\nB\n***\nC\n***")); // edges
  EXPECT_FALSE(followed("length_constraints:number_paragraphs", kwargs, "A\n***\nB"));
  EXPECT_FALSE(
      followed("length_constraints:number_paragraphs", kwargs, "A\n***\n\n***\nB\n***\nC")); // empty middle
}

TEST(IfevalLength, NumberWords) {
  const std::string text = "one two three four five";
  EXPECT_TRUE(
      followed("length_constraints:number_words", R"({"num_words": 5, "relation": "at least"})", text));
  EXPECT_FALSE(
      followed("length_constraints:number_words", R"({"num_words": 6, "relation": "at least"})", text));
  EXPECT_FALSE(
      followed("length_constraints:number_words", R"({"num_words": 5, "relation": "less than"})", text));
  EXPECT_TRUE(
      followed("length_constraints:number_words", R"({"num_words": 6.0, "relation": "less than"})", text));
}

TEST(IfevalLength, NthParagraphFirstWord) {
  const std::string text = "Intro text.\n\n\"Summer, is here.\"\n\nThe end.";
  EXPECT_TRUE(followed("length_constraints:nth_paragraph_first_word",
                       R"({"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "summer"})", text));
  // Wrong word, wrong paragraph count, nth beyond the count.
  EXPECT_FALSE(followed("length_constraints:nth_paragraph_first_word",
                        R"({"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "winter"})", text));
  EXPECT_FALSE(followed("length_constraints:nth_paragraph_first_word",
                        R"({"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "summer"})", text));
  EXPECT_FALSE(followed("length_constraints:nth_paragraph_first_word",
                        R"({"num_paragraphs": 3, "nth_paragraph": 4, "first_word": "the"})", text));
}

TEST(IfevalContent, NumberPlaceholders) {
  const std::string_view kwargs = R"({"num_placeholders": 2})";
  EXPECT_TRUE(followed("detectable_content:number_placeholders", kwargs, "Dear [name], at [address]."));
  EXPECT_FALSE(followed("detectable_content:number_placeholders", kwargs, "Dear [name], at [addr\ness]."));
}

TEST(IfevalContent, Postscript) {
  EXPECT_TRUE(
      followed("detectable_content:postscript", R"({"postscript_marker": "P.S."})", "Bye.\np. s. see you"));
  EXPECT_FALSE(
      followed("detectable_content:postscript", R"({"postscript_marker": "P.S."})", "Bye. PS see you"));
  EXPECT_TRUE(
      followed("detectable_content:postscript", R"({"postscript_marker": "P.P.S"})", "Bye.\nP.P.S. more"));
  EXPECT_TRUE(followed("detectable_content:postscript", R"({"postscript_marker": "Note:"})", "x\nNOTE: y"));
  EXPECT_FALSE(followed("detectable_content:postscript", R"({"postscript_marker": "Note:"})", "x\nNotes y"));
}

TEST(IfevalFormat, NumberBulletLists) {
  const std::string_view kwargs = R"({"num_bullets": 3})";
  EXPECT_TRUE(
      followed("detectable_format:number_bullet_lists", kwargs, "Items:\n* a\n  * b\n- c\n**bold** line"));
  EXPECT_FALSE(followed("detectable_format:number_bullet_lists", kwargs, "* a\n* b"));
  EXPECT_FALSE(
      followed("detectable_format:number_bullet_lists", kwargs, "* a\n* b\n* c\n* d")); // exact count
}

TEST(IfevalFormat, ConstrainedResponse) {
  EXPECT_TRUE(followed("detectable_format:constrained_response", "{}", "Thinking... My answer is maybe."));
  EXPECT_FALSE(followed("detectable_format:constrained_response", "{}", "My answer is yes")); // no period
}

TEST(IfevalFormat, NumberHighlightedSections) {
  const std::string_view kwargs = R"({"num_highlights": 2})";
  EXPECT_TRUE(followed("detectable_format:number_highlighted_sections", kwargs, "*one* and **two**"));
  EXPECT_FALSE(followed("detectable_format:number_highlighted_sections", kwargs, "*one* and * * and *a\nb*"));
}

TEST(IfevalFormat, MultipleSections) {
  const std::string_view kwargs = R"({"section_spliter": "SECTION", "num_sections": 2})";
  EXPECT_TRUE(followed("detectable_format:multiple_sections", kwargs, "SECTION 1\nfoo\nSECTION 2\nbar"));
  EXPECT_FALSE(followed("detectable_format:multiple_sections", kwargs, "SECTION 1\nfoo\nSection 2\nbar"));
  EXPECT_FALSE(followed("detectable_format:multiple_sections", kwargs, "SECTION one\nSECTION two"));
}

TEST(IfevalFormat, JsonFormat) {
  EXPECT_TRUE(followed("detectable_format:json_format", "{}", "```json\n{\"a\": [1, 2]}\n```"));
  EXPECT_TRUE(followed("detectable_format:json_format", "{}", "  {\"a\": 1}  "));
  EXPECT_FALSE(followed("detectable_format:json_format", "{}", "Here it is: {\"a\": 1}"));
}

TEST(IfevalFormat, Title) {
  EXPECT_TRUE(followed("detectable_format:title", "{}", "<<Poem of Joy>>\nRoses..."));
  EXPECT_TRUE(followed("detectable_format:title", "{}", "Intro <<>> then <<Real>>"));  // greedy span
  EXPECT_FALSE(followed("detectable_format:title", "{}", "<<  >>\n<<split\ntitle>>\n<<>>"));
}

TEST(IfevalCombination, TwoResponses) {
  EXPECT_TRUE(followed("combination:two_responses", "{}", "Answer A\n******\nAnswer B"));
  EXPECT_FALSE(followed("combination:two_responses", "{}", "Same\n******\nSame"));
  EXPECT_FALSE(followed("combination:two_responses", "{}", "A\n******\n\n******\nB"));
}

TEST(IfevalCombination, RepeatPrompt) {
  const std::string_view kwargs = R"({"prompt_to_repeat": "Write a poem about cats."})";
  EXPECT_TRUE(followed("combination:repeat_prompt", kwargs, "  write a POEM about cats. Cats are..."));
  EXPECT_FALSE(followed("combination:repeat_prompt", kwargs, "Here: Write a poem about cats."));
}

TEST(IfevalStartEnd, EndChecker) {
  const std::string_view kwargs = R"({"end_phrase": "Is there anything else I can help with?"})";
  EXPECT_TRUE(
      followed("startend:end_checker", kwargs, "\"Done. is there anything else I can help with?\"\n"));
  EXPECT_FALSE(followed("startend:end_checker", kwargs, "Is there anything else I can help with? Bye."));
}

TEST(IfevalStartEnd, Quotation) {
  EXPECT_TRUE(followed("startend:quotation", "{}", "  \"All quoted.\"\n"));
  EXPECT_FALSE(followed("startend:quotation", "{}", "\""));
  EXPECT_FALSE(followed("startend:quotation", "{}", "\"Half quoted."));
}

TEST(IfevalChangeCase, CapitalWordFrequency) {
  // Capital words: NASA, USA, I  -> 3 ("Mixed" is not all-caps).
  const std::string text = "NASA and the USA, Mixed words, I think.";
  EXPECT_TRUE(followed("change_case:capital_word_frequency",
                       R"({"capital_frequency": 3, "capital_relation": "at least"})", text));
  EXPECT_FALSE(followed("change_case:capital_word_frequency",
                        R"({"capital_frequency": 3, "capital_relation": "less than"})", text));
}

TEST(IfevalChangeCase, EnglishCapitalAndLowercase) {
  EXPECT_TRUE(followed("change_case:english_capital", "{}", "THIS IS ALL CAPS, 100%."));
  EXPECT_FALSE(followed("change_case:english_capital", "{}", "THIS IS Not ALL CAPS."));
  EXPECT_FALSE(followed("change_case:english_capital", "{}", "ПРИВЕТ МИР AB")); // not English
  EXPECT_TRUE(followed("change_case:english_lowercase", "{}", "all lower case here."));
  EXPECT_FALSE(followed("change_case:english_lowercase", "{}", "almost all lower case, I think."));
}

TEST(IfevalPunctuation, NoComma) {
  EXPECT_TRUE(followed("punctuation:no_comma", "{}", "No commas here. None at all."));
  EXPECT_FALSE(followed("punctuation:no_comma", "{}", "Well, here is one."));
}

TEST(IfevalInstructions, MalformedKwargsAndUnknownIdsAreErrors) {
  EXPECT_NE(error_of("keywords:teleport", "{}").message().find("keywords:teleport"), std::string::npos);
  const Status missing =
      error_of("length_constraints:number_words", R"({"num_words": null, "relation": "at least"})");
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("num_words"), std::string::npos) << missing.message();
  EXPECT_NE(error_of("length_constraints:number_words", R"({"num_words": "300", "relation": "at least"})")
                .message()
                .find("num_words"),
            std::string::npos);
  EXPECT_NE(error_of("length_constraints:number_words", R"({"num_words": 3, "relation": "at most"})")
                .message()
                .find("at most"),
            std::string::npos);
  EXPECT_EQ(
      error_of("length_constraints:number_words", R"({"num_words": -1, "relation": "at least"})").code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      error_of("length_constraints:number_words", R"({"num_words": 2.5, "relation": "at least"})").code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(error_of("keywords:existence", R"({"keywords": "apple"})").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error_of("keywords:existence", "[1]").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(supported_instruction_ids().size(), 25U);
}

TEST(IfevalInstructions, AdversarialInputsStayFast) {
  // Quadratic scans would take minutes here; every checker must stay roughly linear.
  const std::string many_opens(200000, '<');
  const std::string many_stars(200000, '*');
  const std::string many_dots(200000, '.');
  for (const std::string& text : {many_opens, many_stars, many_dots}) {
    for (std::string_view id : {"detectable_format:title", "detectable_format:number_highlighted_sections",
                                "length_constraints:number_sentences", "detectable_content:postscript"}) {
      (void)check_instruction(id,
                              json::parse(R"({"num_highlights": 1, "num_sentences": 1, "relation": "at least",
                                              "postscript_marker": "P.P.S"})"),
                              text);
    }
  }
  EXPECT_FALSE(followed("detectable_format:title", "{}", many_opens));
}

TEST(IfevalInstructions, NullKwargsAndUnusedKeysAreFine) {
  EXPECT_TRUE(followed("punctuation:no_comma", "null", "ok"));
  EXPECT_TRUE(
      followed("keywords:existence", R"({"keywords": ["ok"], "num_words": null, "language": null})", "ok"));
}

class IfevalVerifierTest : public ::testing::Test {
 protected:
  IfevalVerifier verifier_;
};

TEST_F(IfevalVerifierTest, AllFollowedIsOk) {
  const Verdict v = verifier_.verify(
      "hello there friend",
      R"({"key": 1, "prompt": "p", "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"],
          "kwargs": [{}, {"num_words": 3, "relation": "at least", "keywords": null}]})");
  EXPECT_EQ(v.status, VerdictStatus::kOk) << v.detail;
  EXPECT_EQ(v.score, 1.0);
  EXPECT_EQ(v.detail, "");
}

TEST_F(IfevalVerifierTest, PartialCreditNamesFailedInstructions) {
  const Verdict v =
      verifier_.verify("Hello, there",
                       R"({"instruction_id_list": ["punctuation:no_comma", "change_case:english_lowercase",
                                  "keywords:existence", "startend:quotation"],
          "kwargs": [{}, {}, {"keywords": ["hello"]}, {}]})");
  EXPECT_EQ(v.status, VerdictStatus::kWrong);
  EXPECT_DOUBLE_EQ(v.score, 0.25);
  EXPECT_EQ(v.detail,
            "not followed: punctuation:no_comma, change_case:english_lowercase, startend:quotation");
}

TEST_F(IfevalVerifierTest, AcceptsInstructionIdKeyStringEncodingAndMissingKwargs) {
  EXPECT_EQ(verifier_.verify("x", R"({"instruction_id": ["punctuation:no_comma"], "kwargs": [null]})").status,
            VerdictStatus::kOk);
  EXPECT_EQ(verifier_.verify("x", R"("{\"instruction_id_list\": [\"punctuation:no_comma\"]}")").status,
            VerdictStatus::kOk);
}

TEST_F(IfevalVerifierTest, MalformedGroundTruthIsError) {
  for (std::string_view truth : {
           "not json",
           "[1, 2]",
           R"({"kwargs": []})",
           R"({"instruction_id_list": []})",
           R"({"instruction_id_list": "punctuation:no_comma"})",
           R"({"instruction_id_list": [3]})",
           R"({"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}, {}]})",
           R"({"instruction_id_list": ["punctuation:no_comma"], "kwargs": {}})",
       }) {
    const Verdict v = verifier_.verify("x", truth);
    EXPECT_EQ(v.status, VerdictStatus::kError) << truth;
    EXPECT_EQ(v.score, 0.0) << truth;
  }
  const Verdict unknown = verifier_.verify(
      "x", R"({"instruction_id_list": ["punctuation:no_comma", "made:up"], "kwargs": [{}, {}]})");
  EXPECT_EQ(unknown.status, VerdictStatus::kError);
  EXPECT_NE(unknown.detail.find("made:up"), std::string::npos) << unknown.detail;
  const Verdict bad_kwargs = verifier_.verify(
      "x",
      R"({"instruction_id_list": ["keywords:frequency"], "kwargs": [{"keyword": "x", "frequency": 1}]})");
  EXPECT_EQ(bad_kwargs.status, VerdictStatus::kError);
  EXPECT_NE(bad_kwargs.detail.find("keywords:frequency"), std::string::npos) << bad_kwargs.detail;
  EXPECT_NE(bad_kwargs.detail.find("relation"), std::string::npos) << bad_kwargs.detail;
}

TEST(IfevalRegistry, RegisteredAsIfeval) {
  const VerifierRegistry registry = make_default_registry();
  const Result<const Verifier*> found = registry.find("ifeval");
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ((*found)->verify("no commas", R"({"instruction_id_list": ["punctuation:no_comma"]})").status,
            VerdictStatus::kOk);
}

} // namespace
} // namespace caravan::rewards::ifeval
