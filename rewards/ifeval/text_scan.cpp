#include "rewards/ifeval/text_scan.h"

#include "rewards/ascii.h"

namespace caravan::rewards::ifeval {
namespace {

bool is_unicode_punctuation(char32_t c) {
  return (c >= 0xA0 && c <= 0xBF) || c == 0xD7 || c == 0xF7 || (c >= 0x2000 && c <= 0x206F) ||
         (c >= 0x3000 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
         (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) || c == 0xFFFD;
}

} // namespace

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower_ascii(c);
  return out;
}

CodePoint decode_utf8(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return {lead, 1};
  std::size_t length = 0;
  char32_t value = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    value = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    value = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    value = lead & 0x07;
  } else {
    return {0xFFFD, 1};
  }
  if (i + length > text.size()) return {0xFFFD, 1};
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {0xFFFD, 1};
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  return {value, length};
}

bool is_word_code_point(char32_t c) {
  if (c < 0x80) return is_ascii_alnum(static_cast<char>(c)) || c == '_';
  return !is_unicode_punctuation(c) && !is_python_space(c);
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::string_view python_strip(std::string_view text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    const CodePoint cp = decode_utf8(text, begin);
    if (!is_python_space(cp.value)) break;
    begin += cp.length;
  }
  // Scan forward so multi-byte trailing spaces are found without decoding backwards.
  std::size_t end = begin;
  for (std::size_t i = begin; i < text.size();) {
    const CodePoint cp = decode_utf8(text, i);
    i += cp.length;
    if (!is_python_space(cp.value)) end = i;
  }
  return text.substr(begin, end - begin);
}

std::size_t count_code_points(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); i += decode_utf8(text, i).length) ++count;
  return count;
}

std::vector<std::string_view> word_runs(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  std::size_t start = std::string_view::npos;
  while (i < text.size()) {
    const CodePoint cp = decode_utf8(text, i);
    if (is_word_code_point(cp.value)) {
      if (start == std::string_view::npos) start = i;
    } else if (start != std::string_view::npos) {
      words.push_back(text.substr(start, i - start));
      start = std::string_view::npos;
    }
    i += cp.length;
  }
  if (start != std::string_view::npos) words.push_back(text.substr(start));
  return words;
}

std::size_t count_occurrences(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return 0;
  std::size_t count = 0;
  for (std::size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

std::vector<std::string_view> split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t at = text.find(separator); at != std::string_view::npos;
       at = text.find(separator, start)) {
    parts.push_back(text.substr(start, at - start));
    start = at + separator.size();
  }
  parts.push_back(text.substr(start));
  return parts;
}

std::vector<std::string_view> delimited_spans(std::string_view text, char open, char close) {
  std::vector<std::string_view> spans;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != open) {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < text.size() && text[j] != close && text[j] != '\n') ++j;
    if (j < text.size() && text[j] == close) {
      spans.push_back(text.substr(i + 1, j - i - 1));
      i = j + 1;
    } else {
      ++i;
    }
  }
  return spans;
}

} // namespace caravan::rewards::ifeval
