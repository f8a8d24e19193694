#include "rewards/exact_number.h"

#include <algorithm>

#include "rewards/ascii.h"

namespace caravan::rewards {
namespace {

bool all_digits(std::string_view text) { return std::all_of(text.begin(), text.end(), is_ascii_digit); }

// `text` without whitespace and '$', with U+2212 replaced by '-'.
std::string strip_decorations(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i).starts_with(kUnicodeMinus)) {
      out += '-';
      i += kUnicodeMinus.size() - 1;
    } else if (!is_ascii_space(text[i]) && text[i] != '$') {
      out += text[i];
    }
  }
  return out;
}

// The digits of an integer part written with or without thousands commas, or nullopt if it is
// malformed. An empty part is valid (".5").
std::optional<std::string> integer_part_digits(std::string_view text) {
  const size_t first_comma = std::min(text.find(','), text.size());
  std::string digits(text.substr(0, first_comma));
  if (!all_digits(digits) || (first_comma < text.size() && (digits.empty() || digits.size() > 3))) {
    return std::nullopt;
  }
  for (size_t comma = first_comma; comma < text.size(); comma += 4) {
    const std::string_view group = text.substr(comma + 1, 3);
    if (text[comma] != ',' || group.size() != 3 || !all_digits(group)) return std::nullopt;
    digits.append(group);
  }
  return digits;
}

} // namespace

std::optional<ExactNumber> parse_exact_number(std::string_view text) {
  const std::string stripped = strip_decorations(text);
  std::string_view rest = stripped;
  if (rest.ends_with('.')) rest.remove_suffix(1);

  ExactNumber number;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    number.negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  const size_t dot = rest.find('.');
  const std::string_view fraction = dot == std::string_view::npos ? "" : rest.substr(dot + 1);
  if (dot != std::string_view::npos && fraction.empty()) return std::nullopt;
  if (!all_digits(fraction)) return std::nullopt;
  std::optional<std::string> integer = integer_part_digits(rest.substr(0, dot));
  if (!integer || (integer->empty() && fraction.empty())) return std::nullopt;

  number.integer_digits = integer->substr(std::min(integer->find_first_not_of('0'), integer->size()));
  // find_last_not_of is npos for an all-zero fraction, and npos + 1 == 0 keeps nothing.
  number.fraction_digits = fraction.substr(0, fraction.find_last_not_of('0') + 1);
  if (number.integer_digits.empty() && number.fraction_digits.empty()) number.negative = false;
  return number;
}

} // namespace caravan::rewards
