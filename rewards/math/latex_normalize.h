// File: rewards/math/latex_normalize.h
// Canonicalises a math answer string (a MATH-style LaTeX answer, a GSM8K number, or a model's
// free-form final answer) so that notational variants compare equal before any parsing:
// "$\dfrac{1}{2}$", "\frac12" and "\left( \frac{1}{2} \right)" all become "\frac{1}{2}" or
// "(\frac{1}{2})". The output is still math text; rewards/math/expression.h parses it.
//
//   std::string a = normalize_math_answer("\\$1,234.50");          // "1234.50"
//   std::string b = normalize_math_answer("90^\\circ");            // "90"
//   std::string c = normalize_math_answer("\\text{(B)}");          // "(B)"
//   std::string d = normalize_math_answer("x = \\dfrac{3}{4}");    // "\frac{3}{4}"
#pragma once

#include <string>
#include <string_view>

namespace caravan::rewards::math {

// Applies, in order:
//  1. Unicode: U+2212 -> '-', U+00D7 and U+00B7 -> '*', U+03C0 -> "\pi", U+221A -> "\sqrt",
//     U+00B0 (degree sign) removed, U+221E -> "\infty".
//  2. Math delimiters: one outer "$...$", "$$...$$", "\(...\)" or "\[...\]" pair is removed;
//     "\displaystyle" removed.
//  3. Text wrappers: "\text{..}", "\textbf{..}", "\mathrm{..}", "\mathbf{..}", "\mbox{..}",
//     "\textrm{..}": when the whole answer is one such wrapper, it is unwrapped; elsewhere a
//     wrapper holding only letters and spaces is a unit and is removed together with a
//     following "^2"/"^3" ("5\text{ cm}" -> "5", "7\text{ units}^2" -> "7"),
//     except " and " / " or " which become ','; any other wrapper is unwrapped.
//  4. Spacing and sizing: "\left", "\right", "\!", "\,", "\;", "\:", "\ ", "\quad", "\qquad"
//     and all ASCII whitespace removed.
//  5. "\dfrac"/"\tfrac" -> "\frac"; "\cdot"/"\times" -> '*'; "\div" -> '/'; "\le"/"\ge"
//     kept; "{,}" -> "" (LaTeX thousands separator).
//  6. Degrees ("^\circ", "^{\circ}", "\circ", "\degree"), percent ("\%", "%") and dollars
//     ("\$", "$") removed.
//  7. Shorthand: "\frac12" -> "\frac{1}{2}", "\frac1b" -> "\frac{1}{b}", "\sqrt2" -> "\sqrt{2}".
//  8. Thousands separators: when the whole answer is a number written with comma groups
//     ("1,234,567.5"), the commas are removed. In any other text a comma is a list separator.
//  9. A leading "x=" / "y=" style left-hand side (one or two characters, only when the answer
//     has exactly one '=') is removed; trailing '.' removed; a trailing unit word from a short
//     fixed list ("cm", "meters", "dollars", "degrees", "units", ...) after a number is removed.
// Works on bytes; never fails (unrecognised text passes through). Thread-safe (pure function).
std::string normalize_math_answer(std::string_view answer);

} // namespace caravan::rewards::math
