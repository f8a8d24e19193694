#include "rewards/math/real_value.h"

#include <algorithm>
#include <utility>

#include "core/str_cat.h"

namespace caravan::rewards::math {
namespace {

Status too_large(std::string_view what) {
  return Status::resource_exhausted(str_cat("value too large to compare exactly (", what, ")"));
}

Result<Real> checked(mpq_class q, std::string_view what) {
  q.canonicalize();
  if (!within_rational_limit(q)) return too_large(what);
  return Real(std::move(q));
}

// The exact k-th root of `n` (k >= 2, n >= 0 or k odd), or nullopt when n is not a k-th power.
std::optional<mpz_class> exact_root(const mpz_class& n, unsigned long k) {
  mpz_class magnitude = abs(n);
  mpz_class root;
  if (mpz_root(root.get_mpz_t(), magnitude.get_mpz_t(), k) == 0) return std::nullopt;
  if (sgn(n) < 0) root = -root;
  return root;
}

} // namespace

bool within_rational_limit(const mpq_class& q) {
  return mpz_sizeinbase(q.get_num_mpz_t(), 2) <= kMaxRationalBits &&
         mpz_sizeinbase(q.get_den_mpz_t(), 2) <= kMaxRationalBits;
}

std::int32_t RealArena::make(RealNode node) {
  std::string rational_key;
  if (node.op == RealOp::kRational) rational_key = node.rational.get_str(36);
  Key key{node.op, node.a, node.b, node.root_index, std::move(rational_key)};
  if (auto it = index_.find(key); it != index_.end()) return it->second;
  node.transcendental = node.op == RealOp::kPi || node.op == RealOp::kE ||
                        (node.a >= 0 && nodes_[static_cast<std::size_t>(node.a)].transcendental) ||
                        (node.b >= 0 && nodes_[static_cast<std::size_t>(node.b)].transcendental);
  const auto id = static_cast<std::int32_t>(nodes_.size());
  nodes_.push_back(std::move(node));
  index_.emplace(std::move(key), id);
  return id;
}

Real RealArena::make_real(RealNode node) {
  Real out;
  out.node = make(std::move(node));
  return out;
}

std::int32_t RealArena::intern(const Real& value) {
  if (!value.is_rational()) return value.node;
  RealNode node;
  node.op = RealOp::kRational;
  node.rational = value.rational;
  return make(std::move(node));
}

std::vector<std::int32_t> RealArena::reachable(std::int32_t id) const {
  std::vector<bool> seen(static_cast<std::size_t>(id) + 1, false);
  std::vector<std::int32_t> stack{id};
  seen[static_cast<std::size_t>(id)] = true;
  while (!stack.empty()) {
    const RealNode& current = node(stack.back());
    stack.pop_back();
    for (std::int32_t child : {current.a, current.b}) {
      if (child >= 0 && !seen[static_cast<std::size_t>(child)]) {
        seen[static_cast<std::size_t>(child)] = true;
        stack.push_back(child);
      }
    }
  }
  std::vector<std::int32_t> order;
  for (std::int32_t i = 0; i <= id; ++i) {
    if (seen[static_cast<std::size_t>(i)]) order.push_back(i);
  }
  return order;
}

Real RealArena::pi() { return make_real({.op = RealOp::kPi}); }
Real RealArena::e() { return make_real({.op = RealOp::kE}); }

Result<Real> RealArena::add(const Real& a, const Real& b) {
  if (a.is_rational() && b.is_rational()) return checked(a.rational + b.rational, "sum");
  if (a.is_rational() && sgn(a.rational) == 0) return b;
  if (b.is_rational() && sgn(b.rational) == 0) return a;
  // Operands in id order, so a+b and b+a are one node.
  const std::int32_t x = intern(a);
  const std::int32_t y = intern(b);
  return make_real({.op = RealOp::kAdd, .a = std::min(x, y), .b = std::max(x, y)});
}

Result<Real> RealArena::subtract(const Real& a, const Real& b) { return add(a, negate(b)); }

Result<Real> RealArena::multiply(const Real& a, const Real& b) {
  if (a.is_rational() && b.is_rational()) return checked(a.rational * b.rational, "product");
  for (const auto& [factor, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    if (!factor->is_rational()) continue;
    if (sgn(factor->rational) == 0) return Real(0);
    if (factor->rational == 1) return *other;
  }
  if (a.node == b.node) {
    // sqrt(q) * sqrt(q) = q.
    const RealNode& n = node(a.node);
    if (n.op == RealOp::kRoot && n.root_index == 2 && node(n.a).op == RealOp::kRational) return Real(node(n.a).rational);
  }
  const std::int32_t x = intern(a);
  const std::int32_t y = intern(b);
  return make_real({.op = RealOp::kMultiply, .a = std::min(x, y), .b = std::max(x, y)});
}

Real RealArena::negate(const Real& a) {
  if (a.is_rational()) return Real(mpq_class(-a.rational));
  if (node(a.node).op == RealOp::kNegate) {
    Real inner;
    inner.node = node(a.node).a;
    return inner;
  }
  return make_real({.op = RealOp::kNegate, .a = a.node});
}

std::optional<Real> RealArena::inverse(const Real& a) {
  if (a.is_rational()) {
    if (sgn(a.rational) == 0) return std::nullopt;
    return Real(mpq_class(1 / a.rational));
  }
  if (node(a.node).op == RealOp::kInverse) {
    Real inner;
    inner.node = node(a.node).a;
    return inner;
  }
  return make_real({.op = RealOp::kInverse, .a = a.node});
}

Result<std::optional<Real>> RealArena::power(const Real& a, const mpz_class& n) {
  if (sgn(n) == 0) return std::optional<Real>(Real(1));
  const bool negative = sgn(n) < 0;
  const mpz_class magnitude = abs(n);
  if (a.is_rational()) {
    const mpq_class& q = a.rational;
    if (sgn(q) == 0) return negative ? std::nullopt : std::optional<Real>(Real(0));
    if (abs(q) == 1) return std::optional<Real>(Real(sgn(q) > 0 || mpz_even_p(magnitude.get_mpz_t()) ? 1 : -1));
    const std::size_t bits = std::max(mpz_sizeinbase(q.get_num_mpz_t(), 2), mpz_sizeinbase(q.get_den_mpz_t(), 2));
    if (!mpz_fits_ulong_p(magnitude.get_mpz_t()) || magnitude.get_ui() > kMaxRationalBits / std::max<std::size_t>(bits - 1, 1)) {
      return too_large("power");
    }
    mpz_class num, den;
    mpz_pow_ui(num.get_mpz_t(), q.get_num_mpz_t(), magnitude.get_ui());
    mpz_pow_ui(den.get_mpz_t(), q.get_den_mpz_t(), magnitude.get_ui());
    mpq_class result = negative ? mpq_class(den, num) : mpq_class(num, den);
    CARAVAN_ASSIGN_OR_RETURN(Real value, checked(std::move(result), "power"));
    return std::optional<Real>(std::move(value));
  }
  if (!mpz_fits_ulong_p(magnitude.get_mpz_t()) || magnitude.get_ui() > kMaxIrrationalPower) return too_large("power");
  unsigned long count = magnitude.get_ui();
  Real result(1);
  Real base = a;
  const RealNode& n_base = node(a.node);
  if (n_base.op == RealOp::kRoot && node(n_base.a).op == RealOp::kRational && count >= n_base.root_index) {
    // (q^(1/k))^count = q^(count div k) * (q^(1/k))^(count mod k).
    CARAVAN_ASSIGN_OR_RETURN(std::optional<Real> whole,
                             power(Real(node(n_base.a).rational), mpz_class(count / n_base.root_index)));
    if (!whole) return whole;  // unreachable: a nonzero radicand to a positive power
    result = std::move(*whole);
    count %= n_base.root_index;
  }
  while (count > 0) {
    if (count & 1) {
      CARAVAN_ASSIGN_OR_RETURN(result, multiply(result, base));
    }
    count >>= 1;
    if (count > 0) {
      CARAVAN_ASSIGN_OR_RETURN(base, multiply(base, base));
    }
  }
  if (!negative) return std::optional<Real>(std::move(result));
  return inverse(result);
}

Result<std::optional<Real>> RealArena::root(const Real& a, unsigned long k) {
  if (k < 2 || k > kMaxRootIndex) return too_large("root index");
  if (a.is_rational()) {
    const mpq_class& q = a.rational;
    if (sgn(q) < 0 && k % 2 == 0) return std::optional<Real>();
    if (sgn(q) == 0) return std::optional<Real>(Real(0));
    std::optional<mpz_class> num = exact_root(q.get_num(), k);
    std::optional<mpz_class> den = num ? exact_root(q.get_den(), k) : std::nullopt;
    if (num && den) return std::optional<Real>(Real(mpq_class(*num, *den)));
  }
  return std::optional<Real>(make_real({.op = RealOp::kRoot, .a = intern(a), .root_index = k}));
}

} // namespace caravan::rewards::math
