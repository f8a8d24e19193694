#include "rewards/math/expression.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/str_cat.h"
#include "rewards/ascii.h"
#include "rewards/math/real_compare.h"

namespace caravan::rewards::math {

enum class NodeKind {
  kNumber,
  kVariable,
  kConstant,
  kInfinity,
  kAdd,
  kSubtract,
  kMultiply,
  kDivide,
  kPower,
  kNegate,
  kRoot,
  kFactorial,
  kBinomial,
};

struct ExprNode {
  NodeKind kind = NodeKind::kNumber;
  mpq_class number;               // kNumber
  std::string name;               // kVariable, kConstant
  std::unique_ptr<ExprNode> lhs;  // operand; radicand of kRoot; n of kBinomial
  std::unique_ptr<ExprNode> rhs;  // right operand; index of kRoot (null: square root); k of kBinomial
};

namespace {

using Node = std::unique_ptr<ExprNode>;

constexpr int kMaxDepth = 200;
// Largest |exponent| of scientific notation, longest number literal (digits), and largest n of n!.
constexpr long kMaxDecimalExponent = 10000;
constexpr std::size_t kMaxLiteralDigits = 20000;
constexpr unsigned long kMaxFactorial = 3000;

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

Node make_node(NodeKind kind, Node lhs = nullptr, Node rhs = nullptr) {
  auto node = std::make_unique<ExprNode>();
  node->kind = kind;
  node->lhs = std::move(lhs);
  node->rhs = std::move(rhs);
  return node;
}

Node make_number(mpq_class value) {
  auto node = make_node(NodeKind::kNumber);
  node->number = std::move(value);
  node->number.canonicalize();
  return node;
}

} // namespace

bool is_variable_command(std::string_view name) {
  static constexpr std::string_view kGreek[] = {"alpha", "beta",  "gamma", "delta", "epsilon", "varepsilon",
                                                "zeta",  "eta",   "theta", "vartheta", "iota", "kappa",
                                                "lambda", "mu",   "nu",    "xi",    "rho",   "sigma",
                                                "tau",   "upsilon", "phi", "varphi", "chi",  "psi",
                                                "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi",
                                                "Sigma", "Phi",   "Psi",   "Omega"};
  return std::find(std::begin(kGreek), std::end(kGreek), name) != std::end(kGreek);
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, EvalBudget& budget, std::set<std::string>& variables,
         std::set<std::string>& constants)
      : text_(text), budget_(budget), variables_(variables), constants_(constants) {}

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
      lhs = make_node(c == '+' ? NodeKind::kAdd : NodeKind::kSubtract, std::move(lhs), std::move(rhs));
    }
    --depth_;
    return lhs;
  }

  bool starts_primary() {
    const char c = peek();
    if (is_ascii_digit(c) || c == '.' || is_letter(c) || c == '(' || c == '{') return true;
    const std::string_view cmd = peek_command();
    return cmd == "frac" || cmd == "sqrt" || cmd == "pi" || cmd == "infty" || cmd == "binom" || cmd == "exp" ||
           is_variable_command(cmd);
  }

  Result<Node> parse_product() {
    CARAVAN_RETURN_IF_ERROR(enter());
    CARAVAN_ASSIGN_OR_RETURN(Node lhs, parse_unary());
    while (true) {
      const char c = peek();
      if (c == '*' || c == '/') {
        ++pos_;
        CARAVAN_ASSIGN_OR_RETURN(Node rhs, parse_unary());
        lhs = make_node(c == '*' ? NodeKind::kMultiply : NodeKind::kDivide, std::move(lhs), std::move(rhs));
      } else if (starts_primary()) {
        CARAVAN_ASSIGN_OR_RETURN(Node rhs, parse_power());
        lhs = make_node(NodeKind::kMultiply, std::move(lhs), std::move(rhs));
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
      node = c == '-' ? make_node(NodeKind::kNegate, std::move(operand)) : std::move(operand);
    } else {
      CARAVAN_ASSIGN_OR_RETURN(node, parse_power());
    }
    --depth_;
    return node;
  }

  Result<Node> parse_power() {
    CARAVAN_RETURN_IF_ERROR(enter());
    CARAVAN_ASSIGN_OR_RETURN(Node base, parse_postfix());
    if (peek() == '^') {
      ++pos_;
      // Right-associative; the exponent may carry a sign ("2^-1", "2^{-1}").
      CARAVAN_ASSIGN_OR_RETURN(Node exponent, parse_exponent());
      base = make_node(NodeKind::kPower, std::move(base), std::move(exponent));
    }
    --depth_;
    return base;
  }

  // A primary with any postfix factorials ("5!", "(n+1)!").
  Result<Node> parse_postfix() {
    CARAVAN_ASSIGN_OR_RETURN(Node node, parse_primary());
    while (peek() == '!') {
      ++pos_;
      node = make_node(NodeKind::kFactorial, std::move(node));
    }
    return node;
  }

  Result<Node> parse_exponent() {
    const char c = peek();
    if (c == '-' || c == '+') {
      ++pos_;
      CARAVAN_ASSIGN_OR_RETURN(Node operand, parse_exponent());
      return c == '-' ? make_node(NodeKind::kNegate, std::move(operand)) : std::move(operand);
    }
    // "x^23" in LaTeX is x^2 * 3; a bare digit exponent is one character.
    if (is_ascii_digit(c)) {
      Node digit = make_number(mpq_class(text_[pos_] - '0'));
      ++pos_;
      if (peek() != '^') return digit;
      ++pos_;
      CARAVAN_ASSIGN_OR_RETURN(Node exponent, parse_exponent());
      return make_node(NodeKind::kPower, std::move(digit), std::move(exponent));
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

  // A decimal literal with optional scientific exponent, as an exact rational.
  Result<Node> parse_number() {
    std::string digits;
    long fraction_digits = 0;
    bool point = false;
    while (pos_ < text_.size() && (is_ascii_digit(text_[pos_]) || (text_[pos_] == '.' && !point))) {
      if (text_[pos_] == '.') {
        // "3." followed by a non-digit: the dot is not part of the number.
        if (pos_ + 1 >= text_.size() || !is_ascii_digit(text_[pos_ + 1])) break;
        point = true;
      } else {
        digits += text_[pos_];
        if (point) ++fraction_digits;
      }
      ++pos_;
    }
    if (digits.empty()) return error("expected a number");
    if (digits.size() > kMaxLiteralDigits) return error("number literal too long");
    long exponent = -fraction_digits;
    // Scientific notation: 1.5e3, 2E-4 (an 'e' followed by an optional sign and a digit).
    if (pos_ + 1 < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      std::size_t p = pos_ + 1;
      bool negative = false;
      if (text_[p] == '-' || text_[p] == '+') negative = text_[p++] == '-';
      if (p < text_.size() && is_ascii_digit(text_[p])) {
        long written = 0;
        while (p < text_.size() && is_ascii_digit(text_[p])) {
          written = written * 10 + (text_[p++] - '0');
          if (written > kMaxDecimalExponent) return error("exponent of scientific notation too large");
        }
        pos_ = p;
        exponent += negative ? -written : written;
      }
    }
    mpz_class scale;
    mpz_ui_pow_ui(scale.get_mpz_t(), 10, static_cast<unsigned long>(exponent < 0 ? -exponent : exponent));
    const mpz_class mantissa(digits, 10);
    Node node = make_number(exponent < 0 ? mpq_class(mantissa, scale) : mpq_class(mantissa * scale));
    // Mixed number: an integer literal directly followed by \frac{int}{int}.
    if (!point && exponent == 0 && pos_ < text_.size() && text_.substr(pos_).starts_with("\\frac{")) {
      const std::size_t save = pos_;
      pos_ += 5;
      // On any failure the text is re-read below as a product ("2\frac{\pi}{3}"); a timeout
      // is sticky in the budget and resurfaces at the next tick.
      Result<Node> numerator = parse_group('{', '}');
      Result<Node> denominator = numerator.ok() ? parse_group('{', '}') : numerator.status();
      if (numerator.ok() && denominator.ok() && is_integer_literal(**numerator) && is_integer_literal(**denominator)) {
        return make_node(NodeKind::kAdd, std::move(node),
                         make_node(NodeKind::kDivide, std::move(*numerator), std::move(*denominator)));
      }
      pos_ = save;
    }
    return node;
  }

  static bool is_integer_literal(const ExprNode& node) {
    return node.kind == NodeKind::kNumber && node.number.get_den() == 1;
  }

  // "_1", "_{12}", "_n" after a variable name; empty when there is none.
  Result<std::string> parse_subscript() {
    if (pos_ >= text_.size() || text_[pos_] != '_') return std::string();
    const std::size_t start = pos_++;
    if (pos_ < text_.size() && text_[pos_] == '{') {
      const std::size_t close = text_.find('}', pos_);
      if (close == std::string_view::npos) return error("unclosed subscript");
      pos_ = close + 1;
    } else if (pos_ < text_.size() && (is_ascii_digit(text_[pos_]) || is_letter(text_[pos_]))) {
      ++pos_;
    } else {
      return error("bad subscript");
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<Node> make_variable(std::string name) {
    CARAVAN_ASSIGN_OR_RETURN(std::string subscript, parse_subscript());
    name += subscript;
    auto node = make_node(NodeKind::kVariable);
    node->name = name;
    variables_.insert(std::move(name));
    return node;
  }

  Node make_constant(std::string_view name) {
    auto node = make_node(NodeKind::kConstant);
    node->name = std::string(name);
    constants_.insert(node->name);
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
    } else if (c == 'e' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '_')) {
      ++pos_;
      node = make_constant(kEulerName);
    } else if (is_letter(c)) {
      ++pos_;
      CARAVAN_ASSIGN_OR_RETURN(node, make_variable(std::string(1, c)));
    } else if (c == '\\') {
      const std::string_view cmd = peek_command();
      pos_ += 1 + cmd.size();
      if (cmd == "frac") {
        CARAVAN_ASSIGN_OR_RETURN(Node numerator, parse_argument());
        CARAVAN_ASSIGN_OR_RETURN(Node denominator, parse_argument());
        node = make_node(NodeKind::kDivide, std::move(numerator), std::move(denominator));
      } else if (cmd == "binom") {
        CARAVAN_ASSIGN_OR_RETURN(Node n, parse_argument());
        CARAVAN_ASSIGN_OR_RETURN(Node k, parse_argument());
        node = make_node(NodeKind::kBinomial, std::move(n), std::move(k));
      } else if (cmd == "sqrt") {
        Node index;
        if (peek() == '[') {
          CARAVAN_ASSIGN_OR_RETURN(index, parse_group('[', ']'));
        }
        CARAVAN_ASSIGN_OR_RETURN(Node radicand, parse_argument());
        node = make_node(NodeKind::kRoot, std::move(radicand), std::move(index));
      } else if (cmd == "exp") {
        // \exp(x) = e^x.
        CARAVAN_ASSIGN_OR_RETURN(Node exponent, parse_argument());
        node = make_node(NodeKind::kPower, make_constant(kEulerName), std::move(exponent));
      } else if (cmd == "pi") {
        node = make_constant(kPiName);
      } else if (cmd == "infty") {
        node = make_node(NodeKind::kInfinity);
      } else if (is_variable_command(cmd)) {
        CARAVAN_ASSIGN_OR_RETURN(node, make_variable(str_cat("\\", cmd)));
      } else {
        return error(str_cat("unsupported command '\\", cmd, "'"));
      }
    } else {
      return error("expected a number, variable or group");
    }
    --depth_;
    return node;
  }

  // A command argument: a braced or parenthesised group, or one digit / letter / command
  // ("\frac\pi2").
  Result<Node> parse_argument() {
    const char c = peek();
    if (c == '{') return parse_group('{', '}');
    if (c == '(') return parse_group('(', ')');
    if (is_ascii_digit(c)) {
      ++pos_;
      return make_number(mpq_class(c - '0'));
    }
    return parse_primary();
  }

  std::string_view text_;
  EvalBudget& budget_;
  std::set<std::string>& variables_;
  std::set<std::string>& constants_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

PointValue finite(Real value) { return {PointValue::Kind::kFinite, std::move(value)}; }
PointValue undefined() { return {}; }
PointValue infinity(bool positive) {
  return {positive ? PointValue::Kind::kPositiveInfinity : PointValue::Kind::kNegativeInfinity, Real()};
}
bool is_infinite(const PointValue& v) {
  return v.kind == PointValue::Kind::kPositiveInfinity || v.kind == PointValue::Kind::kNegativeInfinity;
}
bool is_positive_infinity(const PointValue& v) { return v.kind == PointValue::Kind::kPositiveInfinity; }

class Evaluator {
 public:
  Evaluator(const std::map<std::string, mpq_class, std::less<>>& bindings, RealArena& arena, EvalBudget& budget)
      : bindings_(bindings), arena_(arena), budget_(budget) {}

  Result<PointValue> evaluate(const ExprNode& node) {
    CARAVAN_RETURN_IF_ERROR(budget_.tick());
    switch (node.kind) {
      case NodeKind::kNumber:
        return finite(Real(node.number));
      case NodeKind::kVariable: {
        auto it = bindings_.find(node.name);
        if (it == bindings_.end()) return Status::invalid_argument(str_cat("unbound variable '", node.name, "'"));
        return finite(Real(it->second));
      }
      case NodeKind::kConstant: {
        if (auto it = bindings_.find(node.name); it != bindings_.end()) return finite(Real(it->second));
        return finite(node.name == kPiName ? arena_.pi() : arena_.e());
      }
      case NodeKind::kInfinity:
        return infinity(true);
      case NodeKind::kNegate: {
        CARAVAN_ASSIGN_OR_RETURN(PointValue v, evaluate(*node.lhs));
        if (is_infinite(v)) return infinity(!is_positive_infinity(v));
        if (v.kind == PointValue::Kind::kUndefined) return v;
        return finite(arena_.negate(v.value));
      }
      case NodeKind::kAdd:
      case NodeKind::kSubtract: {
        CARAVAN_ASSIGN_OR_RETURN(PointValue x, evaluate(*node.lhs));
        CARAVAN_ASSIGN_OR_RETURN(PointValue y, evaluate(*node.rhs));
        if (node.kind == NodeKind::kSubtract) {
          if (is_infinite(y)) y = infinity(!is_positive_infinity(y));
          else if (y.kind == PointValue::Kind::kFinite) y.value = arena_.negate(y.value);
        }
        return add(x, y);
      }
      case NodeKind::kMultiply: {
        CARAVAN_ASSIGN_OR_RETURN(PointValue x, evaluate(*node.lhs));
        CARAVAN_ASSIGN_OR_RETURN(PointValue y, evaluate(*node.rhs));
        return multiply(x, y);
      }
      case NodeKind::kDivide: {
        CARAVAN_ASSIGN_OR_RETURN(PointValue x, evaluate(*node.lhs));
        CARAVAN_ASSIGN_OR_RETURN(PointValue y, evaluate(*node.rhs));
        return divide(x, y);
      }
      case NodeKind::kPower: {
        CARAVAN_ASSIGN_OR_RETURN(PointValue base, evaluate(*node.lhs));
        CARAVAN_ASSIGN_OR_RETURN(PointValue exponent, evaluate(*node.rhs));
        if (base.kind != PointValue::Kind::kFinite || exponent.kind != PointValue::Kind::kFinite) return undefined();
        if (!exponent.value.is_rational()) return Status::invalid_argument("irrational exponent");
        return power(base.value, exponent.value.rational);
      }
      case NodeKind::kRoot: {
        CARAVAN_ASSIGN_OR_RETURN(PointValue radicand, evaluate(*node.lhs));
        mpq_class index = 2;
        if (node.rhs != nullptr) {
          CARAVAN_ASSIGN_OR_RETURN(PointValue written, evaluate(*node.rhs));
          if (written.kind != PointValue::Kind::kFinite || !written.value.is_rational()) return undefined();
          index = written.value.rational;
        }
        if (radicand.kind != PointValue::Kind::kFinite) return undefined();
        if (index.get_den() != 1 || sgn(index) <= 0) return undefined();
        return power(radicand.value, mpq_class(1) / index);
      }
      case NodeKind::kFactorial: {
        CARAVAN_ASSIGN_OR_RETURN(PointValue v, evaluate(*node.lhs));
        if (v.kind != PointValue::Kind::kFinite) return undefined();
        if (!v.value.is_rational()) return Status::invalid_argument("factorial of an irrational number");
        const mpq_class& n = v.value.rational;
        if (n.get_den() != 1 || sgn(n) < 0) return undefined();
        if (n > kMaxFactorial) return Status::resource_exhausted("factorial too large to compare exactly");
        mpz_class result;
        mpz_fac_ui(result.get_mpz_t(), n.get_num().get_ui());
        return finite(Real(mpq_class(result)));
      }
      case NodeKind::kBinomial: {
        CARAVAN_ASSIGN_OR_RETURN(PointValue n, evaluate(*node.lhs));
        CARAVAN_ASSIGN_OR_RETURN(PointValue k, evaluate(*node.rhs));
        if (n.kind != PointValue::Kind::kFinite || k.kind != PointValue::Kind::kFinite) return undefined();
        if (!n.value.is_rational() || !k.value.is_rational()) return Status::invalid_argument("irrational binomial");
        const mpq_class& nq = n.value.rational;
        const mpq_class& kq = k.value.rational;
        if (nq.get_den() != 1 || kq.get_den() != 1 || sgn(nq) < 0 || sgn(kq) < 0) return undefined();
        if (kq > nq) return finite(Real(0));
        if (nq > 100000) return Status::resource_exhausted("binomial too large to compare exactly");
        mpz_class result;
        mpz_bin_uiui(result.get_mpz_t(), nq.get_num().get_ui(), kq.get_num().get_ui());
        return finite(Real(mpq_class(result)));
      }
    }
    return Status::internal("unknown expression node");
  }

 private:
  Result<Sign> sign_of(const Real& value) { return certified_sign(arena_, value, budget_); }

  Result<PointValue> add(const PointValue& x, const PointValue& y) {
    if (x.kind == PointValue::Kind::kUndefined || y.kind == PointValue::Kind::kUndefined) return undefined();
    if (is_infinite(x) && is_infinite(y)) return x.kind == y.kind ? x : undefined();
    if (is_infinite(x)) return x;
    if (is_infinite(y)) return y;
    CARAVAN_ASSIGN_OR_RETURN(Real sum, arena_.add(x.value, y.value));
    return finite(std::move(sum));
  }

  // The sign of a finite nonzero factor of an infinity; nullopt when it is 0.
  Result<std::optional<bool>> positive(const Real& value) {
    CARAVAN_ASSIGN_OR_RETURN(Sign s, sign_of(value));
    if (s == Sign::kUnknown) return Status::invalid_argument("sign of a factor of infinity cannot be proven");
    if (s == Sign::kZero) return std::optional<bool>();
    return std::optional<bool>(s == Sign::kPositive);
  }

  Result<PointValue> multiply(const PointValue& x, const PointValue& y) {
    if (x.kind == PointValue::Kind::kUndefined || y.kind == PointValue::Kind::kUndefined) return undefined();
    if (is_infinite(x) && is_infinite(y)) return infinity(is_positive_infinity(x) == is_positive_infinity(y));
    if (is_infinite(x) || is_infinite(y)) {
      const PointValue& inf = is_infinite(x) ? x : y;
      const PointValue& other = is_infinite(x) ? y : x;
      CARAVAN_ASSIGN_OR_RETURN(std::optional<bool> other_positive, positive(other.value));
      if (!other_positive) return undefined();  // 0 * inf
      return infinity(is_positive_infinity(inf) == *other_positive);
    }
    CARAVAN_ASSIGN_OR_RETURN(Real product, arena_.multiply(x.value, y.value));
    return finite(std::move(product));
  }

  Result<PointValue> divide(const PointValue& x, const PointValue& y) {
    if (x.kind == PointValue::Kind::kUndefined || y.kind == PointValue::Kind::kUndefined) return undefined();
    if (is_infinite(y)) return is_infinite(x) ? undefined() : finite(Real(0));
    std::optional<Real> inverse = arena_.inverse(y.value);
    if (!inverse) return undefined();  // division by 0
    if (is_infinite(x)) {
      CARAVAN_ASSIGN_OR_RETURN(std::optional<bool> divisor_positive, positive(y.value));
      return infinity(is_positive_infinity(x) == divisor_positive.value_or(true));
    }
    CARAVAN_ASSIGN_OR_RETURN(Real quotient, arena_.multiply(x.value, *inverse));
    return finite(std::move(quotient));
  }

  // base^(p/q) with q = 1 or the real q-th root of base^p.
  Result<PointValue> power(const Real& base, const mpq_class& exponent) {
    const mpz_class& p = exponent.get_num();
    const mpz_class& q = exponent.get_den();
    if (q > kMaxRootIndex) return Status::invalid_argument("root index too large");
    const unsigned long k = q.get_ui();
    if (k == 1) {
      CARAVAN_ASSIGN_OR_RETURN(std::optional<Real> r, arena_.power(base, p));
      return r ? finite(std::move(*r)) : undefined();
    }
    if (base.is_rational()) {
      // Power first, then the root: exact roots of perfect powers stay rational (8^(2/3) = 4).
      CARAVAN_ASSIGN_OR_RETURN(std::optional<Real> raised, arena_.power(base, p));
      if (!raised) return undefined();
      CARAVAN_ASSIGN_OR_RETURN(std::optional<Real> r, arena_.root(*raised, k));
      return r ? finite(std::move(*r)) : undefined();
    }
    if (k % 2 == 0) {
      CARAVAN_ASSIGN_OR_RETURN(Sign s, sign_of(base));
      if (s == Sign::kUnknown) return Status::invalid_argument("sign of an even root's radicand cannot be proven");
      if (s == Sign::kNegative) return undefined();
      if (s == Sign::kZero) return sgn(p) > 0 ? finite(Real(0)) : undefined();
    }
    CARAVAN_ASSIGN_OR_RETURN(std::optional<Real> rooted, arena_.root(base, k));
    if (!rooted) return undefined();
    CARAVAN_ASSIGN_OR_RETURN(std::optional<Real> r, arena_.power(*rooted, p));
    return r ? finite(std::move(*r)) : undefined();
  }

  const std::map<std::string, mpq_class, std::less<>>& bindings_;
  RealArena& arena_;
  EvalBudget& budget_;
};

} // namespace

Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;
Expression::~Expression() = default;

Result<Expression> Expression::parse(std::string_view text, EvalBudget& budget) {
  Expression expression;
  Parser parser(text, budget, expression.variables_, expression.constants_);
  CARAVAN_ASSIGN_OR_RETURN(expression.root_, parser.parse_all());
  return expression;
}

Result<PointValue> Expression::evaluate(const std::map<std::string, mpq_class, std::less<>>& bindings,
                                        RealArena& arena, EvalBudget& budget) const {
  Evaluator evaluator(bindings, arena, budget);
  return evaluator.evaluate(*root_);
}

} // namespace caravan::rewards::math
