#include "model/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <unordered_map>

namespace caravan::model {
namespace {

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const noexcept { pcre2_match_data_free(data); }
};
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

std::string pcre2_message(int error_code) {
  PCRE2_UCHAR buffer[256];
  const int length = pcre2_get_error_message(error_code, buffer, sizeof(buffer));
  if (length < 0) return str_cat("PCRE2 error ", error_code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(length));
}

// Length of the UTF-8 sequence starting with `lead` (1 for continuation or invalid bytes).
size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

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

struct RegexSplitter::Code {
  struct Deleter {
    void operator()(pcre2_code* code) const noexcept { pcre2_code_free(code); }
  };
  std::unique_ptr<pcre2_code, Deleter> code;
  bool jit = false;
};

Result<RegexSplitter> RegexSplitter::compile(std::string_view pattern, Syntax syntax) {
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
  switch (syntax) {
    case Syntax::kRegex:
      break;
    case Syntax::kLiteral:
      options |= PCRE2_LITERAL;
      break;
  }
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* raw = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                  &error_code, &error_offset, nullptr);
  if (raw == nullptr) {
    return Status::invalid_argument(str_cat("regex '", pattern, "': ", pcre2_message(error_code), " at offset ",
                                            error_offset));
  }
  auto code = std::make_shared<Code>();
  code->code.reset(raw);
  uint32_t has_jit = 0;
  if (pcre2_config(PCRE2_CONFIG_JIT, &has_jit) >= 0 && has_jit != 0) {
    // JIT failure (e.g. no executable memory) is not an error: the interpreter still works.
    code->jit = pcre2_jit_compile(raw, PCRE2_JIT_COMPLETE) == 0;
  }
  return RegexSplitter(std::string(pattern), std::move(code));
}

std::vector<std::string_view> RegexSplitter::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  const pcre2_code* code = code_->code.get();
  MatchDataPtr match(pcre2_match_data_create_from_pattern(code, nullptr));
  CARAVAN_CHECK(match != nullptr, "pcre2_match_data_create_from_pattern: out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap_start = 0;  // start of the text not yet emitted
  size_t search = 0;
  while (search < text.size()) {
    int rc = pcre2_match(code, subject, text.size(), search, 0, match.get(), nullptr);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && code_->jit) {
      // The JIT's fixed machine stack can overflow on huge inputs; the interpreter uses the heap.
      rc = pcre2_match(code, subject, text.size(), search, PCRE2_NO_JIT, match.get(), nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    CARAVAN_CHECK(rc >= 0, "pcre2_match('", pattern_, "'): ", pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end == begin) {
      // An empty match emits nothing; step one code point so the loop always advances.
      search = begin + utf8_length(static_cast<unsigned char>(text[begin < text.size() ? begin : 0]));
      continue;
    }
    if (begin > gap_start) pieces.push_back(text.substr(gap_start, begin - gap_start));
    pieces.push_back(text.substr(begin, end - begin));
    gap_start = end;
    search = end;
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
    const size_t length = utf8_length(static_cast<unsigned char>(symbols[position]));
    if (position + length > symbols.size()) return std::nullopt;
    auto it = inverse.find(std::string(symbols.substr(position, length)));
    if (it == inverse.end()) return std::nullopt;
    bytes.push_back(static_cast<char>(it->second));
    position += length;
  }
  return bytes;
}

} // namespace caravan::model
