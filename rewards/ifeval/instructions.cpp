#include "rewards/ifeval/instructions.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "core/str_cat.h"
#include "rewards/ascii.h"
#include "rewards/ifeval/kwargs.h"
#include "rewards/ifeval/latin_language.h"
#include "rewards/ifeval/text_scan.h"

namespace caravan::rewards::ifeval {
namespace {

using nlohmann::json;

// Word-character test for a single byte (regex \b approximation): ASCII alnum, '_' or any
// non-ASCII byte.
bool is_word_byte(char c) { return is_ascii_alnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }

// Python's str.isupper() (`upper`) or str.islower() over ASCII letters: at least one letter of
// that case and none of the other. Non-ASCII letters are ignored.
bool ascii_has_only_case(std::string_view text, bool upper) {
  const char wanted = upper ? 'A' : 'a';
  const char other = upper ? 'a' : 'A';
  bool cased = false;
  for (char c : text) {
    if (c >= other && c <= other + 25) return false;
    if (c >= wanted && c <= wanted + 25) cased = true;
  }
  return cased;
}

// Whether `text` is empty or ASCII whitespace only.
bool is_blank(std::string_view text) { return trim_ascii(text).empty(); }

std::string_view remove_prefix(std::string_view text, std::string_view prefix) {
  if (text.starts_with(prefix)) text.remove_prefix(prefix.size());
  return text;
}

// ---- checkers ----------------------------------------------------------------------------------

using Checker = Result<bool> (*)(const Kwargs& kwargs, std::string_view response);

Result<bool> check_keywords_existence(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> keywords, kwargs.strings("keywords"));
  const std::string lower = to_lower(response);
  for (const std::string& keyword : keywords) {
    if (lower.find(to_lower(keyword)) == std::string::npos) return false;
  }
  return true;
}

Result<bool> check_keywords_frequency(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::string keyword, kwargs.string("keyword"));
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t frequency, kwargs.count("frequency"));
  CARAVAN_ASSIGN_OR_RETURN(Relation relation, kwargs.relation("relation"));
  if (keyword.empty()) return kwargs.missing("keyword", "a non-empty string");
  const auto actual = static_cast<std::int64_t>(count_occurrences(to_lower(response), to_lower(keyword)));
  return relation_holds(actual, relation, frequency);
}

// \bword\b, case-insensitive.
Result<bool> check_forbidden_words(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> words, kwargs.strings("forbidden_words"));
  const std::string lower = to_lower(response);
  for (const std::string& raw : words) {
    const std::string word = to_lower(raw);
    if (word.empty()) continue;
    for (std::size_t at = lower.find(word); at != std::string::npos; at = lower.find(word, at + 1)) {
      const bool before_word = at > 0 && is_word_byte(lower[at - 1]);
      const bool after_word = at + word.size() < lower.size() && is_word_byte(lower[at + word.size()]);
      const bool left_boundary = before_word != is_word_byte(word.front());
      const bool right_boundary = after_word != is_word_byte(word.back());
      if (left_boundary && right_boundary) return false;
    }
  }
  return true;
}

Result<bool> check_letter_frequency(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::string letter, kwargs.string("letter"));
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t frequency, kwargs.count("let_frequency"));
  CARAVAN_ASSIGN_OR_RETURN(Relation relation, kwargs.relation("let_relation"));
  if (letter.empty()) return kwargs.missing("letter", "a non-empty string");
  const auto actual = static_cast<std::int64_t>(count_occurrences(to_lower(response), to_lower(letter)));
  return relation_holds(actual, relation, frequency);
}

Result<bool> check_response_language(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::string language, kwargs.string("language"));
  return is_language(response, language);
}

Result<bool> check_number_sentences(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("num_sentences"));
  CARAVAN_ASSIGN_OR_RETURN(Relation relation, kwargs.relation("relation"));
  return relation_holds(static_cast<std::int64_t>(count_sentences(response)), relation, n);
}

// Paragraphs separated by the markdown divider "***" (IFEval: re.split(r"\s?\*\*\*\s?")). Empty
// first/last pieces are dropped; an empty middle piece fails.
Result<bool> check_number_paragraphs(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("num_paragraphs"));
  const std::vector<std::string_view> parts = split(response, "***");
  std::int64_t paragraphs = static_cast<std::int64_t>(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!is_blank(parts[i])) continue;
    if (i == 0 || i + 1 == parts.size()) {
      --paragraphs;
    } else {
      return false;
    }
  }
  return paragraphs == n;
}

Result<bool> check_number_words(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("num_words"));
  CARAVAN_ASSIGN_OR_RETURN(Relation relation, kwargs.relation("relation"));
  return relation_holds(static_cast<std::int64_t>(count_words(response)), relation, n);
}

// Paragraphs split by "\n\n"; the count must equal num_paragraphs (blank pieces not counted) and
// paragraph nth_paragraph (1-based, over the raw pieces as IFEval does) must start with
// first_word (case-insensitive, leading quotes dropped, cut at . , ? ! ' ").
Result<bool> check_nth_paragraph_first_word(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t expected_paragraphs, kwargs.count("num_paragraphs"));
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t nth, kwargs.count("nth_paragraph"));
  CARAVAN_ASSIGN_OR_RETURN(std::string expected_word, kwargs.string("first_word"));
  if (nth < 1) return kwargs.missing("nth_paragraph", "a positive integer");
  const std::vector<std::string_view> parts = split(response, "\n\n");
  std::int64_t paragraphs = 0;
  for (std::string_view part : parts) paragraphs += is_blank(part) ? 0 : 1;
  if (nth > paragraphs) return false;
  const std::string_view paragraph = trim_ascii(parts[static_cast<std::size_t>(nth - 1)]);
  if (paragraph.empty()) return false;
  std::size_t word_end = 0;
  while (word_end < paragraph.size() && !is_ascii_space(paragraph[word_end])) ++word_end;
  std::string_view word = paragraph.substr(0, word_end);
  while (!word.empty() && word.front() == '\'') word.remove_prefix(1);
  while (!word.empty() && word.front() == '"') word.remove_prefix(1);
  std::string first_word;
  for (char c : word) {
    if (c == '.' || c == ',' || c == '?' || c == '!' || c == '\'' || c == '"') break;
    first_word += lower_ascii(c);
  }
  return paragraphs == expected_paragraphs && first_word == to_lower(expected_word);
}

// Placeholders are non-greedy "[...]" spans on one line, possibly empty (IFEval r"\[.*?\]").
Result<bool> check_number_placeholders(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("num_placeholders"));
  return static_cast<std::int64_t>(delimited_spans(response, '[', ']').size()) >= n;
}

// Matches `pattern` at `at` in `text`, where ' ' in the pattern is an optional single
// whitespace character (regex "\s?").
bool match_with_optional_spaces(std::string_view text, std::size_t at, std::string_view pattern) {
  for (char p : pattern) {
    if (p == ' ') {
      if (at < text.size() && is_ascii_space(text[at])) ++at;
      continue;
    }
    if (at >= text.size() || text[at] != p) return false;
    ++at;
  }
  return true;
}

// "P.P.S" matches "p. p. s" / "p.p.s"; "P.S." matches "p. s." / "p.s."; any other marker is a
// case-insensitive substring.
Result<bool> check_postscript(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::string marker, kwargs.string("postscript_marker"));
  const std::string lower = to_lower(response);
  std::string_view pattern;
  if (marker == "P.P.S") {
    pattern = "p. p. s";
  } else if (marker == "P.S.") {
    pattern = "p. s.";
  } else {
    return lower.find(to_lower(marker)) != std::string::npos;
  }
  for (std::size_t at = lower.find('p'); at != std::string::npos; at = lower.find('p', at + 1)) {
    if (match_with_optional_spaces(lower, at, pattern)) return true;
  }
  return false;
}

// Lines that (after leading whitespace) start with "*" not followed by "*", or with "-".
Result<bool> check_number_bullet_lists(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("num_bullets"));
  std::int64_t bullets = 0;
  for (std::string_view line : split(response, "\n")) {
    std::size_t i = 0;
    while (i < line.size() && is_ascii_space(line[i])) ++i;
    if (i >= line.size()) continue;
    if (line[i] == '-' || (line[i] == '*' && i + 1 < line.size() && line[i + 1] != '*')) ++bullets;
  }
  return bullets == n;
}

Result<bool> check_constrained_response(const Kwargs& /*kwargs*/, std::string_view response) {
  const std::string_view trimmed = trim_ascii(response);
  for (std::string_view option : {"My answer is yes.", "My answer is no.", "My answer is maybe."}) {
    if (trimmed.find(option) != std::string_view::npos) return true;
  }
  return false;
}

// Counts non-empty "*text*" (IFEval r"\*[^\n\*]*\*") plus non-empty "**text**" spans.
Result<bool> check_number_highlighted_sections(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("num_highlights"));
  const auto count_spans = [&](std::string_view delimiter) {
    std::int64_t count = 0;
    std::size_t i = 0;
    while (i < response.size()) {
      if (response.substr(i, delimiter.size()) != delimiter) {
        ++i;
        continue;
      }
      std::size_t j = i + delimiter.size();
      while (j < response.size() && response[j] != '\n' && response[j] != '*') ++j;
      if (response.substr(j, delimiter.size()) == delimiter) {
        const std::string_view inner = response.substr(i + delimiter.size(), j - i - delimiter.size());
        if (!is_blank(inner)) ++count;
        i = j + delimiter.size();
      } else {
        ++i;
      }
    }
    return count;
  };
  return count_spans("*") + count_spans("**") >= n;
}

// Sections start with `section_spliter` followed by an optional whitespace and a number
// ("SECTION 1"); case-sensitive.
Result<bool> check_multiple_sections(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::string splitter, kwargs.string("section_spliter"));
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("num_sections"));
  if (splitter.empty()) return kwargs.missing("section_spliter", "a non-empty string");
  std::int64_t sections = 0;
  std::size_t at = response.find(splitter);
  while (at != std::string_view::npos) {
    std::size_t i = at + splitter.size();
    if (i < response.size() && is_ascii_space(response[i]) && i + 1 < response.size() &&
        is_ascii_digit(response[i + 1])) {
      ++i;
    }
    if (i < response.size() && is_ascii_digit(response[i])) {
      while (i < response.size() && is_ascii_digit(response[i])) ++i;
      ++sections;
      at = response.find(splitter, i);
    } else {
      at = response.find(splitter, at + 1);
    }
  }
  return sections >= n;
}

Result<bool> check_json_format(const Kwargs& /*kwargs*/, std::string_view response) {
  std::string_view value = trim_ascii(response);
  value = remove_prefix(value, "```json");
  value = remove_prefix(value, "```Json");
  value = remove_prefix(value, "```JSON");
  value = remove_prefix(value, "```");
  if (value.ends_with("```")) value.remove_suffix(3);
  value = trim_ascii(value);
  return json::accept(value);
}

// A "<<title>>" on one line with non-blank content. Per line, IFEval's greedy r"<<[^\n]+>>" spans
// from the first "<<" to the last ">>" (at least one character between), so one scan per line.
Result<bool> check_title(const Kwargs& /*kwargs*/, std::string_view response) {
  for (std::string_view line : split(response, "\n")) {
    const std::size_t open = line.find("<<");
    const std::size_t close = line.rfind(">>");
    if (open == std::string_view::npos || close == std::string_view::npos || close < open + 3) continue;
    std::string_view title = line.substr(open, close + 2 - open);
    while (!title.empty() && title.front() == '<') title.remove_prefix(1);
    while (!title.empty() && title.back() == '>') title.remove_suffix(1);
    if (!is_blank(title)) return true;
  }
  return false;
}

// Exactly two non-blank, different responses separated by "******".
Result<bool> check_two_responses(const Kwargs& /*kwargs*/, std::string_view response) {
  const std::vector<std::string_view> parts = split(response, "******");
  std::vector<std::string_view> valid;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (is_blank(parts[i])) {
      if (i != 0 && i + 1 != parts.size()) return false;
    } else {
      valid.push_back(trim_ascii(parts[i]));
    }
  }
  return valid.size() == 2 && valid[0] != valid[1];
}

Result<bool> check_repeat_prompt(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::string prompt, kwargs.string("prompt_to_repeat"));
  return to_lower(trim_ascii(response)).starts_with(to_lower(trim_ascii(prompt)));
}

Result<bool> check_end_checker(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::string end_phrase, kwargs.string("end_phrase"));
  std::string_view value = trim_ascii(response);
  while (!value.empty() && value.front() == '"') value.remove_prefix(1);
  while (!value.empty() && value.back() == '"') value.remove_suffix(1);
  return to_lower(value).ends_with(to_lower(trim_ascii(end_phrase)));
}

Result<bool> check_quotation(const Kwargs& /*kwargs*/, std::string_view response) {
  const std::string_view value = trim_ascii(response);
  return value.size() > 1 && value.front() == '"' && value.back() == '"';
}

// Words (\w runs) whose ASCII letters are all upper case (at least one).
Result<bool> check_capital_word_frequency(const Kwargs& kwargs, std::string_view response) {
  CARAVAN_ASSIGN_OR_RETURN(std::int64_t n, kwargs.count("capital_frequency"));
  CARAVAN_ASSIGN_OR_RETURN(Relation relation, kwargs.relation("capital_relation"));
  std::int64_t capital = 0;
  for (std::string_view word : word_runs(response)) capital += ascii_has_only_case(word, /*upper=*/true) ? 1 : 0;
  return relation_holds(capital, relation, n);
}

Result<bool> check_english_capital(const Kwargs& /*kwargs*/, std::string_view response) {
  if (!ascii_has_only_case(response, /*upper=*/true)) return false;
  return is_language(response, "en");
}

Result<bool> check_english_lowercase(const Kwargs& /*kwargs*/, std::string_view response) {
  if (!ascii_has_only_case(response, /*upper=*/false)) return false;
  return is_language(response, "en");
}

Result<bool> check_no_comma(const Kwargs& /*kwargs*/, std::string_view response) {
  return response.find(',') == std::string_view::npos;
}

struct Entry {
  std::string_view id;
  Checker checker;
};

constexpr std::array<Entry, 25> kCheckers{{
    {"keywords:existence", &check_keywords_existence},
    {"keywords:frequency", &check_keywords_frequency},
    {"keywords:forbidden_words", &check_forbidden_words},
    {"keywords:letter_frequency", &check_letter_frequency},
    {"language:response_language", &check_response_language},
    {"length_constraints:number_sentences", &check_number_sentences},
    {"length_constraints:number_paragraphs", &check_number_paragraphs},
    {"length_constraints:number_words", &check_number_words},
    {"length_constraints:nth_paragraph_first_word", &check_nth_paragraph_first_word},
    {"detectable_content:number_placeholders", &check_number_placeholders},
    {"detectable_content:postscript", &check_postscript},
    {"detectable_format:number_bullet_lists", &check_number_bullet_lists},
    {"detectable_format:constrained_response", &check_constrained_response},
    {"detectable_format:number_highlighted_sections", &check_number_highlighted_sections},
    {"detectable_format:multiple_sections", &check_multiple_sections},
    {"detectable_format:json_format", &check_json_format},
    {"detectable_format:title", &check_title},
    {"combination:two_responses", &check_two_responses},
    {"combination:repeat_prompt", &check_repeat_prompt},
    {"startend:end_checker", &check_end_checker},
    {"startend:quotation", &check_quotation},
    {"change_case:capital_word_frequency", &check_capital_word_frequency},
    {"change_case:english_capital", &check_english_capital},
    {"change_case:english_lowercase", &check_english_lowercase},
    {"punctuation:no_comma", &check_no_comma},
}};

// ---- sentences -------------------------------------------------------------------------------

bool is_abbreviation(std::string_view word) {
  static constexpr std::array<std::string_view, 16> kAbbreviations{
      "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co", "no"};
  const std::string lower = to_lower(word);
  if (word.size() == 1 && word[0] >= 'A' && word[0] <= 'Z') return true; // initial
  return std::find(kAbbreviations.begin(), kAbbreviations.end(), lower) != kAbbreviations.end();
}

// ---- scripts ---------------------------------------------------------------------------------

Script script_of(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return Script::kLatin;
  if (c < 0x80) return Script::kNone;
  if ((c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x1E00 && c <= 0x1EFF))
    return Script::kLatin;
  if ((c >= 0x370 && c <= 0x3FF) || (c >= 0x1F00 && c <= 0x1FFF)) return Script::kGreek;
  if (c >= 0x400 && c <= 0x52F) return Script::kCyrillic;
  if (c >= 0x5D0 && c <= 0x5FF) return Script::kHebrew;
  if ((c >= 0x620 && c <= 0x64A) || (c >= 0x66E && c <= 0x6FF) || (c >= 0x750 && c <= 0x77F) ||
      (c >= 0x8A0 && c <= 0x8FF) || (c >= 0xFB50 && c <= 0xFDFF) || (c >= 0xFE70 && c <= 0xFEFF)) {
    return Script::kArabic;
  }
  if (c >= 0x900 && c <= 0x97F) return Script::kDevanagari;
  if (c >= 0x980 && c <= 0x9FF) return Script::kBengali;
  if (c >= 0xA00 && c <= 0xA7F) return Script::kGurmukhi;
  if (c >= 0xA80 && c <= 0xAFF) return Script::kGujarati;
  if (c >= 0xB80 && c <= 0xBFF) return Script::kTamil;
  if (c >= 0xC00 && c <= 0xC7F) return Script::kTelugu;
  if (c >= 0xC80 && c <= 0xCFF) return Script::kKannada;
  if (c >= 0xD00 && c <= 0xD7F) return Script::kMalayalam;
  if (c >= 0xE00 && c <= 0xE7F) return Script::kThai;
  if ((c >= 0x1100 && c <= 0x11FF) || (c >= 0x3130 && c <= 0x318F) || (c >= 0xAC00 && c <= 0xD7AF)) {
    return Script::kHangul;
  }
  if ((c >= 0x3041 && c <= 0x30FF && c != 0x30FB && c != 0x30FC) || (c >= 0x31F0 && c <= 0x31FF) ||
      (c >= 0xFF66 && c <= 0xFF9F)) {
    return Script::kKana;
  }
  if ((c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
      (c >= 0x20000 && c <= 0x2FFFF)) {
    return Script::kHan;
  }
  return Script::kNone;
}

struct LanguageScript {
  std::string_view code;
  Script script;
};

// Non-Latin languages, decided by script alone; Latin-script ones by latin_language.h.
constexpr std::array<LanguageScript, 27> kLanguages{{
    {"ar", Script::kArabic},     {"fa", Script::kArabic},     {"ur", Script::kArabic},
    {"ru", Script::kCyrillic},   {"uk", Script::kCyrillic},   {"bg", Script::kCyrillic},
    {"mk", Script::kCyrillic},   {"sr", Script::kCyrillic},   {"hi", Script::kDevanagari},
    {"mr", Script::kDevanagari}, {"ne", Script::kDevanagari}, {"el", Script::kGreek},
    {"he", Script::kHebrew},     {"iw", Script::kHebrew},     {"th", Script::kThai},
    {"ko", Script::kHangul},     {"ja", Script::kKana},       {"zh", Script::kHan},
    {"zh-cn", Script::kHan},     {"zh-tw", Script::kHan},     {"bn", Script::kBengali},
    {"pa", Script::kGurmukhi},   {"gu", Script::kGujarati},   {"ta", Script::kTamil},
    {"te", Script::kTelugu},     {"kn", Script::kKannada},    {"ml", Script::kMalayalam},
}};

} // namespace

Result<Relation> parse_relation(std::string_view text) {
  if (text == "less than") return Relation::kLessThan;
  if (text == "at least") return Relation::kAtLeast;
  return Status::invalid_argument(str_cat("relation must be 'less than' or 'at least', got '", text, "'"));
}

bool relation_holds(std::int64_t actual, Relation relation, std::int64_t threshold) {
  switch (relation) {
    case Relation::kLessThan:
      return actual < threshold;
    case Relation::kAtLeast:
      return actual >= threshold;
  }
  return false;
}

Result<bool> check_instruction(std::string_view instruction_id, const json& kwargs,
                               std::string_view response) {
  static const json kEmpty = json::object();
  if (!kwargs.is_null() && !kwargs.is_object()) {
    return Status::invalid_argument(str_cat("instruction '", instruction_id, "': kwargs must be an object"));
  }
  for (const Entry& entry : kCheckers) {
    if (entry.id == instruction_id) {
      return entry.checker(Kwargs(instruction_id, kwargs.is_null() ? kEmpty : kwargs), response);
    }
  }
  return Status::invalid_argument(str_cat("unknown instruction id '", instruction_id, "'"));
}

const std::vector<std::string_view>& supported_instruction_ids() {
  static const std::vector<std::string_view> ids = [] {
    std::vector<std::string_view> out;
    for (const Entry& entry : kCheckers) out.push_back(entry.id);
    return out;
  }();
  return ids;
}

std::size_t count_words(std::string_view text) { return word_runs(text).size(); }

std::size_t count_sentences(std::string_view text) {
  std::size_t sentences = 0;
  bool has_content = false; // non-space text since the last sentence end
  std::size_t word_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '.' && c != '!' && c != '?') {
      if (is_ascii_space(c)) {
        word_start = i + 1;
      } else {
        has_content = true;
      }
      ++i;
      continue;
    }
    const std::size_t run_start = i;
    while (i < text.size() && (text[i] == '.' || text[i] == '!' || text[i] == '?')) ++i;
    std::size_t after = i;
    while (after < text.size() && (text[after] == '"' || text[after] == '\'' || text[after] == ')')) ++after;
    const bool at_boundary = after >= text.size() || is_ascii_space(text[after]);
    if (!at_boundary) {
      has_content = true;
      continue;
    }
    const std::string_view word = text.substr(word_start, run_start - word_start);
    const bool abbreviation = text[run_start] == '.' && i - run_start == 1 && is_abbreviation(word);
    if (abbreviation || !has_content) continue;
    ++sentences;
    has_content = false;
    i = after;
  }
  return sentences + (has_content ? 1 : 0);
}

Script dominant_script(std::string_view text) {
  std::array<std::size_t, static_cast<std::size_t>(Script::kKana) + 1> counts{};
  for (std::size_t i = 0; i < text.size();) {
    const CodePoint cp = decode_utf8(text, i);
    ++counts[static_cast<std::size_t>(script_of(cp.value))];
    i += cp.length;
  }
  counts[static_cast<std::size_t>(Script::kNone)] = 0;
  const std::size_t kana = counts[static_cast<std::size_t>(Script::kKana)];
  const std::size_t cjk = kana + counts[static_cast<std::size_t>(Script::kHan)];
  counts[static_cast<std::size_t>(Script::kKana)] = 0;
  counts[static_cast<std::size_t>(Script::kHan)] = cjk;
  const auto best = std::max_element(counts.begin(), counts.end());
  if (*best == 0) return Script::kNone;
  const auto script = static_cast<Script>(best - counts.begin());
  if (script == Script::kHan && kana > 0) return Script::kKana;
  return script;
}

Result<bool> is_language(std::string_view text, std::string_view language) {
  if (is_detectable_latin_language(language)) {
    if (dominant_script(text) != Script::kLatin) return false;
    const std::string_view detected = detect_latin_language(text);
    // Latin text without any function word ("OK", "HELLO WORLD") counts as English only.
    return detected == language || (detected.empty() && language == "en");
  }
  for (const LanguageScript& entry : kLanguages) {
    if (entry.code == language) return dominant_script(text) == entry.script;
  }
  return Status::invalid_argument(str_cat("language '", language, "' is not supported by the language detector"));
}

} // namespace caravan::rewards::ifeval
