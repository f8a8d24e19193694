#include "model/byte_tokenizer.h"

namespace caravan::model {

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

Result<std::string> ByteTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (size_t position = 0; position < ids.size(); ++position) {
    const int32_t id = ids[position];
    if (id < 0 || id >= kVocabSize) {
      return Status::invalid_argument(str_cat("ByteTokenizer::decode: id ", id, " at position ", position,
                                              " is outside [0, ", kVocabSize, ")"));
    }
    if (id < 256) text.push_back(static_cast<char>(static_cast<unsigned char>(id)));
  }
  return text;
}

} // namespace caravan::model
