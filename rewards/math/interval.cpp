#include "rewards/math/interval.h"

#include <utility>

namespace caravan::rewards::math {

Interval::Interval(mpfr_prec_t precision) {
  mpfr_init2(lo_, precision);
  mpfr_init2(hi_, precision);
}

Interval::Interval(const Interval& other) : Interval(other.precision()) {
  mpfr_set(lo_, other.lo_, MPFR_RNDD);
  mpfr_set(hi_, other.hi_, MPFR_RNDU);
}

Interval::Interval(Interval&& other) noexcept {
  // mpfr_t is a one-element array of a struct that points at the limbs: copy the structs and
  // leave the source without ownership.
  lo_[0] = other.lo_[0];
  hi_[0] = other.hi_[0];
  other.owns_ = false;
}

Interval& Interval::operator=(Interval other) noexcept {
  mpfr_swap(lo_, other.lo_);
  mpfr_swap(hi_, other.hi_);
  std::swap(owns_, other.owns_);
  return *this;
}

Interval::~Interval() {
  if (!owns_) return;
  mpfr_clear(lo_);
  mpfr_clear(hi_);
}

Interval Interval::of_rational(const mpq_class& q, mpfr_prec_t precision) {
  Interval out(precision);
  mpfr_set_q(out.lo_, q.get_mpq_t(), MPFR_RNDD);
  mpfr_set_q(out.hi_, q.get_mpq_t(), MPFR_RNDU);
  return out;
}

Interval Interval::pi(mpfr_prec_t precision) {
  Interval out(precision);
  mpfr_const_pi(out.lo_, MPFR_RNDD);
  mpfr_const_pi(out.hi_, MPFR_RNDU);
  return out;
}

Interval Interval::e(mpfr_prec_t precision) {
  Interval out(precision);
  mpfr_set_ui(out.lo_, 1, MPFR_RNDN);
  mpfr_set_ui(out.hi_, 1, MPFR_RNDN);
  mpfr_exp(out.lo_, out.lo_, MPFR_RNDD);
  mpfr_exp(out.hi_, out.hi_, MPFR_RNDU);
  return out;
}

Interval Interval::add(const Interval& a, const Interval& b) {
  Interval out(a.precision());
  mpfr_add(out.lo_, a.lo_, b.lo_, MPFR_RNDD);
  mpfr_add(out.hi_, a.hi_, b.hi_, MPFR_RNDU);
  return out;
}

Interval Interval::negate(const Interval& a) {
  Interval out(a.precision());
  mpfr_neg(out.lo_, a.hi_, MPFR_RNDD);  // exact: negation never rounds
  mpfr_neg(out.hi_, a.lo_, MPFR_RNDU);
  return out;
}

Interval Interval::multiply(const Interval& a, const Interval& b) {
  Interval out(a.precision());
  mpfr_t down, up;
  mpfr_init2(down, a.precision());
  mpfr_init2(up, a.precision());
  bool first = true;
  for (const auto* x : {&a.lo_, &a.hi_}) {
    for (const auto* y : {&b.lo_, &b.hi_}) {
      mpfr_mul(down, *x, *y, MPFR_RNDD);
      mpfr_mul(up, *x, *y, MPFR_RNDU);
      if (first || mpfr_less_p(down, out.lo_)) mpfr_set(out.lo_, down, MPFR_RNDD);
      if (first || mpfr_greater_p(up, out.hi_)) mpfr_set(out.hi_, up, MPFR_RNDU);
      first = false;
    }
  }
  mpfr_clear(down);
  mpfr_clear(up);
  return out;
}

std::optional<Interval> Interval::inverse(const Interval& a) {
  if (a.sign() == 0) return std::nullopt;
  Interval out(a.precision());
  mpfr_ui_div(out.lo_, 1, a.hi_, MPFR_RNDD);
  mpfr_ui_div(out.hi_, 1, a.lo_, MPFR_RNDU);
  return out;
}

std::optional<Interval> Interval::divide(const Interval& a, const Interval& b) {
  std::optional<Interval> inverse_b = inverse(b);
  if (!inverse_b) return std::nullopt;
  return multiply(a, *inverse_b);
}

std::optional<Interval> Interval::root(const Interval& a, unsigned long k) {
  if (k % 2 == 0 && mpfr_sgn(a.lo_) < 0) return std::nullopt;
  // x -> x^(1/k) is increasing (on all reals for odd k), so the endpoints map to endpoints.
  Interval out(a.precision());
  mpfr_rootn_ui(out.lo_, a.lo_, k, MPFR_RNDD);
  mpfr_rootn_ui(out.hi_, a.hi_, k, MPFR_RNDU);
  return out;
}

int Interval::sign() const {
  if (mpfr_sgn(lo_) > 0) return 1;
  if (mpfr_sgn(hi_) < 0) return -1;
  return 0;
}

bool Interval::inside_power_of_two(long exponent) const {
  mpfr_t bound;
  mpfr_init2(bound, 2);
  mpfr_set_si_2exp(bound, 1, exponent, MPFR_RNDN);  // exact: a power of two
  // The interval is convex, so |x| < bound holds everywhere iff it holds at both endpoints.
  const bool inside = mpfr_cmpabs(lo_, bound) < 0 && mpfr_cmpabs(hi_, bound) < 0;
  mpfr_clear(bound);
  return inside;
}

} // namespace caravan::rewards::math
