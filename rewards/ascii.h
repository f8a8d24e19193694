// File: rewards/ascii.h
// Locale-independent byte classification shared by the answer parsers. Unlike <cctype>, these
// accept any char (including the negative values of non-ASCII / non-UTF-8 bytes) without UB,
// and never match a non-ASCII byte.
//
//   if (is_ascii_digit(text[i])) ...
//   if (text.substr(i).starts_with(kUnicodeMinus)) ...  // U+2212 is read as '-'
#pragma once

#include <string_view>

namespace caravan::rewards {

// U+2212 MINUS SIGN in UTF-8. Models (and LaTeX-rendered datasets) emit it; we read it as '-'.
inline constexpr std::string_view kUnicodeMinus = "\xE2\x88\x92";

constexpr bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

constexpr bool is_ascii_alnum(char c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `text` without leading and trailing ASCII whitespace; a view into `text`.
constexpr std::string_view trim_ascii(std::string_view text) {
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

} // namespace caravan::rewards
