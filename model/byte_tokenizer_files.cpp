#include "model/byte_tokenizer_files.h"

#include "core/atomic_file.h"
#include "model/byte_tokenizer.h"
#include "model/pretokenizer.h"
#include "model/tokenizer_config.h"

namespace caravan::model {
namespace {

using nlohmann::json;

constexpr const char* kBos = "<|bos|>";
constexpr const char* kEos = "<|eos|>";
constexpr const char* kPad = "<|pad|>";

json added_token(int32_t id, const char* content) {
  return {{"id", id},           {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},    {"normalized", false}, {"special", true}};
}

} // namespace

json byte_tokenizer_json() {
  json vocab = json::object();
  const auto& symbols = byte_level_table();
  for (int byte = 0; byte < 256; ++byte) vocab[symbols[static_cast<size_t>(byte)]] = byte;
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  return json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", json::array({added_token(ByteTokenizer::kBosId, kBos), added_token(ByteTokenizer::kEosId, kEos),
                                    added_token(ByteTokenizer::kPadId, kPad)})},
      {"normalizer", nullptr},
      {"pre_tokenizer", byte_level},
      {"post_processor", nullptr},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
        {"merges", json::array()}}},
  };
}

Status write_byte_tokenizer_files(const std::filesystem::path& dir) {
  const json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                       {"bos_token", kBos},
                       {"eos_token", kEos},
                       {"pad_token", kPad},
                       {"add_bos_token", true},
                       {"model_max_length", 1000000000}};
  CARAVAN_RETURN_IF_ERROR(core::write_file_atomically(dir / kTokenizerFile, byte_tokenizer_json().dump(2)));
  return core::write_file_atomically(dir / kTokenizerConfigFile, config.dump(2));
}

} // namespace caravan::model
