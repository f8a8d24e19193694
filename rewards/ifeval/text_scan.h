// File: rewards/ifeval/text_scan.h
// Text primitives shared by the instruction-following checkers (IFEval's instructions and
// open-instruct's func_name functions): ASCII case folding, UTF-8 decoding, Python-style
// \w runs, whitespace and strip, and literal splitting. Everything here is pure, thread-safe
// and linear in the input (no regex engine: completions are adversarial).
//
//   for (std::string_view word : word_runs("Hello, wörld_1!")) ...  // "Hello", "wörld_1"
//   std::string_view core = python_strip("\u3000 text \n");          // "text"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace caravan::rewards::ifeval {

char lower_ascii(char c);

// `text` with ASCII letters lowercased; other bytes unchanged.
std::string to_lower(std::string_view text);

// One decoded code point; invalid or truncated sequences decode as U+FFFD of length 1.
struct CodePoint {
  char32_t value = 0;
  std::size_t length = 1;
};

// Decodes the code point starting at byte `i` (< text.size()).
CodePoint decode_utf8(std::string_view text, std::size_t i);

// Whether `c` counts as a regex \w character: ASCII letters, digits and '_', and non-ASCII code
// points outside the common punctuation and symbol blocks (an approximation of str.isalnum()).
bool is_word_code_point(char32_t c);

// Whether `c` is whitespace as Python's str.isspace() / re's \s define it for str.
bool is_python_space(char32_t c);

// `text` without leading and trailing Python whitespace (str.strip()); a view into `text`.
std::string_view python_strip(std::string_view text);

// Number of code points in `text` (Python len()); invalid bytes count one each.
std::size_t count_code_points(std::string_view text);

// Splits `text` into \w+ runs (views into `text`).
std::vector<std::string_view> word_runs(std::string_view text);

// Non-overlapping occurrences of `needle` in `haystack` (Python str.count); 0 for an empty needle.
std::size_t count_occurrences(std::string_view haystack, std::string_view needle);

// Python's text.split(separator) for a non-empty separator: n separators give n + 1 pieces.
std::vector<std::string_view> split(std::string_view text, std::string_view separator);

// The inner texts of the non-overlapping spans `open` ... `close` that contain no '\n', found
// left to right with the shortest close (Python re.findall of r"\[(.*?)\]" for '[' and ']').
// Empty spans count.
std::vector<std::string_view> delimited_spans(std::string_view text, char open, char close);

} // namespace caravan::rewards::ifeval
