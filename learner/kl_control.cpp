#include "learner/kl_control.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"

namespace caravan::learner {

at::Tensor kl_estimate(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, const at::Tensor& mask,
                       KlEstimator estimator) {
  CARAVAN_CHECK(logprobs.dim() == 2 && ref_logprobs.sizes() == logprobs.sizes() && mask.sizes() == logprobs.sizes(),
                "kl_estimate: logprobs ", logprobs.sizes(), ", ref_logprobs ", ref_logprobs.sizes(), " and mask ",
                mask.sizes(), " must share one [B,T] shape");
  const at::Tensor zero = at::zeros({}, logprobs.options());
  const at::Tensor x = at::where(mask != 0, logprobs - ref_logprobs.detach().to(logprobs.scalar_type()), zero);
  switch (estimator) {
    case KlEstimator::kK1: return x;
    case KlEstimator::kK2: return 0.5 * x * x;
    case KlEstimator::kK3: return at::exp(-x) + x - 1.0;
  }
  CARAVAN_CHECK(false, "unknown KL estimator ", static_cast<int>(estimator));
  return {};
}

KlController::KlController(const KlOptions& options) : options_(options), coef_(options.coef) {
  CARAVAN_CHECK(options.coef >= 0 && options.target >= 0 && options.horizon >= 1, "bad KL options: coef ", options.coef,
                " target ", options.target, " horizon ", options.horizon);
}

void KlController::update(double measured_kl, int64_t samples) {
  if (options_.target == 0) return;
  CARAVAN_CHECK(samples > 0, "KL controller update needs samples > 0, got ", samples);
  if (!std::isfinite(measured_kl)) return;  // a diverged step moves nothing (its update was skipped too)
  const double error = std::clamp(measured_kl / options_.target - 1.0, -0.2, 0.2);
  coef_ *= 1.0 + error * static_cast<double>(samples) / options_.horizon;
}

void KlController::restore(double coef) {
  CARAVAN_CHECK(coef >= 0 && std::isfinite(coef), "KL coefficient must be finite and >= 0, got ", coef);
  coef_ = coef;
}

} // namespace caravan::learner
