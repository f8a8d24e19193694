// File: rewards/exact_number.h
// Exact decimal numbers for answer comparison. Values are kept as normalised digit strings, so
// numbers of any length (a 500-digit factorial) compare exactly: nothing goes through double or
// int64, and nothing can overflow.
//
//   std::optional<ExactNumber> got = parse_exact_number("$1,234.50");
//   std::optional<ExactNumber> want = parse_exact_number("1234.5");
//   bool correct = got && want && *got == *want;  // true
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace caravan::rewards {

// A finite decimal in canonical form, so that == is numeric equality ("2.50" == "2.5",
// "2" == "2.0", "007" == "7", "-0" == "0"). A plain value.
struct ExactNumber {
  // Never true for zero.
  bool negative = false;
  // Integer part without leading zeros; empty for |x| < 1.
  std::string integer_digits;
  // Fractional part without trailing zeros; empty for integers.
  std::string fraction_digits;

  bool operator==(const ExactNumber&) const = default;
};

// Parses an answer such as "42", "-17", "+3", "1,234", "$5.", "0.50", ".5", "−5" (U+2212 is read
// as '-'). First removes every ASCII whitespace and '$' and then one trailing '.'. What remains
// must be an optional sign, an integer part (plain digits, or thousands groups with a leading
// group of 1-3 digits and then groups of exactly 3: "1,234,567") and an optional "." with digits;
// at least one digit overall. Leading zeros are numerically insignificant ("007" is 7).
// Returns nullopt for anything else (words, "1/2", "1e5", "1,23", non-UTF-8 bytes, "").
// Note: compare two parsed values, never two optionals (nullopt == nullopt would be "equal").
// Thread-safe (pure function).
std::optional<ExactNumber> parse_exact_number(std::string_view text);

} // namespace caravan::rewards
