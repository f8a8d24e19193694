// File: rewards/answer_extraction.h
// Finds the final answer a model committed to in a free-form completion (GSM8K "#### 42",
// MATH "\boxed{42}", or just the last number it wrote). The result is raw text; parse it with
// rewards/exact_number.h before comparing.
//
//   std::optional<std::string> answer = extract_final_answer("so 6*7 = 42.\n#### 42");
//   // *answer == "42"
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace caravan::rewards {

// Returns the completion's final answer, or nullopt when it has none. Rules, first match wins:
//  1. "####" present: the text after the LAST "####", up to the end of that line, trimmed.
//     An empty "####" section yields nullopt: the model declared an empty answer, and a stray
//     number from its reasoning is not read as one (no fallback to rules 2-3).
//  2. "\boxed{...}" present: the trimmed content of the last one whose braces balance (nested
//     braces allowed: "\boxed{\frac{1}{2}}" -> "\frac{1}{2}"); an unbalanced one is skipped.
//     An empty "\boxed{}" yields nullopt, like an empty "####".
//  3. The last number: digits with an optional sign directly attached, optional thousands
//     groups ("1,234,567": leading group of 1-3 digits, then groups of exactly 3) and an
//     optional decimal part ("3.25"; a trailing "." is not part of it). The sign is '-' or
//     U+2212 (returned as '-'), and counts only when not preceded by an ASCII letter or digit,
//     so "3-5=-2" ends with -2 while "10-3" ends with 3.
// Works on bytes: text around the answer may be any UTF-8 or even invalid UTF-8.
// Thread-safe (pure function).
std::optional<std::string> extract_final_answer(std::string_view completion);

} // namespace caravan::rewards
