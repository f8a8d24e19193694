#include "learner/autocast.h"

#include <ATen/autocast_mode.h>

#include "core/status.h"

namespace caravan::learner {

BfloatAutocast::BfloatAutocast(at::Device device, bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  CARAVAN_CHECK(device.is_cpu() || device.is_cuda(), "bf16 autocast supports CPU and CUDA, not ", device);
  cuda_ = device.is_cuda();
  if (cuda_) {
    previous_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    previous_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

BfloatAutocast::~BfloatAutocast() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(previous_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(previous_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

} // namespace caravan::learner
