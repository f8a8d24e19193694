#include "rewards/math/answer_equivalence.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "rewards/ascii.h"

namespace caravan::rewards::math {
namespace {

bool is_relation(Answer::Kind kind) {
  return kind == Answer::Kind::kSolution || kind == Answer::Kind::kMembership || kind == Answer::Kind::kEquation ||
         kind == Answer::Kind::kInequality;
}

bool is_set_like(Answer::Kind kind) {
  return kind == Answer::Kind::kTuple || kind == Answer::Kind::kSet || kind == Answer::Kind::kUnion;
}

// The words of a text answer, lower-cased and without "\text{...}" wrappers ("\text{Yes}" ->
// "yes"), or nullopt when the text is more than words (a formula keeps its letter case).
std::optional<std::string> plain_words(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i).starts_with("\\text{")) {
      i += 5;
      continue;
    }
    const char c = text[i];
    if (c == '}') continue;
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!letter && c != ' ' && c != '\'' && c != '-' && c != ',') return std::nullopt;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return std::string(trim_ascii(out));
}

// Text answers: the same words in any letter case, or else exactly the same text.
Equality same_text(std::string_view a, std::string_view r) {
  const std::optional<std::string> a_words = plain_words(a);
  const std::optional<std::string> r_words = plain_words(r);
  if (a_words && r_words) return *a_words == *r_words ? Equality::kEqual : Equality::kUnequal;
  return a == r ? Equality::kEqual : Equality::kUnequal;
}

// The choice letter an answer names: a kChoice, or a single letter A-E in either case.
char named_letter(const Answer& answer) {
  if (answer.kind == Answer::Kind::kChoice) return answer.letter;
  if (answer.text.size() == 1) {
    const char c = answer.text[0];
    if (c >= 'A' && c <= 'E') return c;
    if (c >= 'a' && c <= 'e') return static_cast<char>(c - 'a' + 'A');
  }
  return '\0';
}

class Comparer {
 public:
  Comparer(const mpq_class& tolerance, EvalBudget& budget) : tolerance_(tolerance), budget_(budget) {}

  Result<Equality> equal(const Answer& a, const Answer& r) {
    CARAVAN_RETURN_IF_ERROR(budget_.tick());
    if (!a.text.empty() && a.text == r.text) return Equality::kEqual;
    // The value of "x = 3" or the set of "x \in [0,1]" answers a reference without the variable.
    if (a.kind == Answer::Kind::kSolution && !is_relation(r.kind)) return equal(a.items[0], r);
    if (a.kind == Answer::Kind::kMembership && is_set_like(r.kind)) return equal(a.items[0], r);
    switch (r.kind) {
      case Answer::Kind::kText:
        return same_text(a.text, r.text);
      case Answer::Kind::kChoice:
        return named_letter(a) == r.letter ? Equality::kEqual : Equality::kUnequal;
      case Answer::Kind::kExpression:
        if (a.kind != Answer::Kind::kExpression) return Equality::kUnequal;
        return expressions_equal(*a.expression, *r.expression, tolerance_, budget_);
      case Answer::Kind::kTuple:
        if (a.kind == Answer::Kind::kTuple && a.open == r.open && a.close == r.close) return ordered(a.items, r.items);
        if (a.kind == Answer::Kind::kSet && a.bare && r.open == '(' && r.close == ')') return ordered(a.items, r.items);
        return Equality::kUnequal;
      case Answer::Kind::kSet:
      case Answer::Kind::kUnion:
        if (a.kind != r.kind) return Equality::kUnequal;
        return unordered(a.items, r.items);
      case Answer::Kind::kMatrix:
        if (a.kind != Answer::Kind::kMatrix || a.rows != r.rows || a.columns != r.columns) return Equality::kUnequal;
        return ordered(a.items, r.items);
      case Answer::Kind::kSolution:
        if (a.kind == Answer::Kind::kSolution) {
          return a.variable == r.variable ? equal(a.items[0], r.items[0]) : Equality::kUnequal;
        }
        if (!is_relation(a.kind)) return equal(a, r.items[0]);
        // "y = 2x + 1" is also an equation; "x = 3" needs the variable isolated.
        if (a.kind == Answer::Kind::kEquation && r.items[0].expression && !r.items[0].expression->variables().empty()) {
          return relation_multiple(a, r, Factor::kNonzero);
        }
        return Equality::kUnequal;
      case Answer::Kind::kEquation:
        if (a.kind != Answer::Kind::kEquation && a.kind != Answer::Kind::kSolution) return Equality::kUnequal;
        return relation_multiple(a, r, Factor::kNonzero);
      case Answer::Kind::kInequality:
        if (a.kind != Answer::Kind::kInequality && a.kind != Answer::Kind::kMembership) return Equality::kUnequal;
        return inequality_multiple(a, r);
      case Answer::Kind::kMembership:
        if (a.kind == Answer::Kind::kMembership) {
          if (a.variable != r.variable) return Equality::kUnequal;
          CARAVAN_ASSIGN_OR_RETURN(Equality sets, equal(a.items[0], r.items[0]));
          if (sets == Equality::kEqual || !a.difference || !r.difference) return sets;
          return inequality_multiple(a, r);
        }
        if (is_set_like(a.kind)) return equal(a, r.items[0]);
        if (a.kind == Answer::Kind::kInequality) return inequality_multiple(a, r);
        return Equality::kUnequal;
    }
    return Equality::kUnequal;
  }

 private:
  Result<Equality> relation_multiple(const Answer& a, const Answer& r, Factor factor) {
    if (!a.difference || !r.difference) return Equality::kUnequal;
    return proportional(*a.difference, *r.difference, factor, budget_);
  }

  Result<Equality> inequality_multiple(const Answer& a, const Answer& r) {
    if (a.op != r.op || !a.difference || !r.difference) return Equality::kUnequal;
    return relation_multiple(a, r, r.op == InequalityOp::kNotEqual ? Factor::kNonzero : Factor::kPositive);
  }

  Result<Equality> ordered(const std::vector<Answer>& a, const std::vector<Answer>& r) {
    if (a.size() != r.size()) return Equality::kUnequal;
    Equality verdict = Equality::kEqual;
    for (std::size_t i = 0; i < a.size(); ++i) {
      CARAVAN_ASSIGN_OR_RETURN(Equality same, equal(a[i], r[i]));
      if (same == Equality::kUnequal) return same;
      if (same == Equality::kUndecided) verdict = same;
    }
    return verdict;
  }

  // Greedy matching; items are few (solution lists), so O(n^2) comparisons are fine.
  Result<Equality> unordered(const std::vector<Answer>& a, const std::vector<Answer>& r) {
    if (a.size() != r.size()) return Equality::kUnequal;
    std::vector<bool> used(a.size(), false);
    bool undecided = false;
    for (const Answer& wanted : r) {
      bool matched = false;
      for (std::size_t j = 0; j < a.size() && !matched; ++j) {
        if (used[j]) continue;
        CARAVAN_ASSIGN_OR_RETURN(Equality same, equal(a[j], wanted));
        if (same == Equality::kEqual) used[j] = matched = true;
        if (same == Equality::kUndecided) undecided = true;
      }
      if (!matched) return undecided ? Equality::kUndecided : Equality::kUnequal;
    }
    return Equality::kEqual;
  }

  const mpq_class& tolerance_;
  EvalBudget& budget_;
};

} // namespace

Result<Equality> answers_equal(const Answer& answer, const Answer& reference, const mpq_class& tolerance,
                               EvalBudget& budget) {
  Comparer comparer(tolerance, budget);
  return comparer.equal(answer, reference);
}

} // namespace caravan::rewards::math
