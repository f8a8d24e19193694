#include "rewards/math/extraction.h"

#include <algorithm>
#include <utility>

#include "rewards/ascii.h"
#include "rewards/math/latex_normalize.h"

namespace caravan::rewards::math {
namespace {

// Only this many "\boxed" occurrences are tried from the end (bounded work on floods).
constexpr int kMaxBoxCandidates = 16;
// Longest completion that kLastMathItem takes whole when it is only a formula.
constexpr std::size_t kMaxWholeFormula = 200;

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_case_insensitive(std::string_view text, std::string_view lower_needle) {
  if (text.size() != lower_needle.size()) return false;
  for (std::size_t k = 0; k < text.size(); ++k) {
    if (to_lower(text[k]) != lower_needle[k]) return false;
  }
  return true;
}

// Where a statement of the answer starts: "final answer", "answer is" or "answer:" (any case).
struct Anchor {
  std::size_t begin = 0;  // of the phrase
  std::size_t end = 0;    // just past it
  bool final = false;     // "final answer"
};

// The last anchor in `text`: one backward scan for "answer", then its neighbours.
std::optional<Anchor> last_answer_anchor(std::string_view text) {
  constexpr std::string_view kAnswer = "answer";
  for (std::size_t i = text.size(); i-- > 0;) {
    if (to_lower(text[i]) != 'a' || !equals_case_insensitive(text.substr(i, kAnswer.size()), kAnswer)) continue;
    const std::size_t after = i + kAnswer.size();
    if (i >= 6 && equals_case_insensitive(text.substr(i - 6, 6), "final ")) return Anchor{i - 6, after, true};
    if (after < text.size() && text[after] == ':') return Anchor{i, after + 1, false};
    if (after + 3 <= text.size() && text[after] == ' ' && equals_case_insensitive(text.substr(after + 1, 2), "is") &&
        (after + 3 == text.size() || !is_letter(text[after + 3]))) {
      return Anchor{i, after + 3, false};
    }
  }
  return std::nullopt;
}

// ---- boxes ----

struct Box {
  std::size_t begin = 0;  // of "\boxed"
  std::size_t end = 0;    // just past the closing brace (or the one-token argument)
  std::string content;
};

// The box whose command starts at `at` ("\boxed" or "\fbox" of `length` characters).
std::optional<Box> box_at(std::string_view text, std::size_t at, std::size_t length) {
  const std::size_t p = at + length;
  if (p < text.size() && text[p] == '{') {
    int depth = 0;
    for (std::size_t i = p; i < text.size(); ++i) {
      if (text[i] == '{') ++depth;
      if (text[i] == '}' && --depth == 0) {
        std::string content(trim_ascii(text.substr(p + 1, i - p - 1)));
        if (content.empty()) return std::nullopt;
        return Box{at, i + 1, std::move(content)};
      }
    }
    return std::nullopt;
  }
  if (p < text.size() && text[p] == ' ') {
    // "\boxed 5": one token.
    std::size_t end = p + 1;
    while (end < text.size() && !is_ascii_space(text[end]) && text[end] != '$') ++end;
    if (end > p + 1) return Box{at, end, std::string(text.substr(p + 1, end - p - 1))};
  }
  return std::nullopt;
}

// Balanced boxes from the end of `text`, last first, at most kMaxBoxCandidates tried.
std::vector<Box> boxes_from_end(std::string_view text) {
  std::vector<Box> boxes;
  int candidates = 0;
  for (std::size_t from = text.size(); from > 0 && candidates++ < kMaxBoxCandidates;) {
    const std::size_t boxed = text.rfind("\\boxed", from - 1);
    const std::size_t fbox = text.rfind("\\fbox", from - 1);
    std::size_t at = boxed;
    std::size_t length = 6;
    if (boxed == std::string_view::npos || (fbox != std::string_view::npos && fbox > boxed)) {
      at = fbox;
      length = 5;
    }
    if (at == std::string_view::npos) break;
    if (std::optional<Box> box = box_at(text, at, length)) boxes.push_back(std::move(*box));
    from = at;
  }
  return boxes;
}

// Whether the text between two boxes only separates them: spacing, math delimiters, ',', ';',
// '&' and the words "and" / "or".
bool only_separators(std::string_view gap) {
  static constexpr std::string_view kNoise[] = {"\\qquad", "\\quad", "\\textbf{", "\\text{", "\\mbox{", "\\(", "\\)",
                                                "\\[",     "\\]",    "\\,",       "\\;",     "\\ ",     "and", "or"};
  std::size_t i = 0;
  while (i < gap.size()) {
    const char c = gap[i];
    if (is_ascii_space(c) || c == '$' || c == ',' || c == ';' || c == '&' || c == '{' || c == '}') {
      ++i;
      continue;
    }
    bool matched = false;
    for (std::string_view noise : kNoise) {
      if (gap.substr(i).starts_with(noise)) {
        i += noise.size();
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

struct Found {
  std::string answer;
  std::size_t end = 0;  // position in the text just past what was read
};

std::optional<Found> last_boxed(std::string_view text) {
  const std::vector<Box> boxes = boxes_from_end(text);
  if (boxes.empty()) return std::nullopt;
  std::string answer = boxes[0].content;
  for (std::size_t k = 1; k < boxes.size(); ++k) {
    if (boxes[k].end > boxes[k - 1].begin || !only_separators(text.substr(boxes[k].end, boxes[k - 1].begin - boxes[k].end))) {
      break;
    }
    answer = boxes[k].content + ", " + answer;
  }
  return Found{std::move(answer), boxes[0].end};
}

// ---- math spans and numbers ----

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t content_begin = 0;
  std::size_t content_end = 0;
};

std::vector<Span> math_spans(std::string_view text) {
  std::vector<Span> spans;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      const char next = text[i + 1];
      if (next == '(' || next == '[') {
        const std::size_t close = text.find(next == '(' ? "\\)" : "\\]", i + 2);
        const bool one_line = close != std::string_view::npos && text.substr(i + 2, close - i - 2).find('\n') == std::string_view::npos;
        if (close != std::string_view::npos && (next == '[' || one_line)) {
          spans.push_back({i, close + 2, i + 2, close});
          i = close + 2;
          continue;
        }
      }
      i += 2;  // an escape such as "\$"
      continue;
    }
    if (c == '$' && i + 1 < text.size() && text[i + 1] == '$') {
      const std::size_t close = text.find("$$", i + 2);
      if (close == std::string_view::npos) break;
      spans.push_back({i, close + 2, i + 2, close});
      i = close + 2;
      continue;
    }
    if (c == '$' && !(i > 0 && is_ascii_digit(text[i - 1]))) {
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '\n' && text[j] != '$') j += text[j] == '\\' ? 2 : 1;
      if (j < text.size() && text[j] == '$' && !trim_ascii(text.substr(i + 1, j - i - 1)).empty()) {
        spans.push_back({i, j + 1, i + 1, j});
        i = j + 1;
        continue;
      }
    }
    ++i;
  }
  return spans;
}

bool is_digit_at(std::string_view s, std::size_t i) { return i < s.size() && is_ascii_digit(s[i]); }

// The last number of text[from, end) (see kLastNumber) with its start.
std::optional<std::pair<std::string, std::size_t>> last_number_in(std::string_view text, std::size_t from) {
  std::optional<std::pair<std::string, std::size_t>> found;
  std::size_t i = from;
  while (i < text.size()) {
    if (!is_ascii_digit(text[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    if (start > from && is_letter(text[start - 1])) {  // an identifier such as "K2A" or "x2"
      while (is_digit_at(text, i)) ++i;
      continue;
    }
    // ".5": a leading point belongs to the number unless a letter, digit or dot precedes it.
    if (start > from && text[start - 1] == '.' && (start < from + 2 || (!is_ascii_alnum(text[start - 2]) && text[start - 2] != '.'))) {
      --start;
    }
    std::string sign;
    if (start > from && text[start - 1] == '-' && (start < from + 2 || !is_ascii_alnum(text[start - 2]))) {
      sign = "-";
    } else if (start >= from + kUnicodeMinus.size() && text.substr(start - kUnicodeMinus.size()).starts_with(kUnicodeMinus) &&
               (start < from + kUnicodeMinus.size() + 1 || !is_ascii_alnum(text[start - kUnicodeMinus.size() - 1]))) {
      sign = "-";
    }
    const std::size_t digits_start = i;
    while (is_digit_at(text, i)) ++i;
    if (i - digits_start <= 3 && text[start] != '.') {
      // Thousands groups, one separator kind: "1,234,567" or "1 234 567".
      const char separator = i < text.size() && (text[i] == ',' || text[i] == ' ') ? text[i] : '\0';
      while (separator != '\0' && i + 3 < text.size() + 0 && text[i] == separator && is_digit_at(text, i + 1) &&
             is_digit_at(text, i + 2) && is_digit_at(text, i + 3) && !is_digit_at(text, i + 4)) {
        i += 4;
      }
    }
    if (i + 1 < text.size() && text[i] == '.' && is_ascii_digit(text[i + 1])) {
      ++i;
      while (is_digit_at(text, i)) ++i;
    } else if (i + 1 < text.size() && text[i] == ',' && is_ascii_digit(text[i + 1])) {
      // A decimal comma ("2,74"): digits after one comma that are not a thousands group and
      // not followed by another ",digit" (then it is a list "1,2,3").
      std::size_t end = i + 1;
      while (is_digit_at(text, end)) ++end;
      const bool another = end + 1 < text.size() && text[end] == ',' && is_ascii_digit(text[end + 1]);
      const bool thousands_group = end - i - 1 == 3 && i - digits_start <= 3 && text[digits_start] != '0';
      if (!another && !thousands_group) i = end;
    }
    if (i + 1 < text.size() && text[i] == '/' && is_ascii_digit(text[i + 1])) {
      ++i;
      while (is_digit_at(text, i)) ++i;
    }
    std::string number = sign + std::string(text.substr(start, i - start));
    if (i < text.size() && text[i] == '%') number += '%';
    found = std::pair{std::move(number), start};
  }
  return found;
}

bool is_compact_formula(std::string_view s, std::size_t min_word);

std::optional<Found> last_span(std::string_view text) {
  const std::vector<Span> spans = math_spans(text);
  if (spans.empty()) return std::nullopt;
  const Span& span = spans.back();
  return Found{std::string(trim_ascii(text.substr(span.content_begin, span.content_end - span.content_begin))), span.end};
}

std::optional<std::string> last_math_item(std::string_view text) {
  // A completion that is only a one-line formula ("\frac{10}{9}", "x - 5") is the answer as a
  // whole.
  if (const std::string_view whole = trim_ascii(text);
      !whole.empty() && whole.size() <= kMaxWholeFormula && whole.find_first_of("$\n") == std::string_view::npos &&
      is_compact_formula(whole, 2)) {
    return std::string(whole);
  }
  const std::vector<Span> spans = math_spans(text);
  const std::size_t after = spans.empty() ? 0 : spans.back().end;
  if (auto number = last_number_in(text, after)) return std::move(number->first);
  if (spans.empty()) return std::nullopt;
  const Span& span = spans.back();
  return std::string(trim_ascii(text.substr(span.content_begin, span.content_end - span.content_begin)));
}

// ---- answer sentences ----

// Whether `s` reads as a formula rather than prose: no word of `min_word` or more letters
// outside math spans and command names, other than "and", listed units and percent words.
bool is_compact_formula(std::string_view s, std::size_t min_word) {
  const std::vector<Span> spans = math_spans(s);
  std::size_t next_span = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (next_span < spans.size() && i == spans[next_span].begin) {
      i = spans[next_span++].end;
      continue;
    }
    if (s[i] == '\\') {
      ++i;
      while (i < s.size() && is_letter(s[i])) ++i;
      continue;
    }
    if (!is_letter(s[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < s.size() && is_letter(s[end])) ++end;
    const std::string_view word = s.substr(i, end - i);
    if (word.size() >= min_word && word != "and" && !is_unit_or_percent_word(word)) return false;
    i = end;
  }
  return true;
}

// End of the sentence starting at text[0]: a newline, or a period followed by whitespace or
// the end, outside math spans.
std::size_t sentence_end(std::string_view text) {
  const std::vector<Span> spans = math_spans(text);
  std::size_t next_span = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (next_span < spans.size() && i == spans[next_span].begin) {
      i = spans[next_span++].end - 1;
      continue;
    }
    if (text[i] == '\n') return i;
    if (text[i] == '.' && (i + 1 == text.size() || is_ascii_space(text[i + 1]))) return i;
  }
  return text.size();
}

std::optional<Found> answer_sentence(std::string_view text, const Anchor& anchor) {
  std::string_view rest = text.substr(anchor.end);
  // "Final Answer: ...", "final answer is: ...", "**Final Answer**".
  for (bool changed = true; changed;) {
    changed = false;
    const std::string_view before = rest;
    rest = trim_ascii(rest);
    while (!rest.empty() && (rest.front() == ':' || rest.front() == '*')) rest.remove_prefix(1);
    rest = trim_ascii(rest);
    if (rest.size() >= 3 && to_lower(rest[0]) == 'i' && to_lower(rest[1]) == 's' && !is_letter(rest[2])) rest.remove_prefix(2);
    changed = rest != before;
  }
  const std::size_t end = sentence_end(rest);
  std::string_view sentence = trim_ascii(rest.substr(0, end));
  const std::size_t consumed = static_cast<std::size_t>(rest.data() - text.data()) + end;
  for (std::string_view hope : {"I hope", "i hope"}) {
    if (const std::size_t at = sentence.find(hope); at != std::string_view::npos) sentence = trim_ascii(sentence.substr(0, at));
  }
  // Quotes around the answer, also escaped ones ("\"$12$\"").
  for (bool stripped = true; stripped && sentence.size() >= 2;) {
    stripped = false;
    for (std::string_view quote : {"\\\"", "\"", "'"}) {
      if (sentence.size() >= 2 * quote.size() && sentence.starts_with(quote) && sentence.ends_with(quote)) {
        sentence = trim_ascii(sentence.substr(quote.size(), sentence.size() - 2 * quote.size()));
        stripped = true;
        break;
      }
    }
  }
  if (sentence.empty()) return std::nullopt;
  if (std::optional<Found> boxed = last_boxed(sentence)) return Found{std::move(boxed->answer), consumed};
  if (is_compact_formula(sentence, 3)) return Found{std::string(sentence), consumed};
  if (std::optional<std::string> item = last_math_item(sentence)) return Found{std::move(*item), consumed};
  return Found{std::string(sentence), consumed};
}

std::optional<std::string> after_hashes(std::string_view text) {
  const std::size_t at = text.rfind("####");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(at + 4);
  rest = trim_ascii(rest.substr(0, rest.find('\n')));
  if (rest.empty()) return std::nullopt;
  return std::string(rest);
}

std::optional<Found> answer_sentence(std::string_view text) {
  const std::optional<Anchor> anchor = last_answer_anchor(text);
  if (!anchor) return std::nullopt;
  return answer_sentence(text, *anchor);
}

// kBoxed: the last box, unless a "final answer" statement follows it.
std::optional<std::string> boxed_or_final_statement(std::string_view text) {
  std::optional<Found> boxed = last_boxed(text);
  const std::optional<Anchor> anchor = last_answer_anchor(text);
  if (anchor && anchor->final && (!boxed || anchor->begin >= boxed->end)) {
    if (std::optional<Found> sentence = answer_sentence(text, *anchor)) return std::move(sentence->answer);
  }
  if (boxed) return std::move(boxed->answer);
  return std::nullopt;
}

} // namespace

std::optional<std::string> last_boxed_answer(std::string_view text) {
  std::optional<Found> found = last_boxed(text);
  if (!found) return std::nullopt;
  return std::move(found->answer);
}

std::optional<std::string> extract_math_answer(std::string_view completion, const std::vector<ExtractionRule>& order) {
  if (order.empty()) return std::string(trim_ascii(completion));
  for (const ExtractionRule rule : order) {
    std::optional<std::string> answer;
    switch (rule) {
      case ExtractionRule::kBoxed: answer = boxed_or_final_statement(completion); break;
      case ExtractionRule::kHashes: answer = after_hashes(completion); break;
      case ExtractionRule::kAnswerSentence:
        if (std::optional<Found> found = answer_sentence(completion)) answer = std::move(found->answer);
        break;
      case ExtractionRule::kMathSpan:
        if (std::optional<Found> found = last_span(completion)) answer = std::move(found->answer);
        break;
      case ExtractionRule::kLastMathItem: answer = last_math_item(completion); break;
      case ExtractionRule::kLastNumber:
        if (auto number = last_number_in(completion, 0)) answer = std::move(number->first);
        break;
    }
    if (answer) return answer;
  }
  return std::nullopt;
}

std::string ground_truth_answer(std::string_view ground_truth) {
  if (std::optional<std::string> boxed = last_boxed_answer(ground_truth)) return *boxed;
  if (std::optional<std::string> hashes = after_hashes(ground_truth)) return *hashes;
  if (std::optional<Found> sentence = answer_sentence(ground_truth)) return std::move(sentence->answer);
  return std::string(trim_ascii(ground_truth));
}

} // namespace caravan::rewards::math
