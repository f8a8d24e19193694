#include "rewards/math/math_verifier.h"

#include <algorithm>
#include <cstddef>
#include <utility>

#include "core/str_cat.h"
#include "rewards/ascii.h"
#include "rewards/math/latex_normalize.h"

namespace caravan::rewards::math {
namespace {

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t rfind_case_insensitive(std::string_view text, std::string_view needle) {
  if (needle.size() > text.size()) return std::string_view::npos;
  for (std::size_t i = text.size() - needle.size() + 1; i-- > 0;) {
    bool match = true;
    for (std::size_t k = 0; k < needle.size() && match; ++k) match = to_lower(text[i + k]) == needle[k];
    if (match) return i;
  }
  return std::string_view::npos;
}

std::optional<std::string> after_hashes(std::string_view text) {
  const std::size_t at = text.rfind("####");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(at + 4);
  rest = rest.substr(0, rest.find('\n'));
  rest = trim_ascii(rest);
  if (rest.empty()) return std::nullopt;
  return std::string(rest);
}

std::optional<std::string> after_answer_is(std::string_view text) {
  const std::size_t at = rfind_case_insensitive(text, "answer is");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(at + 9);
  rest = rest.substr(0, rest.find('\n'));
  if (const std::size_t stop = rest.find(". "); stop != std::string_view::npos) rest = rest.substr(0, stop);
  rest = trim_ascii(rest);
  if (!rest.empty() && rest.front() == ':') rest = trim_ascii(rest.substr(1));
  while (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  if (rest.empty()) return std::nullopt;
  if (auto boxed = last_boxed_content(rest)) return boxed;
  return std::string(rest);
}

std::optional<std::string> last_number(std::string_view text) {
  std::optional<std::string> found;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_ascii_digit(text[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    // ".5": a leading decimal point belongs to the number unless a letter, digit or another dot
    // precedes it ("v.5", "...5").
    if (start > 0 && text[start - 1] == '.' && (start < 2 || !is_ascii_alnum(text[start - 2])) &&
        (start < 2 || text[start - 2] != '.')) {
      --start;
    }
    if (start > 0 && text[start - 1] == '-' && (start < 2 || !is_ascii_alnum(text[start - 2]))) --start;
    while (i < text.size() && is_ascii_digit(text[i])) ++i;
    while (i + 3 < text.size() && text[i] == ',' && is_ascii_digit(text[i + 1]) &&
           is_ascii_digit(text[i + 2]) && is_ascii_digit(text[i + 3]) &&
           (i + 4 >= text.size() || !is_ascii_digit(text[i + 4]))) {
      i += 4;
    }
    if (i + 1 < text.size() && text[i] == '.' && is_ascii_digit(text[i + 1])) {
      ++i;
      while (i < text.size() && is_ascii_digit(text[i])) ++i;
    }
    if (i + 1 < text.size() && text[i] == '/' && is_ascii_digit(text[i + 1])) {
      ++i;
      while (i < text.size() && is_ascii_digit(text[i])) ++i;
    }
    found = std::string(text.substr(start, i - start));
  }
  return found;
}

// Index of the bracket that closes the one at `open` ( "(" "[" "{" match any of ")" "]" "}",
// since intervals mix them), or npos.
std::size_t matching_close(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

// Splits at top-level occurrences of `separator`.
std::vector<std::string> split_top_level(std::string_view s, std::string_view separator) {
  std::vector<std::string> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth == 0 && s.substr(i).starts_with(separator)) {
      parts.emplace_back(s.substr(start, i - start));
      start = i + separator.size();
      i = start - 1;
    }
  }
  parts.emplace_back(s.substr(start));
  return parts;
}

// A multiple-choice letter: "B", "(B)", "B)" -> 'B'; else '\0'.
char choice_letter(std::string_view s) {
  if (s.size() >= 2 && s.front() == '(' && s.back() == ')') s = s.substr(1, s.size() - 2);
  else if (s.size() == 2 && s.back() == ')') s = s.substr(0, 1);
  if (s.size() == 1 && s[0] >= 'A' && s[0] <= 'E') return s[0];
  return '\0';
}

enum class Shape { kScalar, kUnorderedList, kSet, kBracketed, kUnion };

struct Structured {
  Shape shape = Shape::kScalar;
  char open = 0;
  char close = 0;
  std::vector<std::string> items;
};

Structured structure_of(const std::string& s) {
  Structured out;
  if (std::vector<std::string> parts = split_top_level(s, "\\cup"); parts.size() > 1) {
    out.shape = Shape::kUnion;
    out.items = std::move(parts);
    return out;
  }
  if (s.size() >= 4 && s.starts_with("\\{") && s.ends_with("\\}")) {
    out.shape = Shape::kSet;
    out.items = split_top_level(std::string_view(s).substr(2, s.size() - 4), ",");
    return out;
  }
  if (s.size() >= 2 && (s.front() == '(' || s.front() == '[') && (s.back() == ')' || s.back() == ']') &&
      matching_close(s, 0) == s.size() - 1) {
    std::vector<std::string> parts = split_top_level(std::string_view(s).substr(1, s.size() - 2), ",");
    if (parts.size() > 1) {
      out.shape = Shape::kBracketed;
      out.open = s.front();
      out.close = s.back();
      out.items = std::move(parts);
      return out;
    }
  }
  if (std::vector<std::string> parts = split_top_level(s, ","); parts.size() > 1) {
    out.shape = Shape::kUnorderedList;
    out.items = std::move(parts);
    return out;
  }
  // One "\pm" (anywhere, e.g. "\frac{1\pm\sqrt{5}}{2}") stands for the two solutions.
  if (const std::size_t at = s.find("\\pm"); at != std::string::npos && s.find("\\pm", at + 3) == std::string::npos &&
                                             (at + 3 >= s.size() || !(s[at + 3] >= 'a' && s[at + 3] <= 'z'))) {
    out.shape = Shape::kUnorderedList;
    out.items = {s.substr(0, at) + "+" + s.substr(at + 3), s.substr(0, at) + "-" + s.substr(at + 3)};
    return out;
  }
  out.items = {s};
  return out;
}

Result<bool> equivalent_normalized(const std::string& a, const std::string& b, double tolerance,
                                   EvalBudget& budget, int depth);

bool is_word(std::string_view s) {
  if (s.size() < 2) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
}

Result<bool> scalars_equivalent(const std::string& a, const std::string& b, double tolerance, EvalBudget& budget) {
  CARAVAN_RETURN_IF_ERROR(budget.tick());
  if (a == b) return true;
  // Equations: compare both sides ("y=2x+1" vs "y=1+2x").
  const std::vector<std::string> a_sides = split_top_level(a, "=");
  const std::vector<std::string> b_sides = split_top_level(b, "=");
  if (a_sides.size() != b_sides.size()) return false;
  if (a_sides.size() > 1) {
    for (std::size_t i = 0; i < a_sides.size(); ++i) {
      CARAVAN_ASSIGN_OR_RETURN(bool same, scalars_equivalent(a_sides[i], b_sides[i], tolerance, budget));
      if (!same) return false;
    }
    return true;
  }
  // Two or more bare letters are a word ("yes", "no", "Monday"), not a product of variables:
  // otherwise anagrams ("no" vs "on") would be equal.
  if (is_word(a) || is_word(b)) return false;
  Result<Expression> x = Expression::parse(a, budget);
  if (!x.ok() && x.status().code() == StatusCode::kTimeout) return x.status();
  Result<Expression> y = Expression::parse(b, budget);
  if (!y.ok() && y.status().code() == StatusCode::kTimeout) return y.status();
  if (!x.ok() || !y.ok()) return false;  // not both math: the string comparison above decided
  // A written decimal is an approximation: compare it with the tolerance even to a rational.
  const bool decimal = a.find('.') != std::string::npos || b.find('.') != std::string::npos;
  Result<bool> same = expressions_equivalent(*x, *y, tolerance, budget, decimal);
  if (!same.ok() && same.status().code() != StatusCode::kTimeout) return false;
  return same;
}

Result<bool> lists_equivalent(const std::vector<std::string>& a, const std::vector<std::string>& b, bool ordered,
                              double tolerance, EvalBudget& budget, int depth) {
  if (a.size() != b.size()) return false;
  if (ordered) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      CARAVAN_ASSIGN_OR_RETURN(bool same, equivalent_normalized(a[i], b[i], tolerance, budget, depth + 1));
      if (!same) return false;
    }
    return true;
  }
  // Greedy matching; items are few (solution lists), so O(n^2) is fine.
  std::vector<bool> used(b.size(), false);
  for (const std::string& item : a) {
    bool matched = false;
    for (std::size_t j = 0; j < b.size() && !matched; ++j) {
      if (used[j]) continue;
      CARAVAN_ASSIGN_OR_RETURN(bool same, equivalent_normalized(item, b[j], tolerance, budget, depth + 1));
      if (same) used[j] = matched = true;
    }
    if (!matched) return false;
  }
  return true;
}

Result<bool> equivalent_normalized(const std::string& a, const std::string& b, double tolerance,
                                   EvalBudget& budget, int depth) {
  CARAVAN_RETURN_IF_ERROR(budget.tick());
  if (a == b) return true;
  if (depth > 16) return false;
  if (const char letter = choice_letter(b); letter != '\0') return choice_letter(a) == letter;
  const Structured x = structure_of(a);
  const Structured y = structure_of(b);
  if (x.shape != y.shape) return false;
  switch (x.shape) {
    case Shape::kScalar:
      return scalars_equivalent(a, b, tolerance, budget);
    case Shape::kBracketed:
      if (x.open != y.open || x.close != y.close) return false;
      return lists_equivalent(x.items, y.items, /*ordered=*/true, tolerance, budget, depth);
    case Shape::kSet:
    case Shape::kUnorderedList:
    case Shape::kUnion:
      return lists_equivalent(x.items, y.items, /*ordered=*/false, tolerance, budget, depth);
  }
  return false;
}

} // namespace

std::optional<std::string> last_boxed_content(std::string_view text) {
  // Scan "\boxed" / "\fbox" from the end; the last one with a usable argument wins. At most
  // kMaxCandidates are tried, so a flood of unbalanced "\boxed{" cannot make this quadratic.
  constexpr int kMaxCandidates = 16;
  int candidates = 0;
  for (std::size_t from = text.size(); from > 0 && candidates++ < kMaxCandidates;) {
    const std::size_t boxed = text.rfind("\\boxed", from - 1);
    const std::size_t fbox = text.rfind("\\fbox", from - 1);
    std::size_t at = boxed;
    std::size_t length = 6;
    if (boxed == std::string_view::npos || (fbox != std::string_view::npos && fbox > boxed)) {
      at = fbox;
      length = 5;
    }
    if (at == std::string_view::npos) return std::nullopt;
    from = at;
    const std::size_t p = at + length;
    if (p < text.size() && text[p] == '{') {
      int depth = 0;
      for (std::size_t i = p; i < text.size(); ++i) {
        if (text[i] == '{') ++depth;
        if (text[i] == '}' && --depth == 0) {
          std::string content(trim_ascii(text.substr(p + 1, i - p - 1)));
          if (!content.empty()) return content;
          break;
        }
      }
    } else if (p < text.size() && text[p] == ' ') {
      // "\boxed 5": one token.
      std::size_t end = p + 1;
      while (end < text.size() && !is_ascii_space(text[end]) && text[end] != '$') ++end;
      if (end > p + 1) return std::string(text.substr(p + 1, end - p - 1));
    }
  }
  return std::nullopt;
}

std::optional<std::string> extract_math_answer(std::string_view completion, const std::vector<ExtractionRule>& order) {
  if (order.empty()) return std::string(trim_ascii(completion));
  for (const ExtractionRule rule : order) {
    std::optional<std::string> answer;
    switch (rule) {
      case ExtractionRule::kBoxed: answer = last_boxed_content(completion); break;
      case ExtractionRule::kHashes: answer = after_hashes(completion); break;
      case ExtractionRule::kAnswerIs: answer = after_answer_is(completion); break;
      case ExtractionRule::kLastNumber: answer = last_number(completion); break;
    }
    if (answer) return answer;
  }
  return std::nullopt;
}

std::string ground_truth_answer(std::string_view ground_truth) {
  if (auto boxed = last_boxed_content(ground_truth)) return *boxed;
  if (auto hashes = after_hashes(ground_truth)) return *hashes;
  return std::string(trim_ascii(ground_truth));
}

Result<bool> math_answers_equivalent(std::string_view answer, std::string_view reference, double relative_tolerance,
                                     EvalBudget& budget) {
  const std::string a = normalize_math_answer(answer);
  const std::string b = normalize_math_answer(reference);
  return equivalent_normalized(a, b, relative_tolerance, budget, 0);
}

Verdict MathVerifier::verify(std::string_view completion, std::string_view ground_truth) const {
  const std::string reference = ground_truth_answer(ground_truth);
  if (reference.empty()) return {0.0, VerdictStatus::kError, "ground truth is empty"};
  EvalBudget budget(options_.deadline);
  const std::optional<std::string> answer = extract_math_answer(completion, options_.extraction_order);
  if (!answer) return {0.0, VerdictStatus::kWrong, "no answer found"};
  const Result<bool> same = math_answers_equivalent(*answer, reference, options_.relative_tolerance, budget);
  if (!same.ok()) {
    if (same.status().code() == StatusCode::kTimeout) {
      return {0.0, VerdictStatus::kTimeout, str_cat("deadline of ", options_.deadline.count(), " ms exceeded")};
    }
    return {0.0, VerdictStatus::kError, same.status().to_string()};
  }
  if (!*same) return {0.0, VerdictStatus::kWrong, str_cat("expected ", reference, ", got ", *answer)};
  return {1.0, VerdictStatus::kOk, ""};
}

} // namespace caravan::rewards::math
