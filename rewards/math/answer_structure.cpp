#include "rewards/math/answer_structure.h"

#include <algorithm>
#include <array>
#include <utility>

#include "rewards/ascii.h"

namespace caravan::rewards::math {
namespace {

constexpr int kMaxNesting = 16;

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool command_at(std::string_view s, std::size_t i, std::string_view cmd) {
  return s.substr(i).starts_with(cmd) && (i + cmd.size() >= s.size() || !is_letter(s[i + cmd.size()]));
}

// Bracket depth change of the token at s[i]; `width` receives its length. "\{" and "\}" are
// brackets; a command name is one token of depth change 0.
int bracket_delta(std::string_view s, std::size_t i, std::size_t& width) {
  width = 1;
  if (s[i] == '\\' && i + 1 < s.size()) {
    if (s[i + 1] == '{' || s[i + 1] == '}') {
      width = 2;
      return s[i + 1] == '{' ? 1 : -1;
    }
    std::size_t end = i + 1;
    while (end < s.size() && is_letter(s[end])) ++end;
    width = std::max<std::size_t>(end - i, 2);
    return 0;
  }
  if (s[i] == '(' || s[i] == '[' || s[i] == '{') return 1;
  if (s[i] == ')' || s[i] == ']' || s[i] == '}') return -1;
  return 0;
}

// Splits at top-level occurrences of `separator` (a command separator must be a whole command).
std::vector<std::string> split_top_level(std::string_view s, std::string_view separator) {
  const bool is_command = separator.size() > 1 && separator[0] == '\\' && is_letter(separator[1]);
  std::vector<std::string> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (depth == 0 && (is_command ? command_at(s, i, separator) : s.substr(i).starts_with(separator))) {
      parts.emplace_back(s.substr(start, i - start));
      i += separator.size();
      start = i;
      continue;
    }
    std::size_t width = 1;
    depth += bracket_delta(s, i, width);
    if (depth < 0) depth = 0;  // unbalanced text: keep scanning at the top level
    i += width;
  }
  parts.emplace_back(s.substr(start));
  return parts;
}

// Index just past the bracket closing the one at `open`, or npos.
std::size_t close_of(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size();) {
    std::size_t width = 1;
    depth += bracket_delta(s, i, width);
    i += width;
    if (depth == 0) return i;
  }
  return std::string_view::npos;
}

enum class RelationKind { kEqual, kLess, kLessEqual, kGreater, kGreaterEqual, kNotEqual, kApprox, kIn };

struct RelationMark {
  std::size_t at = 0;
  std::size_t width = 0;
  RelationKind kind = RelationKind::kEqual;
};

// Top-level relation operators, left to right.
std::vector<RelationMark> find_relations(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, RelationKind>, 8> kOps = {{
      {"<=", RelationKind::kLessEqual},
      {">=", RelationKind::kGreaterEqual},
      {"!=", RelationKind::kNotEqual},
      {"\\approx", RelationKind::kApprox},
      {"\\in", RelationKind::kIn},
      {"<", RelationKind::kLess},
      {">", RelationKind::kGreater},
      {"=", RelationKind::kEqual},
  }};
  std::vector<RelationMark> marks;
  int depth = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (depth == 0) {
      bool found = false;
      for (const auto& [token, kind] : kOps) {
        const bool match = token[0] == '\\' ? command_at(s, i, token) : s.substr(i).starts_with(token);
        if (match) {
          marks.push_back({i, token.size(), kind});
          i += token.size();
          found = true;
          break;
        }
      }
      if (found) continue;
    }
    std::size_t width = 1;
    depth += bracket_delta(s, i, width);
    if (depth < 0) depth = 0;
    i += width;
  }
  return marks;
}

// Whether `s` names something other than numbers and constants: a letter outside a command
// name (other than e), a Greek-letter command, or text.
bool has_free_letters(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      std::size_t end = i + 1;
      while (end < s.size() && is_letter(s[end])) ++end;
      const std::string_view name = s.substr(i + 1, end - i - 1);
      if (name == "text" || is_variable_command(name)) return true;
      i = std::max(i, end - 1);
      continue;
    }
    if (is_letter(s[i]) && s[i] != 'e') return true;
  }
  return false;
}

// Whether `s` uses the variable `name` ("x", "\theta", "a_1"): a letter or Greek command
// outside other command names, with its subscript.
bool mentions_variable(std::string_view s, std::string_view name) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::size_t end = i + 1;
    if (s[i] == '\\') {
      while (end < s.size() && is_letter(s[end])) ++end;
      if (!is_variable_command(s.substr(i + 1, end - i - 1))) {
        i = end - 1;
        continue;
      }
    } else if (!is_letter(s[i])) {
      continue;
    }
    if (end < s.size() && s[end] == '_') {
      end = end + 1 < s.size() && s[end + 1] == '{' ? std::min(s.find('}', end), s.size() - 1) + 1 : end + 2;
      end = std::min(end, s.size());
    }
    if (s.substr(i, end - i) == name) return true;
    i = end - 1;
  }
  return false;
}

// The variable when `s` is exactly one variable ("x", "\theta", "a_1"), else empty.
std::string single_variable(std::string_view s, EvalBudget& budget) {
  Result<Expression> parsed = Expression::parse(s, budget);
  if (!parsed.ok() || parsed->variables().size() != 1 || !parsed->constants().empty()) return {};
  const std::string& name = *parsed->variables().begin();
  return name == s ? name : std::string();
}

bool is_text(std::string_view s) {
  if (s.find("\\text{") != std::string_view::npos) return true;
  int letters = 0;
  for (char c : s) {
    if (is_letter(c)) ++letters;
    else if (c != ' ' && c != '\'' && c != '-') return false;
  }
  return letters >= 2;
}

// "B", "(B)", "B)" -> 'B'; "(b)" -> 'B'; else '\0'. A bare lower-case letter is a variable.
char choice_letter(std::string_view s) {
  bool bracketed = false;
  if (s.size() == 3 && s.front() == '(' && s.back() == ')') {
    s = s.substr(1, 1);
    bracketed = true;
  } else if (s.size() == 2 && s.back() == ')') {
    s = s.substr(0, 1);
    bracketed = true;
  }
  if (s.size() != 1) return '\0';
  if (s[0] >= 'A' && s[0] <= 'E') return s[0];
  if (bracketed && s[0] >= 'a' && s[0] <= 'e') return static_cast<char>(s[0] - 'a' + 'A');
  return '\0';
}

class StructureParser {
 public:
  explicit StructureParser(EvalBudget& budget) : budget_(budget) {}

  Result<Answer> parse(std::string_view text, int depth) {
    CARAVAN_RETURN_IF_ERROR(budget_.tick());
    const std::string s(trim_ascii(text));
    Answer out;
    out.text = s;
    if (s.empty() || depth > kMaxNesting) return out;
    if (s == "\\emptyset" || s == "\\varnothing" || s == "\\{\\}") {
      out.kind = Answer::Kind::kSet;
      return out;
    }
    CARAVAN_ASSIGN_OR_RETURN(std::optional<Answer> matrix, parse_matrix(s, depth));
    if (matrix) return std::move(*matrix);
    const std::vector<std::string> items = split_top_level(s, ",");
    if (items.size() > 1) {
      // "n = 1, 2, 3" is a solution whose value is a list; "x = 1, y = 2" is a list.
      bool later_relations = false;
      for (std::size_t i = 1; i < items.size(); ++i) later_relations = later_relations || !find_relations(items[i]).empty();
      if (!find_relations(items[0]).empty() && !later_relations) return parse_relation(s, depth);
      out.kind = Answer::Kind::kSet;
      out.bare = true;
      CARAVAN_RETURN_IF_ERROR(add_items(out, items, depth));
      return out;
    }
    if (!find_relations(s).empty()) return parse_relation(s, depth);
    if (const std::vector<std::string> parts = split_top_level(s, "\\cup"); parts.size() > 1) {
      out.kind = Answer::Kind::kUnion;
      CARAVAN_RETURN_IF_ERROR(add_items(out, parts, depth));
      return out;
    }
    if (const char letter = choice_letter(s); letter != '\0' && !(s.size() == 1 && s[0] >= 'a')) {
      out.kind = Answer::Kind::kChoice;
      out.letter = letter;
      return out;
    }
    if (s.size() >= 4 && s.starts_with("\\{") && s.ends_with("\\}") && close_of(s, 0) == s.size()) {
      out.kind = Answer::Kind::kSet;
      CARAVAN_RETURN_IF_ERROR(add_items(out, split_top_level(std::string_view(s).substr(2, s.size() - 4), ","), depth));
      return out;
    }
    if ((s.front() == '(' || s.front() == '[') && (s.back() == ')' || s.back() == ']') && close_of(s, 0) == s.size()) {
      const std::vector<std::string> inner = split_top_level(std::string_view(s).substr(1, s.size() - 2), ",");
      if (inner.size() == 1) return parse(inner[0], depth + 1);  // "(5)"
      out.kind = Answer::Kind::kTuple;
      out.open = s.front();
      out.close = s.back();
      for (const std::string& item : inner) {
        CARAVAN_ASSIGN_OR_RETURN(Answer parsed, parse(item, depth + 1));
        out.items.push_back(std::move(parsed));
      }
      return out;
    }
    if (std::optional<std::pair<std::string, std::string>> pm = split_plus_minus(s)) {
      out.kind = Answer::Kind::kSet;
      CARAVAN_RETURN_IF_ERROR(add_items(out, {pm->first, pm->second}, depth));
      return out;
    }
    if (is_text(s)) return out;
    Result<Expression> expression = Expression::parse(s, budget_);
    if (!expression.ok()) {
      if (expression.status().code() == StatusCode::kTimeout) return expression.status();
      return out;
    }
    out.kind = Answer::Kind::kExpression;
    out.expression = std::move(*expression);
    return out;
  }

 private:
  // Parses `items` into out.items; an item that is itself a "\pm" pair contributes both values.
  Status add_items(Answer& out, const std::vector<std::string>& items, int depth) {
    for (const std::string& item : items) {
      CARAVAN_ASSIGN_OR_RETURN(Answer parsed, parse(item, depth + 1));
      if (parsed.kind == Answer::Kind::kSet && !parsed.bare && split_plus_minus(parsed.text)) {
        for (Answer& value : parsed.items) out.items.push_back(std::move(value));
      } else {
        out.items.push_back(std::move(parsed));
      }
    }
    return Status::ok_status();
  }

  // One "\pm" or "\mp" anywhere ("2\pm\sqrt3", "\frac{1\pm\sqrt5}{2}") -> the two values.
  static std::optional<std::pair<std::string, std::string>> split_plus_minus(std::string_view s) {
    std::size_t at = std::string_view::npos;
    int count = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (command_at(s, i, "\\pm") || command_at(s, i, "\\mp")) {
        at = i;
        ++count;
      }
    }
    if (count != 1) return std::nullopt;
    const std::string before(s.substr(0, at));
    const std::string after(s.substr(at + 3));
    return std::pair{before + "+" + after, before + "-" + after};
  }

  Result<std::optional<Answer>> parse_matrix(std::string_view s, int depth) {
    // "(\begin{pmatrix}..\end{pmatrix})" and "[\begin{array}..\end{array}]" are the matrix too.
    if (s.size() > 2 && (s.front() == '(' || s.front() == '[') && close_of(s, 0) == s.size() &&
        s.substr(1).starts_with("\\begin{")) {
      s = s.substr(1, s.size() - 2);
    }
    static constexpr std::string_view kEnvironments[] = {"pmatrix", "bmatrix", "Bmatrix", "vmatrix",
                                                         "Vmatrix", "matrix",  "smallmatrix", "array"};
    for (std::string_view env : kEnvironments) {
      const std::string begin = "\\begin{" + std::string(env) + "}";
      const std::string end = "\\end{" + std::string(env) + "}";
      if (!s.starts_with(begin) || !s.ends_with(end) || s.size() < begin.size() + end.size()) continue;
      std::string_view content = s.substr(begin.size(), s.size() - begin.size() - end.size());
      if (env == "array" && content.starts_with('{')) {
        const std::size_t spec_end = close_of(content, 0);
        if (spec_end == std::string_view::npos) return std::optional<Answer>();
        content = content.substr(spec_end);
      }
      std::vector<std::string> rows = split_top_level(content, "\\\\");
      while (!rows.empty() && trim_ascii(rows.back()).empty()) rows.pop_back();
      Answer out;
      out.text = std::string(s);
      out.kind = Answer::Kind::kMatrix;
      out.rows = static_cast<int>(rows.size());
      for (const std::string& row : rows) {
        const std::vector<std::string> entries = split_top_level(row, "&");
        if (out.columns == 0) out.columns = static_cast<int>(entries.size());
        if (static_cast<int>(entries.size()) != out.columns) return std::optional<Answer>();  // ragged: text
        for (const std::string& entry : entries) {
          CARAVAN_ASSIGN_OR_RETURN(Answer parsed, parse(entry, depth + 1));
          out.items.push_back(std::move(parsed));
        }
      }
      if (out.rows == 0) return std::optional<Answer>();
      return std::optional<Answer>(std::move(out));
    }
    return std::optional<Answer>();
  }

  // left - right as an expression, or nullopt when a side is not an expression.
  std::optional<Expression> difference_of(std::string_view left, std::string_view right) {
    Result<Expression> parsed = Expression::parse("(" + std::string(left) + ")-(" + std::string(right) + ")", budget_);
    if (!parsed.ok()) return std::nullopt;
    return std::move(*parsed);
  }

  Result<Answer> text_answer(std::string_view s) {
    Answer out;
    out.text = std::string(s);
    return out;
  }

  // "variable in interval" for `variable` `kind` `bound` ("x < 3" -> x in (-inf, 3)).
  Result<Answer> membership(const std::string& variable, RelationKind kind, std::string_view bound, int depth) {
    std::string interval;
    const std::string b(bound);
    switch (kind) {
      case RelationKind::kLess: interval = "(-\\infty," + b + ")"; break;
      case RelationKind::kLessEqual: interval = "(-\\infty," + b + "]"; break;
      case RelationKind::kGreater: interval = "(" + b + ",\\infty)"; break;
      case RelationKind::kGreaterEqual: interval = "[" + b + ",\\infty)"; break;
      case RelationKind::kEqual:
      case RelationKind::kNotEqual:
      case RelationKind::kApprox:
      case RelationKind::kIn: return text_answer(variable);  // not reached: only orderings
    }
    Answer out;
    out.kind = Answer::Kind::kMembership;
    out.variable = variable;
    CARAVAN_ASSIGN_OR_RETURN(Answer set, parse(interval, depth + 1));
    out.items.push_back(std::move(set));
    return out;
  }

  static RelationKind flipped(RelationKind kind) {
    switch (kind) {
      case RelationKind::kLess: return RelationKind::kGreater;
      case RelationKind::kLessEqual: return RelationKind::kGreaterEqual;
      case RelationKind::kGreater: return RelationKind::kLess;
      case RelationKind::kGreaterEqual: return RelationKind::kLessEqual;
      case RelationKind::kEqual:
      case RelationKind::kNotEqual:
      case RelationKind::kApprox:
      case RelationKind::kIn: return kind;
    }
    return kind;
  }

  static bool is_ordering(RelationKind kind) {
    return kind == RelationKind::kLess || kind == RelationKind::kLessEqual || kind == RelationKind::kGreater ||
           kind == RelationKind::kGreaterEqual;
  }

  Result<Answer> parse_relation(const std::string& s, int depth) {
    const std::vector<RelationMark> marks = find_relations(s);
    std::vector<std::string> sides;
    std::vector<RelationKind> kinds;
    std::size_t start = 0;
    for (const RelationMark& mark : marks) {
      sides.emplace_back(trim_ascii(std::string_view(s).substr(start, mark.at - start)));
      kinds.push_back(mark.kind);
      start = mark.at + mark.width;
    }
    sides.emplace_back(trim_ascii(std::string_view(s).substr(start)));
    if (std::any_of(sides.begin(), sides.end(), [](const std::string& side) { return side.empty(); })) {
      return text_answer(s);
    }
    // An approximation after an exact value is dropped; "x \approx 11" reads as x = 11.
    if (auto approx = std::find(kinds.begin(), kinds.end(), RelationKind::kApprox); approx != kinds.end()) {
      const std::size_t i = static_cast<std::size_t>(approx - kinds.begin());
      if (i == 0 && !single_variable(sides[0], budget_).empty()) {
        sides = {sides[0], sides.back()};
        kinds = {RelationKind::kEqual};
      } else {
        sides.resize(i + 1);
        kinds.resize(i);
      }
      if (std::find(kinds.begin(), kinds.end(), RelationKind::kApprox) != kinds.end()) return text_answer(s);
    }
    if (kinds.empty()) return parse(sides[0], depth + 1);
    if (kinds.size() == 1 && kinds[0] == RelationKind::kIn) {
      const std::string variable = single_variable(sides[0], budget_);
      if (variable.empty()) return text_answer(s);
      Answer out;
      out.text = s;
      out.kind = Answer::Kind::kMembership;
      out.variable = variable;
      CARAVAN_ASSIGN_OR_RETURN(Answer set, parse(sides[1], depth + 1));
      out.items.push_back(std::move(set));
      return out;
    }
    if (std::all_of(kinds.begin(), kinds.end(), [](RelationKind k) { return k == RelationKind::kEqual; })) {
      return parse_equation(s, sides, depth);
    }
    if (kinds.size() == 1 && (is_ordering(kinds[0]) || kinds[0] == RelationKind::kNotEqual)) {
      return parse_inequality(s, sides[0], kinds[0], sides[1], depth);
    }
    if (kinds.size() == 2 && is_ordering(kinds[0]) && is_ordering(kinds[1])) {
      return parse_double_inequality(s, sides, kinds, depth);
    }
    return text_answer(s);
  }

  Result<Answer> parse_equation(const std::string& s, std::vector<std::string> sides, int depth) {
    if (sides.size() > 2) {
      // A chain: "x = 5+5+1 = 11" is x = 11; "2+2 = 4 = 4" is the value 4.
      if (single_variable(sides[0], budget_).empty() && !has_free_letters(sides[0]) && !has_free_letters(sides.back())) {
        return parse(sides.back(), depth + 1);
      }
      sides = {sides.front(), sides.back()};
    }
    for (int side = 0; side < 2; ++side) {
      const std::string variable = single_variable(sides[static_cast<std::size_t>(side)], budget_);
      const std::string& other = sides[static_cast<std::size_t>(1 - side)];
      if (variable.empty() || mentions_variable(other, variable)) continue;
      Answer out;
      out.text = s;
      out.kind = Answer::Kind::kSolution;
      out.variable = variable;
      CARAVAN_ASSIGN_OR_RETURN(Answer value, parse(other, depth + 1));
      out.items.push_back(std::move(value));
      out.difference = difference_of(sides[0], sides[1]);
      return out;
    }
    // "1/2 = 5/10": a computation whose result is the right side.
    if (!has_free_letters(sides[0]) && !has_free_letters(sides[1])) return parse(sides[1], depth + 1);
    Answer out;
    out.text = s;
    out.difference = difference_of(sides[0], sides[1]);
    if (!out.difference) return out;
    out.kind = Answer::Kind::kEquation;
    return out;
  }

  Result<Answer> parse_inequality(const std::string& s, const std::string& left, RelationKind kind,
                                  const std::string& right, int depth) {
    Answer out;
    out.text = s;
    if (kind != RelationKind::kNotEqual) {
      const std::string left_variable = single_variable(left, budget_);
      const std::string right_variable = single_variable(right, budget_);
      if (!left_variable.empty() && !has_free_letters(right)) {
        CARAVAN_ASSIGN_OR_RETURN(out, membership(left_variable, kind, right, depth));
      } else if (!right_variable.empty() && !has_free_letters(left)) {
        CARAVAN_ASSIGN_OR_RETURN(out, membership(right_variable, flipped(kind), left, depth));
      }
      out.text = s;
    }
    // "left > right" is "right - left < 0".
    const bool greater = kind == RelationKind::kGreater || kind == RelationKind::kGreaterEqual;
    out.difference = greater ? difference_of(right, left) : difference_of(left, right);
    out.op = kind == RelationKind::kNotEqual ? InequalityOp::kNotEqual
             : (kind == RelationKind::kLess || kind == RelationKind::kGreater) ? InequalityOp::kLess
                                                                                : InequalityOp::kLessEqual;
    if (out.kind != Answer::Kind::kMembership && out.difference) out.kind = Answer::Kind::kInequality;
    return out;
  }

  // "a < x <= b" (or with > both ways) with one variable in the middle: x in (a, b].
  Result<Answer> parse_double_inequality(const std::string& s, const std::vector<std::string>& sides,
                                         const std::vector<RelationKind>& kinds, int depth) {
    const std::string variable = single_variable(sides[1], budget_);
    const bool ascending = (kinds[0] == RelationKind::kLess || kinds[0] == RelationKind::kLessEqual) &&
                           (kinds[1] == RelationKind::kLess || kinds[1] == RelationKind::kLessEqual);
    const bool descending = !ascending && !(kinds[0] == RelationKind::kLess || kinds[0] == RelationKind::kLessEqual) &&
                            !(kinds[1] == RelationKind::kLess || kinds[1] == RelationKind::kLessEqual);
    if (variable.empty() || has_free_letters(sides[0]) || has_free_letters(sides[2]) || !(ascending || descending)) {
      return text_answer(s);
    }
    const std::string& low = ascending ? sides[0] : sides[2];
    const std::string& high = ascending ? sides[2] : sides[0];
    const bool low_closed = (ascending ? kinds[0] : kinds[1]) == (ascending ? RelationKind::kLessEqual : RelationKind::kGreaterEqual);
    const bool high_closed = (ascending ? kinds[1] : kinds[0]) == (ascending ? RelationKind::kLessEqual : RelationKind::kGreaterEqual);
    Answer out;
    out.text = s;
    out.kind = Answer::Kind::kMembership;
    out.variable = variable;
    CARAVAN_ASSIGN_OR_RETURN(Answer set, parse(std::string(low_closed ? "[" : "(") + low + "," + high +
                                                   (high_closed ? "]" : ")"), depth + 1));
    out.items.push_back(std::move(set));
    return out;
  }

  EvalBudget& budget_;
};

} // namespace

Result<Answer> parse_answer(std::string_view text, EvalBudget& budget) {
  StructureParser parser(budget);
  return parser.parse(text, 0);
}

} // namespace caravan::rewards::math
