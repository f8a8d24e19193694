// File: tests/common/bpe_fixture.h
// A GPT-2-style tokenizer.json (ByteLevel pre-tokenizer with the GPT-2 regex, ByteLevel
// decoder, BPE model) for tests: the 256 byte symbols are ids 0..255 (id == byte value),
// followed by the test's own merged tokens, merges and added tokens.
//
//   json added = json::array({{{"id", 300}, {"content", "<|endoftext|>"}, {"special", true}}});
//   json file = byte_level_bpe_json({{"he", 256}}, json::array({"h e"}), added);
#pragma once

#include <nlohmann/json.hpp>

#include "model/pretokenizer.h"

namespace caravan::testing {

inline nlohmann::json byte_level_bpe_json(const nlohmann::json& merged_tokens, const nlohmann::json& merges,
                                          const nlohmann::json& added_tokens) {
  using nlohmann::json;
  json vocab = json::object();
  const auto& table = model::byte_level_table();
  for (int byte = 0; byte < 256; ++byte) vocab[table[byte]] = byte;
  for (const auto& [token, id] : merged_tokens.items()) vocab[token] = id;
  return json{
      {"version", "1.0"},
      {"added_tokens", added_tokens},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
        {"merges", merges}}},
  };
}

} // namespace caravan::testing
