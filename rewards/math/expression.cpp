#include "rewards/math/expression.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

#include "core/str_cat.h"
#include "rewards/ascii.h"

namespace caravan::rewards::math {

Status EvalBudget::tick() {
  if (!expired_ && (++steps_ & 63) == 0 && std::chrono::steady_clock::now() >= end_) expired_ = true;
  if (expired_) return Status::timeout("math check exceeded its deadline");
  return Status::ok_status();
}

enum class NodeKind { kNumber, kVariable, kAdd, kSub, kMul, kDiv, kPow, kNeg, kRoot };

struct ExprNode {
  NodeKind kind = NodeKind::kNumber;
  MathValue value;   // kNumber
  std::string name;  // kVariable
  std::unique_ptr<ExprNode> lhs;  // operand of kNeg; radicand of kRoot
  std::unique_ptr<ExprNode> rhs;  // root index of kRoot (may be null: square root)
};

namespace {

using Node = std::unique_ptr<ExprNode>;
using i128 = __int128;

constexpr int kMaxDepth = 200;

i128 abs128(i128 v) { return v < 0 ? -v : v; }

i128 gcd128(i128 a, i128 b) {
  a = abs128(a);
  b = abs128(b);
  while (b != 0) {
    const i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

MathValue inexact(double d) { return {false, 0, 1, d}; }

// The inexact result of an operation on `a` and `b`: an infinity produced from finite operands
// (overflow such as 2^{10^9}, or division by zero) is NaN, so it never equals a written \infty.
MathValue inexact_result(double d, const MathValue& a, const MathValue& b) {
  if (std::isinf(d) && std::isfinite(a.approx) && std::isfinite(b.approx)) return inexact(NAN);
  return inexact(d);
}

// Reduced rational, or inexact when den == 0.
MathValue make_rational(i128 num, i128 den) {
  if (den == 0) return inexact(num == 0 ? NAN : (num > 0 ? INFINITY : -INFINITY));
  if (den < 0) {
    num = -num;
    den = -den;
  }
  const i128 g = gcd128(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  return {true, num, den, static_cast<double>(num) / static_cast<double>(den)};
}

MathValue add(const MathValue& a, const MathValue& b, bool subtract) {
  if (a.exact && b.exact) {
    i128 x, y, d, n;
    const i128 bn = subtract ? -b.num : b.num;
    if (!__builtin_mul_overflow(a.num, b.den, &x) && !__builtin_mul_overflow(bn, a.den, &y) &&
        !__builtin_add_overflow(x, y, &n) && !__builtin_mul_overflow(a.den, b.den, &d)) {
      return make_rational(n, d);
    }
  }
  return inexact_result(subtract ? a.approx - b.approx : a.approx + b.approx, a, b);
}

MathValue mul(const MathValue& a, const MathValue& b) {
  if (a.exact && b.exact) {
    i128 n, d;
    if (!__builtin_mul_overflow(a.num, b.num, &n) && !__builtin_mul_overflow(a.den, b.den, &d)) {
      return make_rational(n, d);
    }
  }
  return inexact_result(a.approx * b.approx, a, b);
}

MathValue divide(const MathValue& a, const MathValue& b) {
  if (a.exact && b.exact && b.num != 0) {
    i128 n, d;
    if (!__builtin_mul_overflow(a.num, b.den, &n) && !__builtin_mul_overflow(a.den, b.num, &d)) {
      return make_rational(n, d);
    }
  }
  return inexact_result(a.approx / b.approx, a, b);
}

// Exact integer square root when `v` is a perfect square (v >= 0).
bool exact_isqrt(i128 v, i128* root) {
  if (v < 0) return false;
  i128 r = static_cast<i128>(std::sqrt(static_cast<double>(v)));
  for (i128 c = std::max<i128>(0, r - 2); c <= r + 2; ++c) {
    i128 sq;
    if (!__builtin_mul_overflow(c, c, &sq) && sq == v) {
      *root = c;
      return true;
    }
  }
  return false;
}

bool exact_icbrt(i128 v, i128* root) {
  const bool negative = v < 0;
  const i128 a = abs128(v);
  i128 r = static_cast<i128>(std::cbrt(static_cast<double>(a)));
  for (i128 c = std::max<i128>(0, r - 2); c <= r + 2; ++c) {
    i128 sq, cube;
    if (!__builtin_mul_overflow(c, c, &sq) && !__builtin_mul_overflow(sq, c, &cube) && cube == a) {
      *root = negative ? -c : c;
      return true;
    }
  }
  return false;
}

MathValue root(const MathValue& radicand, const MathValue* index) {
  double n = 2.0;
  if (index != nullptr) n = index->approx;
  if (radicand.exact && (index == nullptr || (index->exact && index->den == 1 && (index->num == 2 || index->num == 3)))) {
    const bool cube = index != nullptr && index->num == 3;
    i128 rn, rd;
    if (cube ? exact_icbrt(radicand.num, &rn) && exact_icbrt(radicand.den, &rd)
             : exact_isqrt(radicand.num, &rn) && exact_isqrt(radicand.den, &rd)) {
      return make_rational(rn, rd);
    }
  }
  if (n == 3.0) return inexact(std::cbrt(radicand.approx));
  return inexact(std::pow(radicand.approx, 1.0 / n));
}

Result<MathValue> power(const MathValue& base, const MathValue& exponent, EvalBudget& budget) {
  if (base.exact && exponent.exact && exponent.den == 1 && abs128(exponent.num) <= 256) {
    MathValue result = make_rational(1, 1);
    const i128 count = abs128(exponent.num);
    for (i128 i = 0; i < count && result.exact; ++i) {
      CARAVAN_RETURN_IF_ERROR(budget.tick());
      result = mul(result, base);
    }
    if (result.exact) return exponent.num < 0 ? divide(make_rational(1, 1), result) : result;
  }
  if (base.exact && exponent.exact && exponent.den == 2 && base.num >= 0) {
    // x^{p/2} = sqrt(x)^p keeps perfect squares exact.
    const MathValue r = root(base, nullptr);
    if (r.exact) return power(r, make_rational(exponent.num, 1), budget);
  }
  return inexact_result(std::pow(base.approx, exponent.approx), base, exponent);
}

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

Node make_node(NodeKind kind, Node lhs = nullptr, Node rhs = nullptr) {
  auto node = std::make_unique<ExprNode>();
  node->kind = kind;
  node->lhs = std::move(lhs);
  node->rhs = std::move(rhs);
  return node;
}

Node make_number(MathValue v) {
  auto node = make_node(NodeKind::kNumber);
  node->value = v;
  return node;
}

// Greek letters accepted as variable names.
bool is_greek(std::string_view name) {
  static constexpr std::string_view kGreek[] = {"alpha", "beta", "gamma", "delta", "theta",
                                                "lambda", "mu", "phi", "omega", "sigma", "tau"};
  return std::find(std::begin(kGreek), std::end(kGreek), name) != std::end(kGreek);
}

class Parser {
 public:
  Parser(std::string_view text, EvalBudget& budget, std::set<std::string>& variables)
      : text_(text), budget_(budget), variables_(variables) {}

  Result<Node> parse_all() {
    CARAVAN_ASSIGN_OR_RETURN(Node node, parse_sum());
    skip_spaces();
    if (pos_ != text_.size()) return error("unexpected text");
    return node;
  }

 private:
  Status error(std::string_view what) const {
    return Status::invalid_argument(str_cat("expression: ", what, " at offset ", pos_, " in '", text_, "'"));
  }
  void skip_spaces() {
    while (pos_ < text_.size() && is_ascii_space(text_[pos_])) ++pos_;
  }
  char peek() {
    skip_spaces();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  // The command name at pos_ ("frac" for "\frac"), without consuming it.
  std::string_view peek_command() {
    skip_spaces();
    if (pos_ >= text_.size() || text_[pos_] != '\\') return {};
    std::size_t end = pos_ + 1;
    while (end < text_.size() && is_letter(text_[end])) ++end;
    return text_.substr(pos_ + 1, end - pos_ - 1);
  }
  Status enter() {
    CARAVAN_RETURN_IF_ERROR(budget_.tick());
    if (++depth_ > kMaxDepth) return error("nesting too deep");
    return Status::ok_status();
  }

  Result<Node> parse_sum() {
    CARAVAN_RETURN_IF_ERROR(enter());
    CARAVAN_ASSIGN_OR_RETURN(Node lhs, parse_product());
    for (char c = peek(); c == '+' || c == '-'; c = peek()) {
      ++pos_;
      CARAVAN_ASSIGN_OR_RETURN(Node rhs, parse_product());
      lhs = make_node(c == '+' ? NodeKind::kAdd : NodeKind::kSub, std::move(lhs), std::move(rhs));
    }
    --depth_;
    return lhs;
  }

  bool starts_primary() {
    const char c = peek();
    if (is_ascii_digit(c) || c == '.' || is_letter(c) || c == '(' || c == '{') return true;
    const std::string_view cmd = peek_command();
    return cmd == "frac" || cmd == "sqrt" || cmd == "pi" || cmd == "infty" || is_greek(cmd);
  }

  Result<Node> parse_product() {
    CARAVAN_RETURN_IF_ERROR(enter());
    CARAVAN_ASSIGN_OR_RETURN(Node lhs, parse_unary());
    while (true) {
      const char c = peek();
      if (c == '*' || c == '/') {
        ++pos_;
        CARAVAN_ASSIGN_OR_RETURN(Node rhs, parse_unary());
        lhs = make_node(c == '*' ? NodeKind::kMul : NodeKind::kDiv, std::move(lhs), std::move(rhs));
      } else if (starts_primary()) {
        CARAVAN_ASSIGN_OR_RETURN(Node rhs, parse_power());
        lhs = make_node(NodeKind::kMul, std::move(lhs), std::move(rhs));
      } else {
        break;
      }
    }
    --depth_;
    return lhs;
  }

  Result<Node> parse_unary() {
    CARAVAN_RETURN_IF_ERROR(enter());
    const char c = peek();
    Node node;
    if (c == '-' || c == '+') {
      ++pos_;
      CARAVAN_ASSIGN_OR_RETURN(Node operand, parse_unary());
      node = c == '-' ? make_node(NodeKind::kNeg, std::move(operand)) : std::move(operand);
    } else {
      CARAVAN_ASSIGN_OR_RETURN(node, parse_power());
    }
    --depth_;
    return node;
  }

  Result<Node> parse_power() {
    CARAVAN_RETURN_IF_ERROR(enter());
    CARAVAN_ASSIGN_OR_RETURN(Node base, parse_primary());
    if (peek() == '^') {
      ++pos_;
      // Right-associative; the exponent may carry a sign ("2^-1", "2^{-1}").
      CARAVAN_ASSIGN_OR_RETURN(Node exponent, parse_exponent());
      base = make_node(NodeKind::kPow, std::move(base), std::move(exponent));
    }
    --depth_;
    return base;
  }

  Result<Node> parse_exponent() {
    const char c = peek();
    if (c == '-' || c == '+') {
      ++pos_;
      CARAVAN_ASSIGN_OR_RETURN(Node operand, parse_exponent());
      return c == '-' ? make_node(NodeKind::kNeg, std::move(operand)) : std::move(operand);
    }
    // "x^23" in LaTeX is x^2 * 3; a bare digit exponent is one character.
    if (is_ascii_digit(c)) {
      Node digit = make_number(make_rational(text_[pos_] - '0', 1));
      ++pos_;
      if (peek() != '^') return digit;
      ++pos_;
      CARAVAN_ASSIGN_OR_RETURN(Node exponent, parse_exponent());
      return make_node(NodeKind::kPow, std::move(digit), std::move(exponent));
    }
    return parse_power();
  }

  Result<Node> parse_group(char open, char close) {
    if (peek() != open) return error(str_cat("expected '", std::string(1, open), "'"));
    ++pos_;
    CARAVAN_ASSIGN_OR_RETURN(Node inner, parse_sum());
    if (peek() != close) return error(str_cat("expected '", std::string(1, close), "'"));
    ++pos_;
    return inner;
  }

  Result<Node> parse_number() {
    const std::size_t start = pos_;
    i128 num = 0;
    i128 den = 1;
    bool overflow = false;
    bool digits = false;
    bool point = false;
    while (pos_ < text_.size() && (is_ascii_digit(text_[pos_]) || (text_[pos_] == '.' && !point))) {
      if (text_[pos_] == '.') {
        // "3." followed by a non-digit: the dot is not part of the number.
        if (pos_ + 1 >= text_.size() || !is_ascii_digit(text_[pos_ + 1])) break;
        point = true;
      } else {
        digits = true;
        overflow = overflow || __builtin_mul_overflow(num, 10, &num) ||
                   __builtin_add_overflow(num, text_[pos_] - '0', &num) ||
                   (point && __builtin_mul_overflow(den, 10, &den));
      }
      ++pos_;
    }
    if (!digits) return error("expected a number");
    std::string literal(text_.substr(start, pos_ - start));
    MathValue value = overflow ? inexact(std::strtod(literal.c_str(), nullptr)) : make_rational(num, den);
    // Scientific notation: 1.5e3, 2E-4 (an 'e' followed by an optional sign and a digit).
    if (pos_ + 1 < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      std::size_t p = pos_ + 1;
      bool negative = false;
      if (text_[p] == '-' || text_[p] == '+') negative = text_[p++] == '-';
      if (p < text_.size() && is_ascii_digit(text_[p])) {
        long exponent = 0;
        while (p < text_.size() && is_ascii_digit(text_[p]) && exponent < 100000) exponent = exponent * 10 + (text_[p++] - '0');
        pos_ = p;
        CARAVAN_ASSIGN_OR_RETURN(MathValue scale,
                                 power(make_rational(10, 1), make_rational(negative ? -exponent : exponent, 1), budget_));
        value = mul(value, scale);
      }
    }
    Node node = make_number(value);
    // Mixed number: an integer literal directly followed by \frac{int}{int}.
    if (!point && value.exact && value.den == 1 && pos_ < text_.size() && text_.substr(pos_).starts_with("\\frac{")) {
      const std::size_t save = pos_;
      pos_ += 5;
      // On any failure the text is re-read below as a product ("2\frac{\pi}{3}"); a timeout
      // is sticky in the budget and resurfaces at the next tick.
      Result<Node> numerator = parse_group('{', '}');
      Result<Node> denominator = numerator.ok() ? parse_group('{', '}') : numerator.status();
      if (numerator.ok() && denominator.ok() && (*numerator)->kind == NodeKind::kNumber &&
          (*denominator)->kind == NodeKind::kNumber && (*numerator)->value.exact &&
          (*numerator)->value.den == 1 && (*denominator)->value.exact && (*denominator)->value.den == 1) {
        return make_node(NodeKind::kAdd, std::move(node),
                         make_node(NodeKind::kDiv, std::move(*numerator), std::move(*denominator)));
      }
      pos_ = save;
    }
    return node;
  }

  Result<Node> parse_primary() {
    CARAVAN_RETURN_IF_ERROR(enter());
    const char c = peek();
    Node node;
    if (is_ascii_digit(c) || c == '.') {
      CARAVAN_ASSIGN_OR_RETURN(node, parse_number());
    } else if (c == '(') {
      CARAVAN_ASSIGN_OR_RETURN(node, parse_group('(', ')'));
    } else if (c == '{') {
      CARAVAN_ASSIGN_OR_RETURN(node, parse_group('{', '}'));
    } else if (is_letter(c)) {
      node = make_node(NodeKind::kVariable);
      node->name = std::string(1, c);
      variables_.insert(node->name);
      ++pos_;
    } else if (c == '\\') {
      const std::string_view cmd = peek_command();
      pos_ += 1 + cmd.size();
      if (cmd == "frac") {
        CARAVAN_ASSIGN_OR_RETURN(Node numerator, parse_argument());
        CARAVAN_ASSIGN_OR_RETURN(Node denominator, parse_argument());
        node = make_node(NodeKind::kDiv, std::move(numerator), std::move(denominator));
      } else if (cmd == "sqrt") {
        Node index;
        if (peek() == '[') {
          CARAVAN_ASSIGN_OR_RETURN(index, parse_group('[', ']'));
        }
        CARAVAN_ASSIGN_OR_RETURN(Node radicand, parse_argument());
        node = make_node(NodeKind::kRoot, std::move(radicand), std::move(index));
      } else if (cmd == "pi") {
        node = make_number(inexact(std::numbers::pi));
      } else if (cmd == "infty") {
        node = make_number(inexact(INFINITY));
      } else if (is_greek(cmd)) {
        node = make_node(NodeKind::kVariable);
        node->name = str_cat("\\", cmd);
        variables_.insert(node->name);
      } else {
        return error(str_cat("unsupported command '\\", cmd, "'"));
      }
    } else {
      return error("expected a number, variable or group");
    }
    --depth_;
    return node;
  }

  // A command argument: a braced group, or one digit / letter / command ("\frac\pi2").
  Result<Node> parse_argument() {
    const char c = peek();
    if (c == '{') return parse_group('{', '}');
    if (is_ascii_digit(c)) {
      MathValue v = make_rational(c - '0', 1);
      ++pos_;
      return make_number(v);
    }
    return parse_primary();
  }

  std::string_view text_;
  EvalBudget& budget_;
  std::set<std::string>& variables_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

Result<MathValue> evaluate_node(const ExprNode& node, const std::map<std::string, double>& bindings,
                                EvalBudget& budget) {
  CARAVAN_RETURN_IF_ERROR(budget.tick());
  switch (node.kind) {
    case NodeKind::kNumber:
      return node.value;
    case NodeKind::kVariable: {
      auto it = bindings.find(node.name);
      if (it == bindings.end()) return Status::invalid_argument(str_cat("unbound variable '", node.name, "'"));
      return inexact(it->second);
    }
    case NodeKind::kNeg: {
      CARAVAN_ASSIGN_OR_RETURN(MathValue v, evaluate_node(*node.lhs, bindings, budget));
      if (v.exact) return make_rational(-v.num, v.den);
      return inexact(-v.approx);
    }
    case NodeKind::kRoot: {
      CARAVAN_ASSIGN_OR_RETURN(MathValue radicand, evaluate_node(*node.lhs, bindings, budget));
      if (node.rhs == nullptr) return root(radicand, nullptr);
      CARAVAN_ASSIGN_OR_RETURN(MathValue index, evaluate_node(*node.rhs, bindings, budget));
      return root(radicand, &index);
    }
    case NodeKind::kAdd:
    case NodeKind::kSub:
    case NodeKind::kMul:
    case NodeKind::kDiv:
    case NodeKind::kPow: {
      CARAVAN_ASSIGN_OR_RETURN(MathValue a, evaluate_node(*node.lhs, bindings, budget));
      CARAVAN_ASSIGN_OR_RETURN(MathValue b, evaluate_node(*node.rhs, bindings, budget));
      if (node.kind == NodeKind::kAdd) return add(a, b, false);
      if (node.kind == NodeKind::kSub) return add(a, b, true);
      if (node.kind == NodeKind::kMul) return mul(a, b);
      if (node.kind == NodeKind::kDiv) return divide(a, b);
      return power(a, b, budget);
    }
  }
  return Status::internal("unknown expression node");
}

bool close_enough(const MathValue& a, const MathValue& b, double relative_tolerance, bool decimal) {
  if (a.exact && b.exact && a.num == b.num && a.den == b.den) return true;
  if (a.exact && b.exact && !decimal) return false;
  const double x = a.approx;
  const double y = b.approx;
  if (std::isnan(x) || std::isnan(y)) return false;
  if (std::isinf(x) || std::isinf(y)) return x == y;
  return std::fabs(x - y) <= relative_tolerance * std::max(std::fabs(x), std::fabs(y)) + 1e-12;
}

} // namespace

Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;
Expression::~Expression() = default;

Result<Expression> Expression::parse(std::string_view text, EvalBudget& budget) {
  Expression expression;
  Parser parser(text, budget, expression.variables_);
  CARAVAN_ASSIGN_OR_RETURN(expression.root_, parser.parse_all());
  return expression;
}

Result<MathValue> Expression::evaluate(const std::map<std::string, double>& bindings, EvalBudget& budget) const {
  return evaluate_node(*root_, bindings, budget);
}

Result<bool> expressions_equivalent(const Expression& a, const Expression& b, double relative_tolerance,
                                    EvalBudget& budget, bool decimal_tolerance) {
  if (a.variables() != b.variables()) return false;
  if (a.variables().empty()) {
    CARAVAN_ASSIGN_OR_RETURN(MathValue x, a.evaluate({}, budget));
    CARAVAN_ASSIGN_OR_RETURN(MathValue y, b.evaluate({}, budget));
    return close_enough(x, y, relative_tolerance, decimal_tolerance);
  }
  std::mt19937 rng(20240527);  // fixed: verdicts must be reproducible
  std::uniform_real_distribution<double> dist(0.3, 2.7);
  int defined = 0;
  for (int point = 0; point < 8; ++point) {
    std::map<std::string, double> bindings;
    for (const std::string& name : a.variables()) bindings[name] = dist(rng);
    CARAVAN_ASSIGN_OR_RETURN(MathValue x, a.evaluate(bindings, budget));
    CARAVAN_ASSIGN_OR_RETURN(MathValue y, b.evaluate(bindings, budget));
    const bool x_defined = std::isfinite(x.approx);
    const bool y_defined = std::isfinite(y.approx);
    if (!x_defined && !y_defined) continue;
    if (x_defined != y_defined) return false;
    ++defined;
    // Points are inexact; use a slightly looser tolerance for accumulated rounding.
    if (!close_enough(inexact(x.approx), inexact(y.approx), std::max(relative_tolerance, 1e-9), true)) return false;
  }
  return defined >= 3;
}

} // namespace caravan::rewards::math
