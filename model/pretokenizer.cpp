#include "model/pretokenizer.h"

#include <unordered_map>
#include <utility>

#include "core/utf8.h"

namespace caravan::model {
namespace {

void append_utf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

std::array<std::string, 256> build_byte_level_table() {
  std::array<std::string, 256> table;
  uint32_t next_extra = 256;
  for (uint32_t byte = 0; byte < 256; ++byte) {
    const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE);
    append_utf8(table[byte], printable ? byte : next_extra++);
  }
  return table;
}

// Two-byte UTF-8 sequences (all table entries are 1 or 2 bytes) -> byte.
std::unordered_map<std::string, unsigned char> build_inverse_table() {
  std::unordered_map<std::string, unsigned char> inverse;
  const auto& table = byte_level_table();
  for (int byte = 0; byte < 256; ++byte) inverse.emplace(table[byte], static_cast<unsigned char>(byte));
  return inverse;
}

} // namespace

Result<RegexSplitter> RegexSplitter::compile(std::string_view pattern, Syntax syntax) {
  CARAVAN_ASSIGN_OR_RETURN(core::Regex regex, core::Regex::compile(pattern, syntax));
  return RegexSplitter(std::move(regex));
}

std::vector<std::string_view> RegexSplitter::split(std::string_view text) const {
  Result<std::vector<core::Regex::Span>> matches = regex_.find_all(text);
  // The split patterns are linear (no nested quantifiers), so a limit here is a bug.
  CARAVAN_CHECK(matches.ok(), matches.status().message());
  std::vector<std::string_view> pieces;
  pieces.reserve(2 * matches->size() + 1);  // each match, the gap before it, the tail
  size_t gap_start = 0;  // start of the text not yet emitted
  for (const core::Regex::Span& match : *matches) {
    if (match.begin > gap_start) pieces.push_back(text.substr(gap_start, match.begin - gap_start));
    pieces.push_back(text.substr(match.begin, match.end - match.begin));
    gap_start = match.end;
  }
  if (gap_start < text.size()) pieces.push_back(text.substr(gap_start));
  return pieces;
}

const std::array<std::string, 256>& byte_level_table() {
  static const std::array<std::string, 256> table = build_byte_level_table();
  return table;
}

std::string byte_level_encode(std::string_view bytes) {
  const auto& table = byte_level_table();
  std::string symbols;
  symbols.reserve(bytes.size() * 2);
  for (char c : bytes) symbols += table[static_cast<unsigned char>(c)];
  return symbols;
}

std::optional<std::string> byte_level_decode(std::string_view symbols) {
  static const std::unordered_map<std::string, unsigned char> inverse = build_inverse_table();
  std::string bytes;
  bytes.reserve(symbols.size());
  size_t position = 0;
  while (position < symbols.size()) {
    const size_t length = core::utf8_sequence_length(static_cast<unsigned char>(symbols[position]));
    if (position + length > symbols.size()) return std::nullopt;
    auto it = inverse.find(std::string(symbols.substr(position, length)));
    if (it == inverse.end()) return std::nullopt;
    bytes.push_back(static_cast<char>(it->second));
    position += length;
  }
  return bytes;
}

} // namespace caravan::model
