#include "rewards/ifeval/if_functions.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <string>

#include "core/str_cat.h"
#include "rewards/ascii.h"
#include "rewards/ifeval/instructions.h"
#include "rewards/ifeval/kwargs.h"
#include "rewards/ifeval/text_scan.h"

namespace caravan::rewards::ifeval {
namespace {

using nlohmann::json;

// ---- argument helpers --------------------------------------------------------------------------

enum class Quantifier { kAtLeast, kAround, kAtMost };

Result<Quantifier> quantifier(const Kwargs& kwargs) {
  CARAVAN_ASSIGN_OR_RETURN(std::string text, kwargs.string("quantifier"));
  if (text == "at least") return Quantifier::kAtLeast;
  if (text == "around") return Quantifier::kAround;
  if (text == "at most") return Quantifier::kAtMost;
  return kwargs.missing("quantifier", "one of 'at least', 'around', 'at most'");
}

// `actual` against `n`; "around" allows +-`around_tolerance`.
bool quantity_holds(std::int64_t actual, Quantifier quantifier, std::int64_t n, std::int64_t around_tolerance) {
  switch (quantifier) {
    case Quantifier::kAtLeast:
      return actual >= n;
    case Quantifier::kAround:
      return std::llabs(actual - n) <= around_tolerance;
    case Quantifier::kAtMost:
      return actual <= n;
  }
  return false;
}

// open-instruct's max(round(N * 0.1), 1); Python's round() halves to even, as nearbyint does in
// the default rounding mode.
std::int64_t ten_percent_tolerance(std::int64_t n) {
  return std::max<std::int64_t>(static_cast<std::int64_t>(std::nearbyint(static_cast<double>(n) * 0.1)), 1);
}

// Reads one Python string literal ('...' or "...", backslash escapes kept literal except \\, \'
// and \") starting at text[*at]; advances *at past it.
std::optional<std::string> read_python_string(std::string_view text, std::size_t* at) {
  const char quote = text[*at];
  std::string value;
  for (std::size_t i = *at + 1; i < text.size(); ++i) {
    if (text[i] == quote) {
      *at = i + 1;
      return value;
    }
    if (text[i] == '\\' && i + 1 < text.size() &&
        (text[i + 1] == '\\' || text[i + 1] == '\'' || text[i + 1] == '"')) {
      ++i;
    }
    value += text[i];
  }
  return std::nullopt;
}

// "('a', 'b')" or "['a', \"b\"]" -> {"a", "b"}; nullopt for anything else.
std::optional<std::vector<std::string>> parse_python_string_sequence(std::string_view text) {
  text = trim_ascii(text);
  if (text.size() < 2 || !((text.front() == '(' && text.back() == ')') || (text.front() == '[' && text.back() == ']'))) {
    return std::nullopt;
  }
  const std::string_view body = text.substr(1, text.size() - 2);
  std::vector<std::string> items;
  std::size_t at = 0;
  const auto skip_spaces = [&] {
    while (at < body.size() && is_ascii_space(body[at])) ++at;
  };
  skip_spaces();
  while (at < body.size()) {
    if (body[at] != '\'' && body[at] != '"') return std::nullopt;
    std::optional<std::string> item = read_python_string(body, &at);
    if (!item) return std::nullopt;
    items.push_back(std::move(*item));
    skip_spaces();
    if (at < body.size()) {
      if (body[at] != ',') return std::nullopt;
      ++at;
      skip_spaces();
    }
  }
  if (items.empty()) return std::nullopt;
  return items;
}

Result<std::vector<std::string>> options(const Kwargs& kwargs) {
  if (const json* value = kwargs.find("options"); value != nullptr && value->is_string()) {
    if (auto parsed = parse_python_string_sequence(value->get<std::string>())) return std::move(*parsed);
    return kwargs.missing("options", "a list of strings or a Python tuple of string literals");
  }
  return kwargs.strings("options");
}

// ---- the functions (open_instruct/if_functions.py) ----------------------------------------------

using Function = Result<bool> (*)(const Kwargs& kwargs, std::string_view text);

Result<bool> verify_keywords(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> keywords, kwargs.strings("keyword_list"));
  const std::string lower = to_lower(text);
  return std::all_of(keywords.begin(), keywords.end(),
                     [&](const std::string& keyword) { return lower.find(to_lower(keyword)) != std::string::npos; });
}

// Whole \w+ words equal to `word` (case-insensitive), exactly N of them.
Result<bool> verify_keyword_frequency(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::string word, kwargs.string("word"));
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  const std::string lower = to_lower(text);
  const std::string keyword = to_lower(word);
  const std::vector<std::string_view> words = word_runs(lower);
  return std::count(words.begin(), words.end(), keyword) == n;
}

Result<bool> validate_forbidden_words(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> words, kwargs.strings("forbidden_words"));
  const std::string lower = to_lower(text);
  return std::none_of(words.begin(), words.end(),
                      [&](const std::string& word) { return lower.find(to_lower(word)) != std::string::npos; });
}

// Case-sensitive count of one character, exactly N.
Result<bool> verify_letter_frequency(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::string letter, kwargs.string("letter"));
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  if (count_code_points(letter) != 1) return kwargs.missing("letter", "a single character");
  return static_cast<std::int64_t>(count_occurrences(text, letter)) == n;
}

Result<bool> validate_response_language(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::string language, kwargs.string("language"));
  return is_language(text, language);
}

// Exactly N non-blank paragraphs separated by "* * *".
Result<bool> verify_paragraph_count(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  const std::vector<std::string_view> paragraphs = split(python_strip(text), "* * *");
  const bool all_filled = std::none_of(paragraphs.begin(), paragraphs.end(),
                                       [](std::string_view p) { return python_strip(p).empty(); });
  return all_filled && static_cast<std::int64_t>(paragraphs.size()) == n;
}

// Whitespace-separated words (str.split()).
Result<bool> validate_word_constraint(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  CARAVAN_ASSIGN_OR_RETURN(Quantifier q, quantifier(kwargs));
  std::int64_t words = 0;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size();) {
    const CodePoint cp = decode_utf8(text, i);
    const bool space = is_python_space(cp.value);
    if (!space && !in_word) ++words;
    in_word = !space;
    i += cp.length;
  }
  return quantity_holds(words, q, n, ten_percent_tolerance(n));
}

// Pieces of re.split(r"(?<!\w\.\w.)(?<![A-Z][a-z]\.)(?<=\.|\?|!)\s", text): one more than the
// whitespace characters that follow '.', '?' or '!' and are not after "x.y." or "Mr.".
Result<bool> verify_sentence_constraint(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  CARAVAN_ASSIGN_OR_RETURN(Quantifier q, quantifier(kwargs));
  std::vector<char32_t> cps;
  for (std::size_t i = 0; i < text.size();) {
    const CodePoint cp = decode_utf8(text, i);
    cps.push_back(cp.value);
    i += cp.length;
  }
  const auto upper = [](char32_t c) { return c >= 'A' && c <= 'Z'; };
  const auto lower = [](char32_t c) { return c >= 'a' && c <= 'z'; };
  std::int64_t sentences = 1;
  for (std::size_t i = 1; i < cps.size(); ++i) {
    const char32_t end = cps[i - 1];
    if (!is_python_space(cps[i]) || (end != '.' && end != '?' && end != '!')) continue;
    if (i >= 4 && is_word_code_point(cps[i - 4]) && cps[i - 3] == '.' && is_word_code_point(cps[i - 2])) continue;
    if (i >= 3 && upper(cps[i - 3]) && lower(cps[i - 2]) && end == '.') continue;
    ++sentences;
  }
  return quantity_holds(sentences, q, n, /*around_tolerance=*/1);
}

// Exactly N pieces split by "\n\n", the i-th (1-based) starting with first_word.
Result<bool> validate_paragraphs(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t index, kwargs.count("i"));
  CARAVAN_ASSIGN_OR_RETURN(std::string first_word, kwargs.string("first_word"));
  if (index < 1 || index > n) return kwargs.missing("i", str_cat("a paragraph index in 1..", n));
  const std::vector<std::string_view> paragraphs = split(text, "\n\n");
  if (static_cast<std::int64_t>(paragraphs.size()) != n) return false;
  return python_strip(paragraphs[static_cast<std::size_t>(index - 1)]).starts_with(first_word);
}

// The marker occurs and something follows its first occurrence.
Result<bool> verify_postscript(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::string marker, kwargs.string("postscript_marker"));
  const std::size_t at = text.find(marker);
  if (at == std::string_view::npos) return false;
  return count_code_points(python_strip(text.substr(at))) > count_code_points(marker);
}

Result<bool> validate_placeholders(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  return static_cast<std::int64_t>(delimited_spans(text, '[', ']').size()) >= n;
}

// Lines starting (after whitespace) with '*' or '-', exactly N.
Result<bool> verify_bullet_points(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  std::int64_t bullets = 0;
  for (std::string_view line : split(text, "\n")) {
    const std::string_view stripped = python_strip(line);
    if (stripped.starts_with('*') || stripped.starts_with('-')) ++bullets;
  }
  return bullets == n;
}

// Some line has "<<" and a later ">>" (r"<<(.*?)>>", the title may be empty).
Result<bool> validate_title(const Kwargs& /*kwargs*/, std::string_view text) {
  for (std::string_view line : split(text, "\n")) {
    const std::size_t open = line.find("<<");
    if (open == std::string_view::npos) continue;
    const std::size_t close = line.rfind(">>");
    if (close != std::string_view::npos && close >= open + 2) return true;
  }
  return false;
}

Result<bool> validate_choice(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> choices, options(kwargs));
  return std::any_of(choices.begin(), choices.end(),
                     [&](const std::string& option) { return text.find(option) != std::string_view::npos; });
}

// At least N "*...*" spans (r"\*(.*?)\*", empty spans count).
Result<bool> validate_highlighted_sections(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  return static_cast<std::int64_t>(delimited_spans(text, '*', '*').size()) >= n;
}

// At least N headers "<splitter><optional whitespace><digits>", case-insensitive
// (re.split(r"\s?" + splitter + r"\s?\d+\s?", flags=IGNORECASE) minus one).
Result<bool> validate_sections(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  CARAVAN_ASSIGN_OR_RETURN(std::string splitter, kwargs.string("section_splitter"));
  if (splitter.empty()) return kwargs.missing("section_splitter", "a non-empty string");
  const std::string lower = to_lower(text);
  const std::string needle = to_lower(splitter);
  std::int64_t headers = 0;
  std::size_t at = lower.find(needle);
  while (at != std::string::npos) {
    std::size_t i = at + needle.size();
    if (i < lower.size()) {
      const CodePoint cp = decode_utf8(lower, i);
      if (is_python_space(cp.value) && i + cp.length < lower.size() && is_ascii_digit(lower[i + cp.length])) {
        i += cp.length;
      }
    }
    if (i < lower.size() && is_ascii_digit(lower[i])) {
      while (i < lower.size() && is_ascii_digit(lower[i])) ++i;
      ++headers;
      at = lower.find(needle, i);
    } else {
      at = lower.find(needle, at + 1);
    }
  }
  return headers >= n;
}

Result<bool> validate_json_format(const Kwargs& /*kwargs*/, std::string_view text) { return json::accept(text); }

Result<bool> validate_repeat_prompt(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::string prompt, kwargs.string("original_prompt"));
  return text.starts_with(prompt);
}

// Exactly one "******" and two different answers around it.
Result<bool> validate_two_responses(const Kwargs& /*kwargs*/, std::string_view text) {
  if (count_occurrences(text, "******") != 1) return false;
  const std::vector<std::string_view> parts = split(text, "******");
  return python_strip(parts[0]) != python_strip(parts[1]);
}

Result<bool> validate_uppercase(const Kwargs& /*kwargs*/, std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

Result<bool> validate_lowercase(const Kwargs& /*kwargs*/, std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// Whole words of capital ASCII letters only (r"\b[A-Z]+\b").
Result<bool> validate_frequency_capital_words(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("N"));
  CARAVAN_ASSIGN_OR_RETURN(Quantifier q, quantifier(kwargs));
  std::int64_t capital = 0;
  for (std::string_view word : word_runs(text)) {
    capital += std::all_of(word.begin(), word.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) ? 1 : 0;
  }
  return quantity_holds(capital, q, n, ten_percent_tolerance(n));
}

Result<bool> validate_end(const Kwargs& kwargs, std::string_view text) {
  CARAVAN_ASSIGN_OR_RETURN(std::string end_phrase, kwargs.string("end_phrase"));
  return text.ends_with(end_phrase);
}

Result<bool> validate_quotation(const Kwargs& /*kwargs*/, std::string_view text) {
  return text.starts_with('"') && text.ends_with('"');
}

Result<bool> validate_no_commas(const Kwargs& /*kwargs*/, std::string_view text) {
  return text.find(',') == std::string_view::npos;
}

struct Entry {
  std::string_view name;
  Function function;
  // The arguments it takes besides the text.
  std::initializer_list<std::string_view> parameters;
};

const std::array<Entry, 25> kFunctions{{
    {"verify_keywords", &verify_keywords, {"keyword_list"}},
    {"verify_keyword_frequency", &verify_keyword_frequency, {"word", "N"}},
    {"validate_forbidden_words", &validate_forbidden_words, {"forbidden_words"}},
    {"verify_letter_frequency", &verify_letter_frequency, {"letter", "N"}},
    {"validate_response_language", &validate_response_language, {"language"}},
    {"verify_paragraph_count", &verify_paragraph_count, {"N"}},
    {"validate_word_constraint", &validate_word_constraint, {"N", "quantifier"}},
    {"verify_sentence_constraint", &verify_sentence_constraint, {"N", "quantifier"}},
    {"validate_paragraphs", &validate_paragraphs, {"N", "first_word", "i"}},
    {"verify_postscript", &verify_postscript, {"postscript_marker"}},
    {"validate_placeholders", &validate_placeholders, {"N"}},
    {"verify_bullet_points", &verify_bullet_points, {"N"}},
    {"validate_title", &validate_title, {}},
    {"validate_choice", &validate_choice, {"options"}},
    {"validate_highlighted_sections", &validate_highlighted_sections, {"N"}},
    {"validate_sections", &validate_sections, {"N", "section_splitter"}},
    {"validate_json_format", &validate_json_format, {}},
    {"validate_repeat_prompt", &validate_repeat_prompt, {"original_prompt"}},
    {"validate_two_responses", &validate_two_responses, {}},
    {"validate_uppercase", &validate_uppercase, {}},
    {"validate_lowercase", &validate_lowercase, {}},
    {"validate_frequency_capital_words", &validate_frequency_capital_words, {"N", "quantifier"}},
    {"validate_end", &validate_end, {"end_phrase"}},
    {"validate_quotation", &validate_quotation, {}},
    {"validate_no_commas", &validate_no_commas, {}},
}};

// kInvalidArgument for a non-null argument the function does not take (Python: TypeError).
Status check_no_unexpected_arguments(const Entry& entry, const json& constraint) {
  for (const auto& [key, value] : constraint.items()) {
    if (key == kFuncNameKey || value.is_null()) continue;
    if (std::find(entry.parameters.begin(), entry.parameters.end(), key) != entry.parameters.end()) continue;
    std::string takes;
    for (std::string_view parameter : entry.parameters) takes += str_cat(takes.empty() ? "" : ", ", parameter);
    return Status::invalid_argument(str_cat("function '", entry.name, "': unexpected argument '", key,
                                            "' (it takes: ", takes.empty() ? "nothing" : takes, ")"));
  }
  return Status::ok_status();
}

} // namespace

Result<bool> check_if_function(const json& constraint, std::string_view response) {
  if (!constraint.is_object()) return Status::invalid_argument("constraint is not a JSON object");
  const auto name = constraint.find(kFuncNameKey);
  if (name == constraint.end() || !name->is_string()) {
    return Status::invalid_argument(str_cat("constraint has no string '", kFuncNameKey, "'"));
  }
  const std::string& func_name = name->get_ref<const std::string&>();
  for (const Entry& entry : kFunctions) {
    if (entry.name != func_name) continue;
    CARAVAN_RETURN_IF_ERROR(check_no_unexpected_arguments(entry, constraint));
    return entry.function(Kwargs(entry.name, constraint), response);
  }
  return Status::invalid_argument(str_cat("unknown function '", func_name, "'"));
}

const std::vector<std::string_view>& supported_if_functions() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const Entry& entry : kFunctions) out.push_back(entry.name);
    return out;
  }();
  return names;
}

} // namespace caravan::rewards::ifeval
