#include "model/bpe_tokenizer.h"

#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/normalizer.h"
#include "model/pretokenizer.h"
#include "tests/common/bpe_fixture.h"
#include "tests/common/temp_dir.h"

namespace caravan::model {
namespace {

using nlohmann::json;

// Ids of the hand-written fixture: bytes are ids 0..255 (id == byte value), then merges.
constexpr int32_t kIdGt = 256;   // "Ġt"
constexpr int32_t kIdHe = 257;   // "he"
constexpr int32_t kIdGthe = 258; // "Ġthe"
constexpr int32_t kIdAb = 259;   // "ab"
constexpr int32_t kIdBc = 260;   // "bc"
constexpr int32_t kIdEndOfText = 300;
constexpr int32_t kIdImEnd = 301;
constexpr int32_t kIdImStart = 302;
constexpr int32_t kIdIm = 303;  // "<|im", a non-special added token (prefix of the two above)

// A GPT-2-style tokenizer.json: ByteLevel pre-tokenizer with the GPT-2 regex.
// `ab_first`: whether "a b" has a lower rank than "b c". `array_merges`: [a, b] merge form.
json make_fixture(bool ab_first = false, bool array_merges = false) {
  const json merged_tokens = {{"Ġt", kIdGt}, {"he", kIdHe}, {"Ġthe", kIdGthe}, {"ab", kIdAb}, {"bc", kIdBc}};
  std::vector<std::pair<std::string, std::string>> pairs = {{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}};
  if (ab_first) {
    pairs.emplace_back("a", "b");
    pairs.emplace_back("b", "c");
  } else {
    pairs.emplace_back("b", "c");
    pairs.emplace_back("a", "b");
  }
  json merges = json::array();
  for (const auto& [left, right] : pairs) {
    if (array_merges) {
      merges.push_back(json::array({left, right}));
    } else {
      merges.push_back(left + " " + right);
    }
  }
  json added = json::array();
  added.push_back({{"id", kIdEndOfText}, {"content", "<|endoftext|>"}, {"special", true}});
  added.push_back({{"id", kIdImEnd}, {"content", "<|im_end|>"}, {"special", true}});
  added.push_back({{"id", kIdImStart}, {"content", "<|im_start|>"}, {"special", true}});
  added.push_back({{"id", kIdIm}, {"content", "<|im"}, {"special", false}});
  return testing::byte_level_bpe_json(merged_tokens, merges, added);
}

// A Llama-3-style pre-tokenizer: Sequence[Split(regex, Isolated), ByteLevel(use_regex=false)].
json make_llama3_fixture() {
  json fixture = make_fixture();
  fixture["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({{{"type", "Split"},
                     {"pattern", {{"Regex", std::string(kLlama3SplitPattern)}}},
                     {"behavior", "Isolated"},
                     {"invert", false}},
                    {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}})}};
  return fixture;
}

class BpeTokenizerTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const json& fixture, const std::string& name = "tokenizer.json") {
    const std::filesystem::path path = dir_.path() / name;
    std::ofstream(path) << fixture.dump(2);
    return path;
  }
  std::shared_ptr<const BpeTokenizer> load(const json& fixture, const BpeSpecialTokens& special = {}) {
    Result<std::shared_ptr<const BpeTokenizer>> tokenizer = BpeTokenizer::load(write(fixture), special);
    EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
    return tokenizer.ok() ? *tokenizer : nullptr;
  }
  // The error message of loading `fixture`, which must fail with kInvalidArgument.
  std::string load_error(const json& fixture) {
    Result<std::shared_ptr<const BpeTokenizer>> tokenizer = BpeTokenizer::load(write(fixture));
    EXPECT_FALSE(tokenizer.ok());
    if (tokenizer.ok()) return "";
    EXPECT_EQ(tokenizer.status().code(), StatusCode::kInvalidArgument) << tokenizer.status().to_string();
    EXPECT_NE(tokenizer.status().message().find("tokenizer.json"), std::string::npos) << tokenizer.status().message();
    return tokenizer.status().message();
  }
  static std::string round_trip(const BpeTokenizer& tokenizer, const std::string& text) {
    Result<std::string> decoded = tokenizer.decode(tokenizer.encode(text));
    EXPECT_TRUE(decoded.ok()) << decoded.status().to_string();
    return decoded.ok() ? *decoded : "<error>";
  }

  testing::TempDir dir_;
};

using Ids = std::vector<int32_t>;

TEST(ByteLevelTable, MatchesGpt2) {
  const auto& table = byte_level_table();
  EXPECT_EQ(table[' '], "Ġ");
  EXPECT_EQ(table['\n'], "Ċ");
  EXPECT_EQ(table['a'], "a");
  EXPECT_EQ(table[0], "Ā");
  EXPECT_EQ(table[0xAD], "Ń");  // the soft hyphen is not printable: last of the remapped block
  EXPECT_EQ(table[0xFF], "ÿ");
  std::string all;
  for (int byte = 0; byte < 256; ++byte) all.push_back(static_cast<char>(byte));
  EXPECT_EQ(byte_level_decode(byte_level_encode(all)), all);
  EXPECT_EQ(byte_level_decode("a€"), std::nullopt);  // '€' is not in the table
}

TEST(RegexSplitter, Gpt2WhitespaceRunsLeaveLastSpaceToNextWord) {
  Result<RegexSplitter> splitter = RegexSplitter::compile(kGpt2SplitPattern);
  ASSERT_TRUE(splitter.ok()) << splitter.status().to_string();
  using Pieces = std::vector<std::string_view>;
  // `\s+(?!\S)` takes the run minus its last space, which joins the word (" world").
  EXPECT_EQ(splitter->split("Hello   world"), (Pieces{"Hello", "  ", " world"}));
  EXPECT_EQ(splitter->split("a  "), (Pieces{"a", "  "}));  // trailing run stays whole
  EXPECT_EQ(splitter->split("x\n\n y"), (Pieces{"x", "\n\n", " y"}));
  EXPECT_EQ(splitter->split("it's 42!?"), (Pieces{"it", "'s", " 42", "!?"}));
  EXPECT_EQ(splitter->split("héllo мир"), (Pieces{"héllo", " мир"}));
  EXPECT_TRUE(splitter->split("").empty());
}

TEST(RegexSplitter, Llama3Pattern) {
  Result<RegexSplitter> splitter = RegexSplitter::compile(kLlama3SplitPattern);
  ASSERT_TRUE(splitter.ok()) << splitter.status().to_string();
  using Pieces = std::vector<std::string_view>;
  EXPECT_EQ(splitter->split("Hello world 12345\n\n  x"),
            (Pieces{"Hello", " world", " ", "123", "45", "\n\n", " ", " x"}));
  EXPECT_EQ(splitter->split("I'M here"), (Pieces{"I", "'M", " here"}));  // case-insensitive contractions
  EXPECT_EQ(splitter->split("(foo)"), (Pieces{"(foo", ")"}));
}

TEST(RegexSplitter, LiteralPatternSplitsOnTheTextItself) {
  // HF "String" split patterns: metacharacters are plain text.
  Result<RegexSplitter> splitter = RegexSplitter::compile("|.", RegexSplitter::Syntax::kLiteral);
  ASSERT_TRUE(splitter.ok()) << splitter.status().to_string();
  using Pieces = std::vector<std::string_view>;
  EXPECT_EQ(splitter->split("a|.b|c"), (Pieces{"a", "|.", "b|c"}));
}

TEST(RegexSplitter, InvalidUtf8LandsInGapPieces) {
  Result<RegexSplitter> splitter = RegexSplitter::compile(kGpt2SplitPattern);
  ASSERT_TRUE(splitter.ok());
  const std::string text = "ab\xff\xfe cd\x80";
  std::string joined;
  for (std::string_view piece : splitter->split(text)) joined += piece;
  EXPECT_EQ(joined, text);
}

TEST(RegexSplitter, BadPatternNamesOffset) {
  Result<RegexSplitter> splitter = RegexSplitter::compile("a(b");
  ASSERT_FALSE(splitter.ok());
  EXPECT_EQ(splitter.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(splitter.status().message().find("offset"), std::string::npos) << splitter.status().message();
}

TEST_F(BpeTokenizerTest, MergesAppliedInRankOrder) {
  auto bc_first = load(make_fixture(/*ab_first=*/false));
  auto ab_first = load(make_fixture(/*ab_first=*/true));
  ASSERT_TRUE(bc_first && ab_first);
  EXPECT_EQ(bc_first->encode("abc"), (Ids{'a', kIdBc}));
  EXPECT_EQ(ab_first->encode("abc"), (Ids{kIdAb, 'c'}));
  // Chained merges: "Ġ t" (rank 0), "h e" (rank 1), then "Ġt he" (rank 2).
  EXPECT_EQ(bc_first->encode(" the"), (Ids{kIdGthe}));
  EXPECT_EQ(bc_first->encode("the"), (Ids{'t', kIdHe}));
  EXPECT_EQ(bc_first->encode("the the"), (Ids{'t', kIdHe, kIdGthe}));
  EXPECT_EQ(bc_first->encode("abcabc"), (Ids{'a', kIdBc, 'a', kIdBc}));
  EXPECT_TRUE(bc_first->encode("").empty());
}

TEST_F(BpeTokenizerTest, BothMergeFormatsAgree) {
  auto strings = load(make_fixture(/*ab_first=*/false, /*array_merges=*/false));
  auto arrays = load(make_fixture(/*ab_first=*/false, /*array_merges=*/true));
  ASSERT_TRUE(strings && arrays);
  for (const std::string text : {"the abc the", "abcab", " then"}) {
    EXPECT_EQ(strings->encode(text), arrays->encode(text)) << text;
  }
  EXPECT_EQ(arrays->encode(" the"), (Ids{kIdGthe}));
}

TEST_F(BpeTokenizerTest, RoundTripsArbitraryUtf8AndInvalidBytes) {
  auto tokenizer = load(make_fixture());
  ASSERT_TRUE(tokenizer);
  const std::vector<std::string> texts = {
      "مرحبا بالعالم",               // Arabic
      "你好，世界。日本語のテキスト",  // CJK
      "emoji 🎉👩‍👩‍👧 ok",           // emoji with ZWJ sequences
      "tabs\t\tand\r\nnewlines\n\n  ",
      "\xff\xfe\xc3(\x80 invalid \xe2\x82",  // invalid UTF-8
      std::string("nul\0byte", 8),
  };
  for (const std::string& text : texts) EXPECT_EQ(round_trip(*tokenizer, text), text);
  // 'é' is two bytes with no merge: two byte-level ids.
  EXPECT_EQ(tokenizer->encode("é"), (Ids{0xC3, 0xA9}));
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int trial = 0; trial < 20; ++trial) {
    std::string random(200, '\0');
    for (char& c : random) c = static_cast<char>(byte(rng));
    EXPECT_EQ(round_trip(*tokenizer, random), random) << "trial " << trial;
  }
}

TEST_F(BpeTokenizerTest, WhitespaceRunsFollowTheRegex) {
  auto tokenizer = load(make_fixture());
  ASSERT_TRUE(tokenizer);
  // "a", "  " (two spaces: no merge), " the" (one merged token): the last space joins the word.
  EXPECT_EQ(tokenizer->encode("a   the"), (Ids{'a', ' ', ' ', kIdGthe}));
  EXPECT_EQ(tokenizer->encode("a\n the"), (Ids{'a', '\n', kIdGthe}));
}

TEST_F(BpeTokenizerTest, SpecialTokensKeptWholeLongestMatch) {
  auto tokenizer = load(make_fixture());
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->encode("<|im_start|>the<|im_end|>"), (Ids{kIdImStart, 't', kIdHe, kIdImEnd}));
  EXPECT_EQ(tokenizer->encode("ab<|endoftext|>c"), (Ids{kIdAb, kIdEndOfText, 'c'}));
  EXPECT_EQ(tokenizer->encode("<|im"), (Ids{kIdIm}));  // the shorter added token when the longer is absent
  EXPECT_EQ(tokenizer->encode("<|im_"), (Ids{kIdIm, '_'}));
  // An added token inside a whitespace run: the run is split around it, never the token.
  EXPECT_EQ(tokenizer->encode(" <|endoftext|> the"), (Ids{' ', kIdEndOfText, kIdGthe}));
  // decode skips special tokens and keeps non-special added ones.
  Result<std::string> decoded = tokenizer->decode(Ids{kIdImStart, 't', kIdHe, kIdIm, kIdImEnd, kIdEndOfText});
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, "the<|im");
}

TEST_F(BpeTokenizerTest, SpecialIdsIdentifiedOrNamed) {
  auto tokenizer = load(make_fixture());
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->eos_id(), kIdImEnd);
  EXPECT_EQ(tokenizer->bos_id(), kIdEndOfText);
  EXPECT_EQ(tokenizer->pad_id(), kIdEndOfText);
  EXPECT_EQ(tokenizer->vocab_size(), kIdIm + 1);
  EXPECT_EQ(tokenizer->token_to_id("Ġthe"), kIdGthe);
  EXPECT_EQ(tokenizer->token_to_id("<|im_end|>"), kIdImEnd);
  EXPECT_EQ(tokenizer->token_to_id("nope"), std::nullopt);
  auto named = load(make_fixture(), BpeSpecialTokens{.bos = "<|im_start|>", .eos = "<|endoftext|>", .pad = "<|im"});
  ASSERT_TRUE(named);
  EXPECT_EQ(named->bos_id(), kIdImStart);
  EXPECT_EQ(named->eos_id(), kIdEndOfText);
  EXPECT_EQ(named->pad_id(), kIdIm);
  Result<std::shared_ptr<const BpeTokenizer>> missing =
      BpeTokenizer::load(write(make_fixture()), BpeSpecialTokens{.bos = "", .eos = "<|nope|>", .pad = ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("<|nope|>"), std::string::npos);
}

TEST_F(BpeTokenizerTest, DecodeRejectsUnknownIds) {
  auto tokenizer = load(make_fixture());
  ASSERT_TRUE(tokenizer);
  Result<std::string> out_of_range = tokenizer->decode(Ids{'a', 9999});
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out_of_range.status().message().find("9999"), std::string::npos);
  EXPECT_NE(out_of_range.status().message().find("position 1"), std::string::npos);
  Result<std::string> hole = tokenizer->decode(Ids{280});  // between the merges and the added tokens
  ASSERT_FALSE(hole.ok());
  EXPECT_NE(hole.status().message().find("280"), std::string::npos);
  EXPECT_FALSE(tokenizer->decode(Ids{-1}).ok());
}

TEST_F(BpeTokenizerTest, Llama3SequencePreTokenizerAndIgnoreMerges) {
  json fixture = make_llama3_fixture();
  auto tokenizer = load(fixture);
  ASSERT_TRUE(tokenizer);
  // Digits in groups of three (Llama 3), each group byte-level encoded.
  EXPECT_EQ(tokenizer->encode("12345"), (Ids{'1', '2', '3', '4', '5'}));
  EXPECT_EQ(tokenizer->encode("a   the"), (Ids{'a', ' ', ' ', kIdGthe}));
  EXPECT_EQ(round_trip(*tokenizer, "Hello 12345\n\n  x 你好 🎉\xff"), "Hello 12345\n\n  x 你好 🎉\xff");
  // ignore_merges: a whole word in the vocab wins over the merges ("abc" would merge to a, bc).
  fixture["model"]["vocab"]["abc"] = 261;
  fixture["model"]["ignore_merges"] = true;
  auto ignoring = load(fixture);
  ASSERT_TRUE(ignoring);
  EXPECT_EQ(ignoring->encode("abc"), (Ids{261}));
  EXPECT_EQ(ignoring->encode("abca"), (Ids{'a', kIdBc, 'a'}));  // not in the vocab: merged
}

TEST_F(BpeTokenizerTest, AddPrefixSpace) {
  json fixture = make_fixture();
  fixture["pre_tokenizer"]["add_prefix_space"] = true;
  auto tokenizer = load(fixture);
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->encode("the"), (Ids{kIdGthe}));
  EXPECT_EQ(tokenizer->encode(" the"), (Ids{kIdGthe}));
  // Each segment between added tokens gets its own prefix space.
  EXPECT_EQ(tokenizer->encode("the<|endoftext|>the"), (Ids{kIdGthe, kIdEndOfText, kIdGthe}));
}

TEST_F(BpeTokenizerTest, LongWordsAreEncodedWithoutCaching) {
  auto tokenizer = load(make_fixture());
  ASSERT_TRUE(tokenizer);
  std::string word;
  for (int i = 0; i < 1000; ++i) word += "abc";
  const Ids ids = tokenizer->encode(word);
  ASSERT_EQ(ids.size(), 2000u);
  EXPECT_EQ(ids[0], 'a');
  EXPECT_EQ(ids[1], kIdBc);
  EXPECT_EQ(tokenizer->encode(word), ids);
  EXPECT_EQ(round_trip(*tokenizer, std::string(5000, ' ') + "the"), std::string(5000, ' ') + "the");
}

TEST_F(BpeTokenizerTest, ConcurrentEncodesAgree) {
  auto tokenizer = load(make_fixture());
  ASSERT_TRUE(tokenizer);
  const std::string text = "the abc the <|im_end|> 你好 the abcabc";
  const Ids expected = tokenizer->encode(text);
  std::vector<Ids> results(4);
  {
    std::vector<std::jthread> threads;
    for (size_t t = 0; t < results.size(); ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200; ++i) results[t] = tokenizer->encode(text + std::to_string(i % 7));
      });
    }
  }
  for (const Ids& ids : results) EXPECT_FALSE(ids.empty());
  EXPECT_EQ(tokenizer->encode(text), expected);
}

TEST_F(BpeTokenizerTest, MalformedFilesNameTheField) {
  {
    json fixture = make_fixture();
    fixture["model"]["merges"][1] = "h zz";
    const std::string message = load_error(fixture);
    EXPECT_NE(message.find("model.merges[1]"), std::string::npos) << message;
    EXPECT_NE(message.find("zz"), std::string::npos) << message;
  }
  {
    json fixture = make_fixture();
    fixture["model"]["merges"][0] = "Ġtoo many";
    EXPECT_NE(load_error(fixture).find("model.merges[0]"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture["model"]["merges"][2] = json::array({"a"});
    EXPECT_NE(load_error(fixture).find("model.merges[2]"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture["model"]["vocab"]["he"] = "257";
    EXPECT_NE(load_error(fixture).find("model.vocab[\"he\"]"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture["model"]["vocab"].erase("Ġ");
    EXPECT_NE(load_error(fixture).find("model.vocab"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture["model"]["type"] = "WordPiece";
    const std::string message = load_error(fixture);
    EXPECT_NE(message.find("model.type"), std::string::npos) << message;
    EXPECT_NE(message.find("WordPiece"), std::string::npos) << message;
  }
  {
    json fixture = make_fixture();
    fixture["model"]["dropout"] = 0.1;
    EXPECT_NE(load_error(fixture).find("model.dropout"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture["pre_tokenizer"]["type"] = "Whitespace";
    EXPECT_NE(load_error(fixture).find("pre_tokenizer.type"), std::string::npos);
  }
  {
    json fixture = make_llama3_fixture();
    fixture["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed";
    EXPECT_NE(load_error(fixture).find("pre_tokenizer.pretokenizers[0].behavior"), std::string::npos);
  }
  {
    json fixture = make_llama3_fixture();
    fixture["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
    EXPECT_NE(load_error(fixture).find("pre_tokenizer.pretokenizers[0].pattern"), std::string::npos);
  }
  {
    json fixture = make_llama3_fixture();
    fixture["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true;
    EXPECT_NE(load_error(fixture).find("pre_tokenizer.pretokenizers[1].add_prefix_space"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture["added_tokens"][1]["id"] = -5;
    EXPECT_NE(load_error(fixture).find("added_tokens[1].id"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture["decoder"]["type"] = "WordPiece";
    EXPECT_NE(load_error(fixture).find("decoder.type"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture["added_tokens"] = json::array();
    EXPECT_NE(load_error(fixture).find("eos"), std::string::npos);
  }
  {
    json fixture = make_fixture();
    fixture.erase("model");
    EXPECT_NE(load_error(fixture).find("model"), std::string::npos);
  }
}

TEST_F(BpeTokenizerTest, UnreadableOrInvalidJson) {
  Result<std::shared_ptr<const BpeTokenizer>> missing = BpeTokenizer::load(dir_.path() / "absent.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  const std::filesystem::path broken = dir_.path() / "broken.json";
  std::ofstream(broken) << "{\"model\": ";
  Result<std::shared_ptr<const BpeTokenizer>> invalid = BpeTokenizer::load(broken);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(invalid.status().message().find("broken.json"), std::string::npos);
}

TEST(Normalizer, UnicodeForms) {
  const std::string decomposed = "Cafe\u0301 A\u030a";  // e + COMBINING ACUTE, A + COMBINING RING
  const std::string composed = "Caf\u00e9 \u00c5";
  EXPECT_EQ(normalize_unicode(decomposed, Normalizer::Form::kNfc), composed);
  EXPECT_EQ(normalize_unicode(composed, Normalizer::Form::kNfd), decomposed);
  EXPECT_EQ(normalize_unicode("\u212b", Normalizer::Form::kNfc), "\u00c5");  // ANGSTROM SIGN is a singleton
  EXPECT_EQ(normalize_unicode("\ufb01 \u2460", Normalizer::Form::kNfc), "\ufb01 \u2460");  // compatibility kept
  EXPECT_EQ(normalize_unicode("\ufb01 \u2460", Normalizer::Form::kNfkc), "fi 1");
  EXPECT_EQ(normalize_unicode("\ufb01", Normalizer::Form::kNfkd), "fi");
  EXPECT_EQ(normalize_unicode("plain ascii", Normalizer::Form::kNfd), "plain ascii");
  // Hangul syllables decompose into jamo and recompose.
  EXPECT_EQ(normalize_unicode(normalize_unicode("\ud55c", Normalizer::Form::kNfd), Normalizer::Form::kNfc), "\ud55c");
}

TEST(Normalizer, InvalidUtf8BytesAreKept) {
  const std::string text = "e\u0301\xff" "e\u0301\xc3";  // a stray byte and a truncated sequence
  EXPECT_EQ(normalize_unicode(text, Normalizer::Form::kNfc), "\u00e9\xff\u00e9\xc3");
}

// The verbatim-copy fast path must agree with utf8proc on the whole text for every code point of
// the planes that have decompositions (U+0000..U+2FFFF), alone and after starters that begin
// canonical compositions (Latin, Devanagari, Kannada, Sinhala, kana, Arabic, Hangul L and LV).
TEST(Normalizer, FastPathAgreesWithUtf8procEverywhere) {
  auto utf8 = [](uint32_t code_point) {
    std::string out;
    if (code_point < 0x80) {
      out.push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
      out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
    return out;
  };
  const std::vector<std::string> starters = {"", "e", "न", "ಿ", "ෙ", "か", "ا", "ᄀ", "가"};
  for (Normalizer::Form form : {Normalizer::Form::kNfc, Normalizer::Form::kNfd, Normalizer::Form::kNfkc,
                                Normalizer::Form::kNfkd}) {
    for (const std::string& starter : starters) {
      for (uint32_t block = 0; block < 0x30000; block += 0x1000) {
        std::string text;
        for (uint32_t code_point = block; code_point < block + 0x1000; ++code_point) {
          if (code_point >= 0xD800 && code_point <= 0xDFFF) continue;  // surrogates are not UTF-8
          text += starter;
          text += utf8(code_point);
          text += ' ';
        }
        ASSERT_EQ(normalize_unicode(text, form), test_normalize_in_one_piece(text, form))
            << "form " << static_cast<int>(form) << ", starter " << json(starter).dump() << ", block U+" << std::hex
            << block;
      }
    }
  }
}

TEST(Normalizer, ParsesNullSingleAndSequence) {
  Result<Normalizer> none = Normalizer::parse(json(), "t.json: normalizer");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->is_identity());
  EXPECT_EQ(none->apply("e\u0301"), "e\u0301");

  Result<Normalizer> nfc = Normalizer::parse(json{{"type", "NFC"}}, "t.json: normalizer");
  ASSERT_TRUE(nfc.ok()) << nfc.status().to_string();
  EXPECT_EQ(nfc->apply("e\u0301"), "\u00e9");

  const json sequence = {{"type", "Sequence"},
                         {"normalizers", json::array({{{"type", "NFKD"}},
                                                      {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFC"}}})}}})}};
  Result<Normalizer> nested = Normalizer::parse(sequence, "t.json: normalizer");
  ASSERT_TRUE(nested.ok()) << nested.status().to_string();
  EXPECT_EQ(nested->forms(), (std::vector<Normalizer::Form>{Normalizer::Form::kNfkd, Normalizer::Form::kNfc}));
  EXPECT_EQ(nested->apply("\ufb01e\u0301"), "fi\u00e9");
}

TEST(Normalizer, UnsupportedTypesNameThePath) {
  const json lowercase = {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFC"}}, {{"type", "Lowercase"}}})}};
  Result<Normalizer> normalizer = Normalizer::parse(lowercase, "t.json: normalizer");
  ASSERT_FALSE(normalizer.ok());
  EXPECT_EQ(normalizer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(normalizer.status().message().find("t.json: normalizer.normalizers[1].type"), std::string::npos)
      << normalizer.status().message();
  EXPECT_NE(normalizer.status().message().find("'Lowercase'"), std::string::npos) << normalizer.status().message();
  EXPECT_FALSE(Normalizer::parse(json{{"type", "Sequence"}}, "n").ok());
  EXPECT_FALSE(Normalizer::parse(json("NFC"), "n").ok());
}

TEST_F(BpeTokenizerTest, NfcNormalizerAppliedBeforePreTokenization) {
  json fixture = make_fixture();
  fixture["normalizer"] = {{"type", "NFC"}};
  auto tokenizer = load(fixture);
  ASSERT_TRUE(tokenizer);
  const std::string composed = "caf\u00e9 the";
  const std::string decomposed = "cafe\u0301 the";
  EXPECT_EQ(tokenizer->encode(decomposed), tokenizer->encode(composed));
  EXPECT_EQ(round_trip(*tokenizer, decomposed), composed);
  EXPECT_EQ(round_trip(*tokenizer, composed), composed);
  // Special tokens (normalized=false) are cut out of the raw text before normalization.
  EXPECT_EQ(tokenizer->encode("e\u0301<|im_end|>e\u0301"), tokenizer->encode("\u00e9<|im_end|>\u00e9"));

  fixture["normalizer"] = {{"type", "Lowercase"}};
  const std::string message = load_error(fixture);
  EXPECT_NE(message.find("normalizer.type"), std::string::npos) << message;
  EXPECT_NE(message.find("Lowercase"), std::string::npos) << message;
}

TEST_F(BpeTokenizerTest, NormalizedAddedTokensMatchNormalizedText) {
  constexpr int32_t kIdAcute = 310;
  json fixture = make_fixture();
  fixture["normalizer"] = {{"type", "NFC"}};
  // Content given decomposed: like HF, it is normalized (to U+00E9) before matching.
  fixture["added_tokens"].push_back(
      {{"id", kIdAcute}, {"content", "e\u0301"}, {"special", false}, {"normalized", true}});
  auto normalized = load(fixture);
  ASSERT_TRUE(normalized);
  EXPECT_EQ(normalized->encode("a\u00e9b"), (Ids{'a', kIdAcute, 'b'}));
  EXPECT_EQ(normalized->encode("ae\u0301b"), (Ids{'a', kIdAcute, 'b'}));

  // normalized=false: matched on the raw text only, so the decomposed form never reaches BPE.
  fixture["added_tokens"].back()["normalized"] = false;
  auto raw = load(fixture);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->encode("ae\u0301b"), (Ids{'a', kIdAcute, 'b'}));
  EXPECT_NE(raw->encode("a\u00e9b"), (Ids{'a', kIdAcute, 'b'}));
}

TEST_F(BpeTokenizerTest, AddedTokenStripOptionsSwallowWhitespace) {
  constexpr int32_t kIdMask = 311;
  json fixture = make_fixture();
  fixture["added_tokens"].push_back({{"id", kIdMask}, {"content", "<mask>"}, {"special", true}});
  auto plain = load(fixture);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->encode("a <mask> b"), (Ids{'a', ' ', kIdMask, ' ', 'b'}));

  fixture["added_tokens"].back()["lstrip"] = true;
  auto lstrip = load(fixture);
  ASSERT_TRUE(lstrip);
  EXPECT_EQ(lstrip->encode("a \t<mask> b"), (Ids{'a', kIdMask, ' ', 'b'}));
  // Unicode White_Space too (U+3000 IDEOGRAPHIC SPACE), and whitespace right after an earlier match.
  EXPECT_EQ(lstrip->encode("a\u3000<mask>"), (Ids{'a', kIdMask}));
  EXPECT_EQ(lstrip->encode("<|im_end|> <mask>"), (Ids{kIdImEnd, kIdMask}));

  fixture["added_tokens"].back()["lstrip"] = false;
  fixture["added_tokens"].back()["rstrip"] = true;
  auto rstrip = load(fixture);
  ASSERT_TRUE(rstrip);
  EXPECT_EQ(rstrip->encode("a <mask> \n b"), (Ids{'a', ' ', kIdMask, 'b'}));

  fixture["added_tokens"].back()["single_word"] = true;
  const std::string message = load_error(fixture);
  EXPECT_NE(message.find("added_tokens[4].single_word"), std::string::npos) << message;
}

} // namespace
} // namespace caravan::model
