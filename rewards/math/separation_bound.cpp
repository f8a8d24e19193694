#include "rewards/math/separation_bound.h"

#include <map>

namespace caravan::rewards::math {
namespace {

struct Bound {
  mpz_class u;  // upper bound in BFMSS' sense ("numerator")
  mpz_class l;  // upper bound in BFMSS' sense ("denominator")
};

// ceil(x^(1/k)) for x >= 0.
mpz_class root_ceiling(const mpz_class& x, unsigned long k) {
  mpz_class r;
  if (mpz_root(r.get_mpz_t(), x.get_mpz_t(), k) == 0) r += 1;
  return r;
}

} // namespace

std::optional<long> separation_bound_bits(const RealArena& arena, std::int32_t id, long max_bits) {
  if (arena.node(id).transcendental) return std::nullopt;
  std::map<std::int32_t, Bound> bounds;
  mpz_class degree = 1;
  for (const std::int32_t i : arena.reachable(id)) {
    const RealNode& node = arena.node(i);
    Bound b;
    switch (node.op) {
      case RealOp::kRational:
        b.u = abs(node.rational.get_num());
        b.l = node.rational.get_den();
        break;
      case RealOp::kNegate:
        b = bounds.at(node.a);
        break;
      case RealOp::kInverse:
        b.u = bounds.at(node.a).l;
        b.l = bounds.at(node.a).u;
        break;
      case RealOp::kAdd: {
        const Bound& x = bounds.at(node.a);
        const Bound& y = bounds.at(node.b);
        b.u = x.u * y.l + x.l * y.u;
        b.l = x.l * y.l;
        break;
      }
      case RealOp::kMultiply: {
        const Bound& x = bounds.at(node.a);
        const Bound& y = bounds.at(node.b);
        b.u = x.u * y.u;
        b.l = x.l * y.l;
        break;
      }
      case RealOp::kRoot: {
        const Bound& x = bounds.at(node.a);
        const unsigned long k = node.root_index;
        mpz_class power;
        if (x.u >= x.l) {
          mpz_pow_ui(power.get_mpz_t(), x.l.get_mpz_t(), k - 1);
          b.u = root_ceiling(x.u * power, k);
          b.l = x.l;
        } else {
          mpz_pow_ui(power.get_mpz_t(), x.u.get_mpz_t(), k - 1);
          b.u = x.u;
          b.l = root_ceiling(power * x.l, k);
        }
        degree *= k;
        break;
      }
      case RealOp::kPi:
      case RealOp::kE:
        return std::nullopt;  // unreachable: transcendental nodes were rejected above
    }
    // Keep the numbers small enough that the final bound can still be below max_bits.
    if (static_cast<long>(mpz_sizeinbase(b.u.get_mpz_t(), 2)) > max_bits ||
        static_cast<long>(mpz_sizeinbase(b.l.get_mpz_t(), 2)) > max_bits) {
      return std::nullopt;
    }
    bounds.emplace(i, std::move(b));
  }
  const Bound& top = bounds.at(id);
  if (!mpz_fits_slong_p(degree.get_mpz_t()) || degree.get_si() > max_bits) return std::nullopt;
  // log2(u^(D-1) * l) <= (D-1) * bits(u) + bits(l).
  const long bits = (degree.get_si() - 1) * static_cast<long>(mpz_sizeinbase(top.u.get_mpz_t(), 2)) +
                    static_cast<long>(mpz_sizeinbase(top.l.get_mpz_t(), 2));
  if (bits > max_bits) return std::nullopt;
  return bits;
}

} // namespace caravan::rewards::math
