// File: rewards/math/interval.h
// Certified interval arithmetic over MPFR: an Interval [lo, hi] holds two MPFR numbers of one
// precision, and every operation rounds lo toward -inf and hi toward +inf (MPFR's correctly
// rounded operations with directed rounding). So whenever the inputs contain the true values,
// the result contains the true result: an interval that excludes 0 proves the sign of the
// value, whatever the precision. rewards/math/real_compare.h refines the precision until an
// interval decides a comparison.
//
//   Interval pi = Interval::pi(256);
//   Interval third = Interval::of_rational(mpq_class(1, 3), 256);
//   std::optional<Interval> x = Interval::divide(pi, third);  // contains 3*pi
//   bool positive = x && x->sign() > 0;                         // proven
#pragma once

#include <optional>

#include <gmpxx.h>
#include <mpfr.h>

namespace caravan::rewards::math {

// A value type (copyable, movable). Not thread-safe per object; distinct objects are
// independent. Both endpoints are always finite numbers with lo <= hi.
class Interval {
 public:
  // The degenerate interval [q, q] rounded outward to `precision` bits (>= MPFR_PREC_MIN).
  static Interval of_rational(const mpq_class& q, mpfr_prec_t precision);
  // Enclosures of pi and of e = exp(1).
  static Interval pi(mpfr_prec_t precision);
  static Interval e(mpfr_prec_t precision);

  Interval(const Interval& other);
  Interval(Interval&& other) noexcept;
  Interval& operator=(Interval other) noexcept;
  ~Interval();

  static Interval add(const Interval& a, const Interval& b);
  static Interval multiply(const Interval& a, const Interval& b);
  static Interval negate(const Interval& a);
  // 1/a; nullopt when `a` contains 0.
  static std::optional<Interval> inverse(const Interval& a);
  static std::optional<Interval> divide(const Interval& a, const Interval& b);
  // The real k-th root (k >= 2; an odd root of a negative number is negative); nullopt for an
  // even root when `a` is not entirely >= 0.
  static std::optional<Interval> root(const Interval& a, unsigned long k);

  // +1 when lo > 0, -1 when hi < 0, 0 when the interval contains 0.
  int sign() const;
  // Whether every point x of the interval has |x| < 2^exponent.
  bool inside_power_of_two(long exponent) const;
  mpfr_prec_t precision() const { return mpfr_get_prec(lo_); }
  // Lower and upper endpoint (for tests and diagnostics).
  double lo_as_double() const { return mpfr_get_d(lo_, MPFR_RNDD); }
  double hi_as_double() const { return mpfr_get_d(hi_, MPFR_RNDU); }

 private:
  explicit Interval(mpfr_prec_t precision);
  mpfr_t lo_;
  mpfr_t hi_;
  bool owns_ = true;  // false after a move: the destructor then leaves the endpoints alone
};

} // namespace caravan::rewards::math
