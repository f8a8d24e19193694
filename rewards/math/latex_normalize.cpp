#include "rewards/math/latex_normalize.h"

#include <array>
#include <cstddef>

#include "rewards/ascii.h"

namespace caravan::rewards::math {
namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
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

// Whether the LaTeX command `cmd` starts at s[i] as a whole command (not followed by a letter,
// so "\le" does not match the start of "\left").
bool command_at(std::string_view s, std::size_t i, std::string_view cmd) {
  return s.substr(i).starts_with(cmd) && (i + cmd.size() >= s.size() || !is_letter(s[i + cmd.size()]));
}

// Removes the LaTeX command `cmd` (e.g. "\left") only where it is not followed by a letter, so
// "\le" does not eat the start of "\left" and "\pi" survives "\p...".
void remove_command(std::string& s, std::string_view cmd, std::string_view to = "") {
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

bool only_letters_and_spaces(std::string_view s) {
  bool any = false;
  for (char c : s) {
    if (is_letter(c)) any = true;
    else if (!is_ascii_space(c) && c != '.') return false;
  }
  return any;
}

void handle_text_wrappers(std::string& s) {
  static constexpr std::array<std::string_view, 6> kWrappers = {
      "\\textbf{", "\\textrm{", "\\text{", "\\mathrm{", "\\mathbf{", "\\mbox{"};
  for (int guard = 0; guard < 64; ++guard) {
    std::size_t best = std::string::npos;
    std::string_view wrapper;
    for (std::string_view w : kWrappers) {
      std::size_t at = s.find(w);
      if (at < best) {
        best = at;
        wrapper = w;
      }
    }
    if (best == std::string::npos) return;
    const std::size_t open = best + wrapper.size() - 1;
    const std::size_t end = match_brace(s, open);
    if (end == std::string::npos) return;
    const std::string inner = s.substr(open + 1, end - open - 2);
    const std::string_view before = trim_ascii(std::string_view(s).substr(0, best));
    const std::string_view after = trim_ascii(std::string_view(s).substr(end));
    const std::string_view trimmed = trim_ascii(inner);
    std::string replacement;
    if (before.empty() && after.empty()) {
      replacement = inner;  // the whole answer: "\text{(B)}", "\text{yes}"
    } else if (trimmed == "and" || trimmed == "or") {
      replacement = ",";
    } else if (only_letters_and_spaces(inner)) {
      replacement = "";  // a unit: "5\text{ cm}", "\text{ dollars}"
    } else {
      replacement = inner;
    }
    std::size_t resume = end;
    if (replacement.empty()) {
      // A unit's power goes with it: "7\text{ units}^2" -> "7".
      for (std::string_view power : {"^{2}", "^{3}", "^2", "^3"}) {
        if (std::string_view(s).substr(end).starts_with(power)) {
          resume += power.size();
          break;
        }
      }
    }
    s = s.substr(0, best) + replacement + s.substr(resume);
  }
}

// "\frac12" -> "\frac{1}{2}", "\sqrt2" -> "\sqrt{2}": a brace-less argument is one character.
void fix_shorthand(std::string& s, std::string_view cmd, int arguments) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (command_at(s, i, cmd)) {
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
          break;  // "\frac\pi2": leave as is; the parser reads a command argument itself
        } else {
          out += '{';
          out += s[i++];
          out += '}';
        }
      }
    } else {
      out += s[i++];
    }
  }
  s = std::move(out);
}

bool is_grouped_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t lead = 0;
  while (i < s.size() && is_ascii_digit(s[i])) ++i, ++lead;
  if (lead < 1 || lead > 3) return false;
  int groups = 0;
  while (i < s.size() && s[i] == ',') {
    for (int k = 1; k <= 3; ++k) {
      if (i + k >= s.size() || !is_ascii_digit(s[i + k])) return false;
    }
    i += 4;
    ++groups;
  }
  if (groups == 0) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_ascii_digit(s[i])) ++i;
  }
  return i == s.size();
}

void strip_trailing_unit_word(std::string& s) {
  static constexpr std::array<std::string_view, 30> kUnits = {
      "dollars", "dollar", "cents", "cent", "degrees", "degree", "units", "unit", "sq", "square",
      "cm", "mm", "km", "m", "meters", "meter", "inches", "inch", "feet", "foot", "ft",
      "miles", "mile", "hours", "hour", "minutes", "minute", "seconds", "days", "mph"};
  // Only after a digit: "5cm" -> "5", but "xm" or "\pi" are never touched.
  for (std::string_view unit : kUnits) {
    if (s.size() > unit.size() && s.ends_with(unit) && is_ascii_digit(s[s.size() - unit.size() - 1])) {
      s.resize(s.size() - unit.size());
      // "5squnits" style leftovers are not worth chasing.
      return;
    }
  }
}

} // namespace

std::string normalize_math_answer(std::string_view answer) {
  std::string s(trim_ascii(answer));
  // 1. Unicode.
  replace_all(s, "\xE2\x88\x92", "-");
  replace_all(s, "\xC3\x97", "*");
  replace_all(s, "\xC2\xB7", "*");
  replace_all(s, "\xCF\x80", "\\pi ");
  replace_all(s, "\xE2\x88\x9A", "\\sqrt");
  replace_all(s, "\xC2\xB0", "");
  replace_all(s, "\xE2\x88\x9E", "\\infty ");
  // 2. Delimiters.
  for (int pass = 0; pass < 2; ++pass) {
    std::string_view v = trim_ascii(s);
    if (v.size() >= 4 && v.starts_with("$$") && v.ends_with("$$")) v = v.substr(2, v.size() - 4);
    else if (v.size() >= 2 && v.starts_with("$") && v.ends_with("$") && v.find('$', 1) == v.size() - 1)
      v = v.substr(1, v.size() - 2);
    else if (v.size() >= 4 && ((v.starts_with("\\(") && v.ends_with("\\)")) ||
                               (v.starts_with("\\[") && v.ends_with("\\]"))))
      v = v.substr(2, v.size() - 4);
    s = std::string(trim_ascii(v));
  }
  remove_command(s, "\\displaystyle");
  // 3. Text wrappers (before whitespace removal, which decides unit vs value).
  handle_text_wrappers(s);
  // 4. Spacing.
  remove_command(s, "\\left");
  remove_command(s, "\\right");
  remove_command(s, "\\qquad");
  remove_command(s, "\\quad");
  replace_all(s, "\\!", "");
  replace_all(s, "\\,", "");
  replace_all(s, "\\;", "");
  replace_all(s, "\\:", "");
  replace_all(s, "\\ ", "");
  std::string compact;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_ascii_space(s[i])) {
      // Keep one separator between a command and a following letter ("\pi r" must not become
      // "\pir"); the parser skips it.
      std::size_t j = compact.size();
      while (j > 0 && is_letter(compact[j - 1])) --j;
      if (j > 0 && compact[j - 1] == '\\' && j < compact.size() && i + 1 < s.size() &&
          is_letter(s[i + 1])) {
        compact += ' ';
      }
      continue;
    }
    compact += s[i];
  }
  s = std::move(compact);
  // 5. Synonyms.
  remove_command(s, "\\dfrac", "\\frac");
  remove_command(s, "\\tfrac", "\\frac");
  remove_command(s, "\\cdot", "*");
  remove_command(s, "\\times", "*");
  remove_command(s, "\\div", "/");
  replace_all(s, "{,}", "");
  // 6. Degrees, percent, dollars.
  replace_all(s, "^{\\circ}", "");
  replace_all(s, "^\\circ", "");
  remove_command(s, "\\circ");
  remove_command(s, "\\degree");
  replace_all(s, "\\%", "");
  replace_all(s, "%", "");
  replace_all(s, "\\$", "");
  replace_all(s, "$", "");
  // 7. Shorthand.
  fix_shorthand(s, "\\frac", 2);
  fix_shorthand(s, "\\sqrt", 1);
  // 9. Leading "x=" and trailing '.' / unit word.
  if (std::size_t eq = s.find('='); eq != std::string::npos && eq <= 2 && eq > 0 &&
                                     s.find('=', eq + 1) == std::string::npos &&
                                     s.find('<') == std::string::npos && s.find('>') == std::string::npos) {
    s = s.substr(eq + 1);
  }
  while (!s.empty() && s.back() == '.') s.pop_back();
  strip_trailing_unit_word(s);
  // 8. Thousands separators.
  if (is_grouped_number(s)) replace_all(s, ",", "");
  return s;
}

} // namespace caravan::rewards::math
