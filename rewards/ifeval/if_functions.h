// File: rewards/ifeval/if_functions.h
// open-instruct's instruction-following functions (open_instruct/if_functions.py, the
// "ifeval" rows of Tülu 3 RLVR data such as allenai/RLVR-GSM-MATH-IF-Mixed-Constraints). Such a
// ground truth is one constraint object naming its function and arguments; keys the function does
// not take are present with null values in the exported data and are ignored as open-instruct
// ignores them:
//
//   {"func_name": "validate_word_constraint", "N": 50, "quantifier": "at least",
//    "section_splitter": null, "keyword_list": null, ...}
//
//   Result<bool> followed = check_if_function(constraint, answer);
//
// Each function mirrors open-instruct's Python (its regexes by hand, linear time) with these
// deliberate differences, all where open-instruct would quietly score a malformed constraint 0 or
// reward anything:
//  - a missing, mistyped or unexpected (non-null, not a parameter) argument, an unknown quantifier,
//    a letter that is not one character, a paragraph index outside 1..N and an unsupported language
//    are errors (kInvalidArgument naming the function and argument), not a wrong answer;
//  - validate_choice accepts its options as a JSON list or as a string holding a Python tuple or
//    list of string literals ("('yes', 'no')"), which is parsed; open-instruct iterates such a
//    string character by character, so any answer sharing one character passed;
//  - validate_response_language uses the detector of instructions.h (scripts, and function words
//    for Latin-script languages) instead of langdetect;
//  - case tests (validate_uppercase / validate_lowercase / capital words / the case-insensitive
//    comparisons) fold ASCII letters only, and \w is approximated as in text_scan.h.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace caravan::rewards::ifeval {

// The constraint's key naming its function.
inline constexpr std::string_view kFuncNameKey = "func_name";

// Checks `response` against `constraint` (a JSON object with "func_name" and its arguments).
// Returns whether it is followed, or kInvalidArgument naming the function and argument when the
// function is unknown or its arguments are malformed. Never throws; thread-safe.
Result<bool> check_if_function(const nlohmann::json& constraint, std::string_view response);

// Every function name check_if_function() accepts, in open-instruct's IF_FUNCTIONS_MAP order.
const std::vector<std::string_view>& supported_if_functions();

} // namespace caravan::rewards::ifeval
