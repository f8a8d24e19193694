#include "rewards/answer_extraction.h"

#include <utility>

#include "rewards/ascii.h"

namespace caravan::rewards {
namespace {

constexpr std::string_view kHashMarker = "####";
constexpr std::string_view kBoxedOpen = "\\boxed{";

// Trimmed content of the last "\boxed{...}" whose braces balance, or nullopt if there is none.
std::optional<std::string_view> last_boxed_content(std::string_view text) {
  for (size_t pos = text.rfind(kBoxedOpen); pos != std::string_view::npos;
       pos = pos == 0 ? std::string_view::npos : text.rfind(kBoxedOpen, pos - 1)) {
    const size_t begin = pos + kBoxedOpen.size();
    int depth = 1;
    for (size_t i = begin; i < text.size(); ++i) {
      if (text[i] == '{') {
        ++depth;
      } else if (text[i] == '}' && --depth == 0) {
        return trim_ascii(text.substr(begin, i - begin));
      }
    }
  }
  return std::nullopt;
}

size_t skip_digits(std::string_view text, size_t i) {
  while (i < text.size() && is_ascii_digit(text[i])) ++i;
  return i;
}

// End of the unsigned number whose first digit is text[begin]: digits, thousands groups, and a
// decimal part.
size_t number_end(std::string_view text, size_t begin) {
  size_t end = skip_digits(text, begin);
  if (end - begin <= 3) {
    while (end + 4 <= text.size() && text[end] == ',' && skip_digits(text, end + 1) == end + 4) end += 4;
  }
  if (end + 1 < text.size() && text[end] == '.' && is_ascii_digit(text[end + 1])) {
    end = skip_digits(text, end + 1);
  }
  return end;
}

// Whether the digits starting at text[begin] carry a minus sign ('-' or U+2212) that is not a
// binary minus, i.e. not preceded by a letter or digit.
bool has_attached_minus(std::string_view text, size_t begin) {
  std::string_view before = text.substr(0, begin);
  if (before.ends_with('-')) {
    before.remove_suffix(1);
  } else if (before.ends_with(kUnicodeMinus)) {
    before.remove_suffix(kUnicodeMinus.size());
  } else {
    return false;
  }
  return before.empty() || !is_ascii_alnum(before.back());
}

std::optional<std::string> last_number(std::string_view text) {
  std::optional<std::string> last;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_ascii_digit(text[i])) {
      ++i;
      continue;
    }
    const size_t end = number_end(text, i);
    std::string number(has_attached_minus(text, i) ? 1 : 0, '-');
    number.append(text.substr(i, end - i));
    last = std::move(number);
    i = end;
  }
  return last;
}

// The answer the completion declares with "####" or "\boxed{}" (possibly empty), or nullopt
// when it declares none.
std::optional<std::string_view> declared_answer(std::string_view completion) {
  if (const size_t marker = completion.rfind(kHashMarker); marker != std::string_view::npos) {
    const std::string_view rest = completion.substr(marker + kHashMarker.size());
    return trim_ascii(rest.substr(0, rest.find('\n')));
  }
  return last_boxed_content(completion);
}

} // namespace

std::optional<std::string> extract_final_answer(std::string_view completion) {
  const std::optional<std::string_view> declared = declared_answer(completion);
  if (!declared) return last_number(completion);
  // An empty declared answer is no answer; no fallback to the last number (see the header).
  if (declared->empty()) return std::nullopt;
  return std::string(*declared);
}

} // namespace caravan::rewards
