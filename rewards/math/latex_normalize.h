// File: rewards/math/latex_normalize.h
// Canonicalises a math answer (a MATH-style LaTeX answer, a GSM8K number, or a model's final
// answer) so that notational variants compare equal before any parsing, without ever dropping
// content that changes the meaning: "$\dfrac{1}{2}$", "\frac12" and "\left( \frac{1}{2}
// \right)" become "\frac{1}{2}" or "(\frac{1}{2})"; a trailing unit or percent sign is taken off
// into its own field (compared by rewards/math/answer_equivalence.h); words that are not a
// listed unit stay in the text as "\text{words}", so "\text{not } 5" never becomes 5.
//
//   NormalizedAnswer a = normalize_math_answer("\\$1,234.50");      // text "1234.50", unit "dollar"
//   NormalizedAnswer b = normalize_math_answer("90^\\circ");         // text "90", unit "degree"
//   NormalizedAnswer c = normalize_math_answer("28 percent");        // text "28", percent
//   NormalizedAnswer d = normalize_math_answer("x \\leq \\dfrac34");  // text "x<=\frac{3}{4}"
#pragma once

#include <string>
#include <string_view>

namespace caravan::rewards::math {

// A plain value.
struct NormalizedAnswer {
  // Canonical math text: no whitespace except one space between a command and a following
  // letter ("\pi r") and inside "\text{...}" words.
  std::string text;
  // Canonical name of a trailing unit from the explicit list in latex_normalize.cpp ("cm",
  // "cm^2", "mile", "degree", "dollar"); empty when there is none.
  std::string unit;
  // A trailing "%", "\%", "percent", "percentage" or "pct".
  bool percent = false;
  // Set when the whole answer is "digits,digits" written without spaces and not in the
  // thousands shape ("1,22", "1000,99", "0,111"): the same text with a decimal point ("1.22").
  // Such an answer is a two-item list to a list and a decimal-comma number to a single value.
  std::string decimal_comma;
};

// Applies, in order:
//  1. Unicode: U+2212 -> '-', U+00D7/U+00B7 -> '*', U+00F7 -> '/', U+03C0 -> \pi, U+221A ->
//     \sqrt, U+221E -> \infty, U+2264/U+2265/U+2260 -> <=, >=, !=, U+2208 -> \in, U+222A -> \cup,
//     U+00B0 -> ^\circ, superscript 2/3 -> ^2/^3, non-breaking and thin spaces -> ' '.
//  2. Outer math delimiters ("$...$", "$$...$$", "\(...\)", "\[...\]") and trailing sentence
//     punctuation ('.', ',', ';', ':', but never an ellipsis) removed, repeatedly; a doubled
//     backslash before a command ("\\frac") read as one.
//  3. \displaystyle, \left, \right and \big-style sizing removed.
//  4. A trailing percent sign or word sets `percent`; a trailing unit (in \text{}, \textbf{},
//     \textnormal{}, \mbox{}, \mathrm{}, or a plain word after a number; with an optional ^2/^3
//     or "square"/"cubic"), a degree sign or a leading "\$" sets `unit`. Only units in the
//     explicit list are taken off; any other word stays.
//  5. Text wrappers: the whole answer in one wrapper is unwrapped; "and"/"or" (also as plain
//     words between items) become ','; a wrapper holding math only ("\text{5}") is unwrapped;
//     a wrapper with words stays as "\text{words}" (lower-cased, single-spaced).
//  6. Spacing: LaTeX thousands separators between digits ("{,}", ",\!") removed; digits
//     separated by single spaces are joined only in the exact thousands shape "1 234 567";
//     "4 4/9" (a whole-answer mixed number with a proper fraction) becomes 4\frac{4}{9}
//     ("11 7/6" does not); any other space between two
//     digits makes the text a non-expression ("2 3" is not 23); \! \, \; \: \quad removed; all
//     other whitespace removed.
//  7. Synonyms: \dfrac/\tfrac/\cfrac -> \frac; \dbinom/\tbinom -> \binom; \cdot/\times/\ast ->
//     '*'; \div -> '/'; \le/\leq/\leqslant -> "<="; \ge/\geq/\geqslant -> ">="; \lt -> '<';
//     \gt -> '>'; \neq/\ne -> "!="; \lbrace/\rbrace -> \{ \}; \mathrm{e} -> e; remaining "\$"
//     and "$" removed.
//  8. Shorthand: "\frac12" -> "\frac{1}{2}", "\frac1b" -> "\frac{1}{b}", "\sqrt2" -> "\sqrt{2}".
//  9. A whole answer written as a number with comma thousands groups, exactly
//     "-?d{1,3}(,ddd)+(.d+)?", loses its commas; in any other text a comma separates items
//     (a decimal-comma reading is offered separately in `decimal_comma`).
// 10. Outer braces around the whole answer ("{1,3}") removed.
// Works on bytes; never fails (unrecognised text passes through). Thread-safe (pure function).
NormalizedAnswer normalize_math_answer(std::string_view answer);

// Whether `word` is one of the listed unit spellings or percent words ("cm", "miles", "pct").
// Used by answer extraction to tell a formula with a unit from prose.
bool is_unit_or_percent_word(std::string_view word);

} // namespace caravan::rewards::math
