// File: rewards/math/real_value.h
// Exact real numbers for answer comparison. A Real is either a rational (GMP, so integers of
// any size, decimals and fractions are exact) or a node of a RealArena: an expression DAG over
// rationals with sums, products, negation, inverses, k-th roots, pi and e. Arithmetic on two
// rationals stays rational; whatever is irrational becomes a node, never a rounded double.
// Identical subexpressions are stored once (hash-consed), which keeps the degree bound of
// rewards/math/separation_bound.h small. rewards/math/real_compare.h decides signs and
// equality of Reals with certified intervals.
//
//   RealArena arena;
//   Real two_sqrt2 = *arena.multiply(Real(2), **arena.root(Real(2), 2));  // a node
//   Real sqrt8 = **arena.root(Real(8), 2);                                  // another node
//   Real half = *arena.multiply(Real(mpq_class(1, 3)), Real(mpq_class(3, 2)));  // rational 1/2
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <gmpxx.h>

#include "core/status.h"

namespace caravan::rewards::math {

// Largest numerator or denominator, in bits, that exact arithmetic produces (~39,000 decimal
// digits). Larger results are kResourceExhausted: the answer is then not compared exactly.
inline constexpr std::size_t kMaxRationalBits = std::size_t{1} << 17;
// Largest k of a k-th root, and largest |n| of an integer power of an irrational.
inline constexpr unsigned long kMaxRootIndex = 64;
inline constexpr unsigned long kMaxIrrationalPower = 4096;

// A value: `rational` when node < 0, else the arena node `node`. A plain value; only meaningful
// together with the arena that made it.
struct Real {
  Real() = default;
  explicit Real(mpq_class q) : rational(std::move(q)) { rational.canonicalize(); }
  explicit Real(long n) : rational(n) {}

  bool is_rational() const { return node < 0; }

  mpq_class rational;
  std::int32_t node = -1;
};

enum class RealOp : std::uint8_t { kRational, kPi, kE, kAdd, kMultiply, kNegate, kInverse, kRoot };

struct RealNode {
  RealOp op = RealOp::kRational;
  mpq_class rational{};          // kRational
  std::int32_t a = -1;           // operand of kNegate/kInverse/kRoot; left operand of kAdd/kMultiply
  std::int32_t b = -1;           // right operand of kAdd/kMultiply
  unsigned long root_index = 0;  // kRoot: k >= 2
  bool transcendental = false;   // pi or e occurs in this subtree
};

// Owns the nodes of every irrational Real made through it; node ids are assigned in creation
// order, so operands always have smaller ids than the nodes that use them. Not thread-safe:
// one arena per verify() call.
class RealArena {
 public:
  Real pi();
  Real e();

  // Exact sum/product; kResourceExhausted when a rational result exceeds kMaxRationalBits.
  Result<Real> add(const Real& a, const Real& b);
  Result<Real> subtract(const Real& a, const Real& b);
  Result<Real> multiply(const Real& a, const Real& b);
  Real negate(const Real& a);
  // 1/a; nullopt for the rational 0 (an irrational node is assumed nonzero here; a zero one
  // shows up later as an interval that never excludes 0).
  std::optional<Real> inverse(const Real& a);
  // a^n for an integer n (0^0 = 1); nullopt for 0 to a negative power. kResourceExhausted when
  // the result would be too large or n is too large for an irrational base.
  Result<std::optional<Real>> power(const Real& a, const mpz_class& n);
  // The real k-th root, 2 <= k <= kMaxRootIndex: exact for perfect powers of rationals. For an
  // even k the caller guarantees a >= 0 (rationals are checked: negative gives nullopt).
  Result<std::optional<Real>> root(const Real& a, unsigned long k);

  const RealNode& node(std::int32_t id) const { return nodes_[static_cast<std::size_t>(id)]; }
  // Node id of `value`, creating a kRational node for a rational.
  std::int32_t intern(const Real& value);
  // Every node reachable from `id` (itself included), in increasing id order: operands come
  // before the nodes that use them.
  std::vector<std::int32_t> reachable(std::int32_t id) const;

 private:
  using Key = std::tuple<RealOp, std::int32_t, std::int32_t, unsigned long, std::string>;
  std::int32_t make(RealNode node);
  Real make_real(RealNode node);

  std::vector<RealNode> nodes_;
  std::map<Key, std::int32_t> index_;
};

// Whether `q` fits the exact-arithmetic limit.
bool within_rational_limit(const mpq_class& q);

} // namespace caravan::rewards::math
