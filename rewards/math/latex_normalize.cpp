#include "rewards/math/latex_normalize.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <utility>

#include <gmpxx.h>

#include "rewards/ascii.h"

namespace caravan::rewards::math {
namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (std::string_view(s).substr(i).starts_with(from)) {
      out += to;
      i += from.size();
    } else {
      out += s[i++];
    }
  }
  s = std::move(out);
}

// Whether the LaTeX command `cmd` (with its backslash) starts at s[i] as a whole command, i.e.
// not followed by a letter: "\le" does not match the start of "\left".
bool command_at(std::string_view s, std::size_t i, std::string_view cmd) {
  return s.substr(i).starts_with(cmd) && (i + cmd.size() >= s.size() || !is_letter(s[i + cmd.size()]));
}

// Replaces every whole command `cmd` by `to`.
void replace_command(std::string& s, std::string_view cmd, std::string_view to = "") {
  if (s.find(cmd) == std::string::npos) return;
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (command_at(s, i, cmd)) {
      out += to;
      i += cmd.size();
    } else {
      out += s[i++];
    }
  }
  s = std::move(out);
}

// Index just past the '}' matching the '{' at `open`, or npos.
std::size_t match_brace(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      ++i;
      continue;
    }
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

std::string trimmed(std::string_view s) { return std::string(trim_ascii(s)); }

// ---- 1. Unicode ----

void replace_unicode(std::string& s) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 20> kReplacements = {{
      {"\xE2\x88\x92", "-"},          // U+2212 minus
      {"\xC3\x97", "*"},              // U+00D7 times
      {"\xC2\xB7", "*"},              // U+00B7 middle dot
      {"\xE2\x8B\x85", "*"},          // U+22C5 dot operator
      {"\xC3\xB7", "/"},              // U+00F7 division
      {"\xCF\x80", "\\pi "},          // U+03C0 pi
      {"\xE2\x88\x9A", "\\sqrt"},     // U+221A square root
      {"\xE2\x88\x9E", "\\infty "},   // U+221E infinity
      {"\xE2\x89\xA4", "\\le "},      // U+2264
      {"\xE2\x89\xA5", "\\ge "},      // U+2265
      {"\xE2\x89\xA0", "\\neq "},     // U+2260
      {"\xE2\x88\x88", "\\in "},      // U+2208
      {"\xE2\x88\xAA", "\\cup "},     // U+222A
      {"\xC2\xB0", "^\\circ "},       // U+00B0 degree
      {"\xC2\xB2", "^2"},             // U+00B2 superscript two
      {"\xC2\xB3", "^3"},             // U+00B3 superscript three
      {"\xC2\xA0", " "},              // U+00A0 no-break space
      {"\xE2\x80\x89", " "},          // U+2009 thin space
      {"\xE2\x80\xAF", " "},          // U+202F narrow no-break space
      {"\xE2\x82\xAC", "\\euro "},    // U+20AC euro sign (a currency unit, below)
  }};
  for (const auto& [from, to] : kReplacements) replace_all(s, from, to);
}

// ---- 2. Delimiters and punctuation ----

// Index of the first '$' at or after `from` that is not escaped as "\$", or npos.
std::size_t first_unescaped_dollar(std::string_view s, std::size_t from) {
  for (std::size_t i = from; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == '$') return i;
  }
  return std::string_view::npos;
}

bool strip_one_delimiter(std::string& s) {
  std::string_view v = s;
  std::string_view inner;
  if (v.size() >= 4 && v.starts_with("$$") && v.ends_with("$$") && v.find("$$", 2) == v.size() - 2) {
    inner = v.substr(2, v.size() - 4);
  } else if (v.size() >= 2 && v.starts_with("$") && v.ends_with("$") && first_unescaped_dollar(v, 1) == v.size() - 1) {
    inner = v.substr(1, v.size() - 2);
  } else if (v.size() >= 4 && ((v.starts_with("\\(") && v.ends_with("\\)")) || (v.starts_with("\\[") && v.ends_with("\\]")))) {
    inner = v.substr(2, v.size() - 4);
  } else {
    return false;
  }
  s = trimmed(inner);
  return true;
}

// Trailing '.', ',', ';', ':' (sentence punctuation), but never the dots of an ellipsis.
bool strip_trailing_punctuation(std::string& s) {
  if (s.empty()) return false;
  const char c = s.back();
  if (c == ',' || c == ';' || c == ':') {
    s.pop_back();
  } else if (c == '.' && !(s.size() >= 2 && s[s.size() - 2] == '.')) {
    s.pop_back();
  } else {
    return false;
  }
  s = trimmed(s);
  return true;
}

void strip_delimiters_and_punctuation(std::string& s) {
  for (int guard = 0; guard < 8; ++guard) {
    s = trimmed(s);
    const bool stripped = strip_one_delimiter(s);
    if (!strip_trailing_punctuation(s) && !stripped) return;
  }
}

// Commands whose doubled backslash ("\\frac", an escaping artefact of JSON or Python source)
// is read as one. A LaTeX line break "\\" before anything else (a matrix row) stays.
constexpr std::string_view kEscapedCommands[] = {"frac", "dfrac", "tfrac", "cfrac", "sqrt", "left", "right", "pi",
                                                 "le", "leq", "ge", "geq", "lt", "gt", "neq", "ne", "in", "cup",
                                                 "infty", "text", "cdot", "times", "pm", "begin", "end", "circ",
                                                 "mathrm", "textbf", "boxed", "approx"};

void fix_doubled_backslashes(std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 2 < s.size() && s[i + 1] == '\\' && (i == 0 || s[i - 1] != '\\')) {
      std::size_t end = i + 2;
      while (end < s.size() && is_letter(s[end])) ++end;
      const std::string_view name = std::string_view(s).substr(i + 2, end - i - 2);
      if (std::find(std::begin(kEscapedCommands), std::end(kEscapedCommands), name) != std::end(kEscapedCommands)) {
        continue;  // drop the first backslash
      }
    }
    out += s[i];
  }
  s = std::move(out);
}

// ---- 4. Units and percent ----

// The explicit list of unit words that may name the unit of a ground truth; any other word is
// content. Canonical name first, then the spellings that map to it.
struct UnitSpelling {
  std::string_view canonical;
  std::string_view spelling;
};
constexpr UnitSpelling kUnits[] = {
    {"mm", "mm"},         {"mm", "millimeter"},  {"mm", "millimeters"},  {"mm", "millimetre"},   {"mm", "millimetres"},
    {"cm", "cm"},         {"cm", "centimeter"},  {"cm", "centimeters"},  {"cm", "centimetre"},   {"cm", "centimetres"},
    {"m", "m"},           {"m", "meter"},        {"m", "meters"},        {"m", "metre"},         {"m", "metres"},
    {"km", "km"},         {"km", "kilometer"},   {"km", "kilometers"},   {"km", "kilometre"},    {"km", "kilometres"},
    {"inch", "in"},       {"inch", "inch"},      {"inch", "inches"},     {"foot", "ft"},         {"foot", "foot"},
    {"foot", "feet"},     {"yard", "yd"},        {"yard", "yard"},       {"yard", "yards"},      {"mile", "mi"},
    {"mile", "mile"},     {"mile", "miles"},     {"unit", "unit"},       {"unit", "units"},      {"second", "s"},
    {"second", "sec"},    {"second", "secs"},    {"second", "second"},   {"second", "seconds"},  {"minute", "min"},
    {"minute", "mins"},   {"minute", "minute"},  {"minute", "minutes"},  {"hour", "h"},          {"hour", "hr"},
    {"hour", "hrs"},      {"hour", "hour"},      {"hour", "hours"},      {"day", "day"},         {"day", "days"},
    {"week", "week"},     {"week", "weeks"},     {"month", "month"},     {"month", "months"},    {"year", "year"},
    {"year", "years"},    {"year", "yr"},        {"year", "yrs"},        {"gram", "g"},          {"gram", "gram"},
    {"gram", "grams"},    {"kg", "kg"},          {"kg", "kilogram"},     {"kg", "kilograms"},    {"mg", "mg"},
    {"mg", "milligram"},  {"mg", "milligrams"},  {"pound", "lb"},        {"pound", "lbs"},       {"pound", "pound"},
    {"pound", "pounds"},  {"ounce", "oz"},       {"ounce", "ounce"},     {"ounce", "ounces"},    {"ton", "ton"},
    {"ton", "tons"},      {"liter", "l"},        {"liter", "liter"},     {"liter", "liters"},    {"liter", "litre"},
    {"liter", "litres"},  {"ml", "ml"},          {"ml", "milliliter"},   {"ml", "milliliters"},  {"gallon", "gal"},
    {"gallon", "gallon"}, {"gallon", "gallons"}, {"cup", "cup"},         {"cup", "cups"},        {"dollar", "dollar"},
    {"dollar", "dollars"}, {"cent", "cent"},     {"cent", "cents"},      {"euro", "euro"},       {"euro", "euros"},
    {"mph", "mph"},       {"mph", "miles per hour"}, {"mph", "mile per hour"}, {"km/h", "km/h"},  {"km/h", "kmh"},
    {"km/h", "kph"},      {"km/h", "kilometers per hour"}, {"m/s", "m/s"}, {"m/s", "meters per second"},
    {"ft/s", "ft/s"},     {"ft/s", "feet per second"}, {"degree", "degree"}, {"degree", "degrees"}, {"degree", "deg"},
    {"radian", "radian"}, {"radian", "radians"}, {"radian", "rad"},
};

constexpr std::string_view kPercentWords[] = {"percent", "percentage", "pct", "per cent"};

// `phrase` with runs of whitespace collapsed to one space, lower-cased and trimmed.
std::string collapse_words(std::string_view phrase) {
  std::string out;
  for (char c : trim_ascii(phrase)) {
    if (is_ascii_space(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += to_lower(c);
    }
  }
  return out;
}

// The canonical unit of `phrase` ("square feet" -> "foot^2", "cm^2" -> "cm^2", "miles" ->
// "mile"), or nullopt when it is not a listed unit.
std::optional<std::string> canonical_unit(std::string_view phrase) {
  std::string words = collapse_words(phrase);
  while (!words.empty() && words.back() == '.') words.pop_back();
  int power = 1;
  for (const auto& [prefix, p] : {std::pair{std::string_view("square "), 2}, std::pair{std::string_view("sq "), 2},
                                  std::pair{std::string_view("sq. "), 2}, std::pair{std::string_view("cubic "), 3},
                                  std::pair{std::string_view("cu "), 3}}) {
    if (words.starts_with(prefix)) {
      words = words.substr(prefix.size());
      power = p;
      break;
    }
  }
  for (const auto& [suffix, p] : {std::pair{std::string_view("^{2}"), 2}, std::pair{std::string_view("^2"), 2},
                                  std::pair{std::string_view("^{3}"), 3}, std::pair{std::string_view("^3"), 3}}) {
    if (power == 1 && words.size() > suffix.size() && words.ends_with(suffix)) {
      words.resize(words.size() - suffix.size());
      power = p;
      break;
    }
  }
  words = collapse_words(words);
  for (const UnitSpelling& unit : kUnits) {
    if (unit.spelling == words) {
      return power == 1 ? std::string(unit.canonical) : std::string(unit.canonical) + "^" + std::to_string(power);
    }
  }
  return std::nullopt;
}

bool is_percent_word(std::string_view phrase) {
  const std::string words = collapse_words(phrase);
  return std::find(std::begin(kPercentWords), std::end(kPercentWords), words) != std::end(kPercentWords);
}

constexpr std::string_view kTextWrappers[] = {"\\textnormal{", "\\textbf{", "\\textit{", "\\textrm{", "\\textsf{",
                                              "\\texttt{", "\\text{", "\\mbox{", "\\mathrm{", "\\mathbf{",
                                              "\\mathit{", "\\mathsf{", "\\operatorname{", "\\boldsymbol{"};

// If s ends with a text wrapper (plus an optional power), its start and content.
std::optional<std::pair<std::size_t, std::string>> trailing_wrapper(std::string_view s) {
  std::string_view power;
  for (std::string_view p : {"^{2}", "^{3}", "^2", "^3"}) {
    if (s.ends_with(p)) {
      power = p;
      s.remove_suffix(p.size());
      break;
    }
  }
  if (!s.ends_with('}')) return std::nullopt;
  for (std::string_view wrapper : kTextWrappers) {
    for (std::size_t at = s.rfind(wrapper); at != std::string_view::npos;
         at = at == 0 ? std::string_view::npos : s.rfind(wrapper, at - 1)) {
      if (match_brace(s, at + wrapper.size() - 1) == s.size()) {
        const std::size_t open = at + wrapper.size();
        return std::pair{at, std::string(s.substr(open, s.size() - open - 1)) + std::string(power)};
      }
    }
  }
  return std::nullopt;
}

// Whether the text before a plain unit word ends like a number ("5", "\frac{1}{2}", "(3)",
// "$125$").
bool ends_like_number(std::string_view s) {
  s = trim_ascii(s);
  if (s.ends_with('$')) s = trim_ascii(s.substr(0, s.size() - 1));
  return !s.empty() && (is_ascii_digit(s.back()) || s.back() == '}' || s.back() == ')');
}

// Takes one trailing percent marker or unit off `s` into `out`; false when there is none.
bool take_trailing_marker(std::string& s, NormalizedAnswer& out) {
  const std::string_view v = trim_ascii(s);
  for (std::string_view sign : {"\\%", "%"}) {
    if (v.size() > sign.size() && v.ends_with(sign)) {
      s = trimmed(v.substr(0, v.size() - sign.size()));
      out.percent = true;
      return true;
    }
  }
  for (std::string_view degree : {"^{\\circ}", "^\\circ", "\\circ", "\\degree"}) {
    if (v.size() > degree.size() && v.ends_with(degree) && out.unit.empty()) {
      s = trimmed(v.substr(0, v.size() - degree.size()));
      out.unit = "degree";
      return true;
    }
  }
  if (auto wrapper = trailing_wrapper(v)) {
    const std::string_view before = trim_ascii(v.substr(0, wrapper->first));
    if (!before.empty()) {
      if (is_percent_word(wrapper->second)) {
        s = std::string(before);
        out.percent = true;
        return true;
      }
      if (std::optional<std::string> unit = canonical_unit(wrapper->second); unit && out.unit.empty()) {
        s = std::string(before);
        out.unit = std::move(*unit);
        return true;
      }
    }
    return false;
  }
  // Plain words after a number: the longest trailing run of letters, spaces, '/', '^' and
  // digits after '^' that is a listed unit or a percent word.
  std::size_t start = v.size();
  while (start > 0) {
    const char c = v[start - 1];
    if (is_letter(c) || c == ' ' || c == '/' || c == '.' ||
        (is_ascii_digit(c) && start >= 2 && v[start - 2] == '^') || c == '^') {
      --start;
    } else {
      break;
    }
  }
  for (std::size_t at = start; at < v.size(); ++at) {
    if (at > start && v[at - 1] != ' ' && !(is_ascii_digit(v[at - 1]))) continue;  // phrases start at a word
    if (!is_letter(v[at])) continue;
    const std::string_view phrase = v.substr(at);
    const std::string_view before = v.substr(0, at);
    if (!ends_like_number(before)) continue;
    const bool spaced = before.ends_with(' ');
    if (is_percent_word(phrase)) {
      s = trimmed(before);
      out.percent = true;
      return true;
    }
    std::optional<std::string> unit = canonical_unit(phrase);
    // One-letter units ("5 m", "3 s") only when written apart from the number: "5m" is 5*m.
    if (unit && out.unit.empty() && (spaced || collapse_words(phrase).size() > 1)) {
      s = trimmed(before);
      out.unit = std::move(*unit);
      return true;
    }
  }
  return false;
}

bool take_leading_currency(std::string& s, NormalizedAnswer& out) {
  const std::string_view v = trim_ascii(s);
  for (const auto& [sign, unit] : {std::pair{std::string_view("\\$"), "dollar"}, std::pair{std::string_view("$"), "dollar"},
                                   std::pair{std::string_view("\\euro"), "euro"}}) {
    std::string_view rest = v;
    bool negative = false;
    if (rest.starts_with('-')) {
      negative = true;
      rest.remove_prefix(1);
    }
    // "$5" is currency; "$125$ miles" is a math span.
    const bool currency = sign != "$" || first_unescaped_dollar(rest, 1) == std::string_view::npos;
    if (rest.size() > sign.size() && rest.starts_with(sign) && out.unit.empty() && currency) {
      s = (negative ? "-" : "") + trimmed(rest.substr(sign.size()));
      out.unit = unit;
      return true;
    }
  }
  return false;
}

// ---- 5. Text wrappers and list words ----

int letter_count(std::string_view s) { return static_cast<int>(std::count_if(s.begin(), s.end(), is_letter)); }

// The text wrapper starting at s[i], if any.
std::string_view wrapper_at(std::string_view s, std::size_t i) {
  for (std::string_view w : kTextWrappers) {
    if (s.substr(i).starts_with(w)) return w;
  }
  return {};
}

void handle_text_wrappers(std::string& s) {
  // A whole answer in one wrapper: "\text{(B)}", "\textbf{yes}".
  for (int guard = 0; guard < 8; ++guard) {
    s = trimmed(s);
    const std::string_view w = wrapper_at(s, 0);
    if (w.empty() || match_brace(s, w.size() - 1) != s.size()) break;
    s = trimmed(std::string_view(s).substr(w.size(), s.size() - w.size() - 1));
  }
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::string_view w = wrapper_at(s, i);
    const std::size_t end = w.empty() ? std::string::npos : match_brace(s, i + w.size() - 1);
    if (end == std::string::npos) {
      out += s[i++];
      continue;
    }
    const std::string inner = s.substr(i + w.size(), end - i - w.size() - 1);
    const std::string words = collapse_words(inner);
    if (words == "and" || words == "or" || words == "," || words == ", and" || words == ", or") {
      out += ',';
    } else if (letter_count(inner) <= 1) {
      out += inner;  // math only ("\text{5}", "\mathrm{e}", "\mathbf{v}")
    } else {
      out += "\\text{" + words + "}";
    }
    i = end;
  }
  s = std::move(out);
}

// Plain "and" / "or" between items ("3 and 4", "19, 46, and 82") -> ','.
void replace_list_words(std::string& s) {
  for (std::string_view word : {" and ", " or "}) {
    for (std::size_t at = s.find(word); at != std::string::npos; at = s.find(word, at + 1)) {
      // Only between non-words: "3 and 4", "x = 3 or x = 5", not inside "\text{...}" words.
      const bool inside_text = s.rfind("\\text{", at) != std::string::npos &&
                               s.find('}', s.rfind("\\text{", at)) > at;
      if (inside_text) continue;
      s.replace(at, word.size(), ",");
    }
  }
  // ", ," and ",," from an Oxford comma collapse to one separator.
  std::string out;
  for (char c : s) {
    if (c == ',') {
      std::size_t j = out.size();
      while (j > 0 && out[j - 1] == ' ') --j;
      if (j > 0 && out[j - 1] == ',') {
        out.resize(j);
        continue;
      }
    }
    out += c;
  }
  s = std::move(out);
}

// ---- 6. Spacing ----

bool is_digit_at(std::string_view s, std::size_t i) { return i < s.size() && is_ascii_digit(s[i]); }

// "d{1,3}( ddd)+" at `start` (a maximal digit run start), the end of the match or npos.
std::size_t spaced_thousands_end(std::string_view s, std::size_t start) {
  std::size_t i = start;
  while (is_digit_at(s, i)) ++i;
  if (i - start > 3) return std::string_view::npos;
  int groups = 0;
  while (i + 3 < s.size() + 0 && s[i] == ' ' && is_digit_at(s, i + 1) && is_digit_at(s, i + 2) && is_digit_at(s, i + 3) &&
         !is_digit_at(s, i + 4)) {
    i += 4;
    ++groups;
  }
  if (groups == 0) return std::string_view::npos;
  return i;
}

// A whole answer "4 4/9" or "-4 4/9" -> "4\frac{4}{9}".
bool rewrite_spaced_mixed_number(std::string& s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const std::size_t whole_start = i;
  while (is_digit_at(s, i)) ++i;
  const std::size_t whole_end = i;
  if (whole_end == whole_start || i >= s.size() || s[i] != ' ') return false;
  ++i;
  const std::size_t num_start = i;
  while (is_digit_at(s, i)) ++i;
  const std::size_t num_end = i;
  if (num_end == num_start || i >= s.size() || s[i] != '/') return false;
  ++i;
  const std::size_t den_start = i;
  while (is_digit_at(s, i)) ++i;
  if (i == den_start || i != s.size()) return false;
  // Only a proper fraction makes a mixed number: "11 7/6" and "4 4/0" are not one.
  const mpz_class numerator(s.substr(num_start, num_end - num_start));
  const mpz_class denominator(s.substr(den_start));
  if (sgn(denominator) == 0 || numerator >= denominator) return false;
  s = s.substr(0, whole_end) + "\\frac{" + s.substr(num_start, num_end - num_start) + "}{" + s.substr(den_start) + "}";
  return true;
}

void compact_whitespace(std::string& s) {
  // Normalise every whitespace run to one space first; a run with a line break becomes "\n",
  // which never joins digits (thousands or a mixed number: "11\n5/6" is two numbers).
  std::string spaced;
  for (char c : s) {
    if (is_ascii_space(c)) {
      const char mark = c == '\n' || c == '\r' ? '\n' : ' ';
      if (!spaced.empty() && spaced.back() == ' ') spaced.back() = mark == '\n' ? '\n' : ' ';
      else if (!spaced.empty() && spaced.back() != '\n') spaced += mark;
    } else {
      spaced += c;
    }
  }
  spaced = trimmed(spaced);
  rewrite_spaced_mixed_number(spaced);
  std::string out;
  std::size_t i = 0;
  while (i < spaced.size()) {
    const char c = spaced[i];
    if (is_ascii_digit(c) && (i == 0 || (!is_ascii_digit(spaced[i - 1]) && spaced[i - 1] != '.' && spaced[i - 1] != ','))) {
      if (const std::size_t end = spaced_thousands_end(spaced, i); end != std::string::npos) {
        for (std::size_t k = i; k < end; ++k) {
          if (spaced[k] != ' ') out += spaced[k];
        }
        i = end;
        continue;
      }
    }
    if (c != ' ' && c != '\n') {
      out += c;
      ++i;
      continue;
    }
    const char next = i + 1 < spaced.size() ? spaced[i + 1] : '\0';
    const char prev = out.empty() ? '\0' : out.back();
    if (is_ascii_digit(prev) && is_ascii_digit(next)) {
      out += "\\ ";  // "2 3" is two numbers, not 23: keep a separator no expression accepts
    } else if (is_letter(prev) && is_letter(next)) {
      out += ' ';  // words and "\pi r" keep their boundary
    }
    ++i;
  }
  s = std::move(out);
}

void remove_thin_spaces(std::string& s) {
  // LaTeX thousands separators between digits: "1{,}000", "1,\!000", "14{, }916".
  replace_all(s, "{, }", "{,}");
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',' && std::string_view(s).substr(i + 1).starts_with("\\!")) {
      out += "{,}";
      i += 2;
      while (i + 1 < s.size() && s[i + 1] == ' ') ++i;
      continue;
    }
    out += s[i];
  }
  s = std::move(out);
  std::string joined;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (std::string_view(s).substr(i).starts_with("{,}") && i + 3 < s.size() && is_ascii_digit(s[i + 3])) {
      std::size_t digit = joined.size();
      while (digit > 0 && joined[digit - 1] == ' ') --digit;
      if (digit > 0 && is_ascii_digit(joined[digit - 1])) {
        joined.resize(digit);
        i += 2;
        continue;
      }
    }
    joined += s[i];
  }
  // Spacing commands; a LaTeX line break "\\" is one token, so "\\ 3" keeps its row break.
  std::string out_spacing;
  for (std::size_t i = 0; i < joined.size(); ++i) {
    if (joined[i] == '\\' && i + 1 < joined.size()) {
      const char next = joined[i + 1];
      if (next == '!' || next == ',' || next == ';' || next == ':' || next == '>') {
        ++i;
        continue;
      }
      if (next == ' ') {
        out_spacing += ' ';
        ++i;
        continue;
      }
      out_spacing += joined[i];
      out_spacing += next;
      ++i;
      continue;
    }
    out_spacing += joined[i];
  }
  s = std::move(out_spacing);
  replace_command(s, "\\qquad");
  replace_command(s, "\\quad");
}

// ---- 7./8. Synonyms and shorthand ----

void replace_synonyms(std::string& s) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 27> kCommands = {{
      {"\\dfrac", "\\frac"},  {"\\tfrac", "\\frac"},  {"\\cfrac", "\\frac"},  {"\\dbinom", "\\binom"},
      {"\\tbinom", "\\binom"}, {"\\cdot", "*"},       {"\\times", "*"},       {"\\ast", "*"},
      {"\\div", "/"},          {"\\leqslant", "<="},  {"\\leq", "<="},        {"\\le", "<="},
      {"\\geqslant", ">="},    {"\\geq", ">="},       {"\\ge", ">="},         {"\\lt", "<"},
      {"\\gt", ">"},           {"\\neq", "!="},       {"\\ne", "!="},         {"\\lbrace", "\\{"},
      {"\\rbrace", "\\}"},     {"\\displaystyle", ""}, {"\\textstyle", ""},   {"\\left", ""},
      {"\\right", ""},         {"\\bigl", ""},        {"\\bigr", ""},
  }};
  for (const auto& [cmd, to] : kCommands) replace_command(s, cmd, to);
  for (std::string_view cmd : {"\\Bigl", "\\Bigr", "\\big", "\\Big", "\\bigg", "\\Bigg"}) replace_command(s, cmd);
  replace_all(s, "\\mathrm{e}", "e");
  replace_all(s, "=<", "<=");
  replace_all(s, "=>", ">=");
}

// "\frac12" -> "\frac{1}{2}", "\sqrt2" -> "\sqrt{2}": a brace-less argument is one character.
void fix_shorthand(std::string& s, std::string_view cmd, int arguments) {
  if (s.find(cmd) == std::string::npos) return;
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (!command_at(s, i, cmd)) {
      out += s[i++];
      continue;
    }
    out += cmd;
    i += cmd.size();
    for (int a = 0; a < arguments && i < s.size(); ++a) {
      if (s[i] == '{') {
        const std::size_t end = match_brace(s, i);
        if (end == std::string::npos) break;
        out += s.substr(i, end - i);
        i = end;
      } else if (s[i] == '[' && cmd == "\\sqrt" && a == 0) {
        const std::size_t close = s.find(']', i);
        if (close == std::string::npos) break;
        out += s.substr(i, close + 1 - i);
        i = close + 1;
        --a;  // the optional index does not count as the argument
      } else if (s[i] == '\\') {
        break;  // "\frac\pi2": the parser reads a command argument itself
      } else {
        out += '{';
        out += s[i++];
        out += '}';
      }
    }
  }
  s = std::move(out);
}

// ---- 9./10. Whole-answer forms ----

bool is_comma_grouped_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const std::size_t lead_start = i;
  while (is_digit_at(s, i)) ++i;
  const std::size_t lead = i - lead_start;
  if (lead < 1 || lead > 3 || s[lead_start] == '0') return false;
  int groups = 0;
  while (i < s.size() && s[i] == ',') {
    for (std::size_t k = 1; k <= 3; ++k) {
      if (!is_digit_at(s, i + k)) return false;
    }
    i += 4;
    ++groups;
  }
  if (groups == 0 || is_digit_at(s, i)) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!is_digit_at(s, i)) return false;
    while (is_digit_at(s, i)) ++i;
  }
  return i == s.size();
}

// "1,22" -> "1.22" when `s` is "-?d+,d+" and not in the thousands shape; else empty.
std::string decimal_comma_reading(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  const std::size_t whole_start = i;
  while (is_digit_at(s, i)) ++i;
  const std::size_t whole = i - whole_start;
  if (whole == 0 || i >= s.size() || s[i] != ',') return {};
  const std::size_t comma = i++;
  while (is_digit_at(s, i)) ++i;
  const std::size_t fraction = i - comma - 1;
  if (fraction == 0 || i != s.size()) return {};
  const bool thousands = fraction == 3 && whole <= 3 && s[whole_start] != '0';
  if (thousands) return {};
  std::string out(s);
  out[comma] = '.';
  return out;
}

void strip_outer_braces(std::string& s) {
  while (s.size() >= 2 && s.front() == '{' && match_brace(s, 0) == s.size()) s = s.substr(1, s.size() - 2);
}

} // namespace

bool is_unit_or_percent_word(std::string_view word) { return is_percent_word(word) || canonical_unit(word).has_value(); }

NormalizedAnswer normalize_math_answer(std::string_view answer) {
  NormalizedAnswer out;
  std::string s(trim_ascii(answer));
  replace_unicode(s);
  strip_delimiters_and_punctuation(s);
  fix_doubled_backslashes(s);
  replace_synonyms(s);
  strip_delimiters_and_punctuation(s);
  for (int guard = 0; guard < 4; ++guard) {
    if (!take_trailing_marker(s, out) && !take_leading_currency(s, out)) break;
    strip_delimiters_and_punctuation(s);
  }
  handle_text_wrappers(s);
  replace_list_words(s);
  remove_thin_spaces(s);
  // Degrees, percent signs and currency left inside the answer ("(30^\circ, 60^\circ)").
  for (std::string_view mark : {"^{\\circ}", "^\\circ"}) replace_all(s, mark, "");
  replace_command(s, "\\circ");
  replace_command(s, "\\degree");
  replace_command(s, "\\euro");
  replace_all(s, "\\%", "");
  replace_all(s, "%", "");
  replace_all(s, "\\$", "");
  replace_all(s, "$", "");
  // Before spaces go: "2, 100" is a list, only "2,100" is a number.
  if (is_comma_grouped_number(trimmed(s))) replace_all(s, ",", "");
  out.decimal_comma = decimal_comma_reading(trimmed(s));
  compact_whitespace(s);
  fix_shorthand(s, "\\frac", 2);
  fix_shorthand(s, "\\binom", 2);
  fix_shorthand(s, "\\sqrt", 1);
  strip_outer_braces(s);
  strip_trailing_punctuation(s);
  out.text = std::move(s);
  return out;
}

} // namespace caravan::rewards::math
