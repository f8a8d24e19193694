#include "learner/data_parallel.h"

#include <algorithm>

#include <torch/cuda.h>

#include "core/str_cat.h"
#include "learner/train_step.h"
#include "learner/zero_partition.h"

namespace caravan::learner {
namespace {

void check_float32(const std::vector<at::Tensor>& tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    CARAVAN_CHECK(tensors[i].scalar_type() == at::kFloat && tensors[i].device() == tensors.front().device(),
                  "data-parallel tensors must be float32 on one device; tensor ", i, " is ", tensors[i].scalar_type(),
                  " on ", tensors[i].device(), ", tensor 0 on ", tensors.front().device());
  }
}

// The communicator's view of `flat` (contiguous float32) where it lies: host memory, or device
// memory that NCCL reads in place. The communicator runs on a stream of its own, which does not
// wait for LibTorch's, so a CUDA tensor is handed over once the device has finished writing it;
// the communicator returns after its own stream is done, so LibTorch may read the result at once.
model::ByteBuffer collective_buffer(at::Tensor& flat) {
  const bool on_device = flat.is_cuda();
  if (on_device) torch::cuda::synchronize(flat.device().index());
  return {.data = flat.data_ptr(), .bytes = flat.numel() * static_cast<int64_t>(sizeof(float)),
          .location = on_device ? model::BufferLocation::kDevice : model::BufferLocation::kHost};
}

}  // namespace

DataParallel::DataParallel(std::unique_ptr<model::Communicator> communicator)
    : communicator_(std::move(communicator)) {
  CARAVAN_CHECK(communicator_ != nullptr, "DataParallel needs a communicator");
}

std::pair<size_t, size_t> DataParallel::share(size_t count) const {
  const auto k = static_cast<size_t>(ranks());
  const auto r = static_cast<size_t>(rank());
  const size_t base = count / k;
  const size_t extra = count % k;
  const size_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

Result<std::vector<double>> DataParallel::sum(const std::vector<double>& values) {
  std::vector<float> wire(values.begin(), values.end());
  CARAVAN_RETURN_IF_ERROR(communicator_->all_reduce_sum(
      {.data = wire.data(), .bytes = static_cast<int64_t>(wire.size() * sizeof(float)),
       .location = model::BufferLocation::kHost}));
  return std::vector<double>(wire.begin(), wire.end());
}

Status DataParallel::sum_gradients(const std::vector<at::Tensor>& parameters) {
  check_float32(parameters);
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> gradients;
  gradients.reserve(parameters.size());
  for (const at::Tensor& parameter : parameters) {
    at::Tensor& grad = parameter.mutable_grad();
    if (!grad.defined()) grad = at::zeros_like(parameter);
    gradients.push_back(grad.reshape({-1}));
  }
  at::Tensor flat = at::cat(gradients);
  CARAVAN_RETURN_IF_ERROR(communicator_->all_reduce_sum(collective_buffer(flat)));
  int64_t offset = 0;
  for (const at::Tensor& parameter : parameters) {
    const int64_t n = parameter.numel();
    parameter.mutable_grad().copy_(flat.slice(0, offset, offset + n).view_as(parameter));
    offset += n;
  }
  return Status::ok_status();
}

std::vector<int> DataParallel::owners(const std::vector<at::Tensor>& parameters) const {
  std::vector<int64_t> numels;
  numels.reserve(parameters.size());
  for (const at::Tensor& parameter : parameters) numels.push_back(parameter.numel());
  return partition_by_numel(numels, ranks());
}

std::vector<at::Tensor> DataParallel::owned_parameters(const std::vector<at::Tensor>& parameters) const {
  const std::vector<int> owner = owners(parameters);
  std::vector<at::Tensor> owned;
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (owner[i] == rank()) owned.push_back(parameters[i]);
  }
  return owned;
}

Status DataParallel::share_owned_parameters(const std::vector<at::Tensor>& parameters) {
  const std::vector<int> owner = owners(parameters);
  for (int root = 0; root < ranks(); ++root) {
    std::vector<at::Tensor> owned;
    for (size_t i = 0; i < parameters.size(); ++i) {
      if (owner[i] == root) owned.push_back(parameters[i]);
    }
    CARAVAN_RETURN_IF_ERROR(broadcast(owned, root));
  }
  return Status::ok_status();
}

Status DataParallel::copy_from_rank0(const std::vector<at::Tensor>& tensors) { return broadcast(tensors, 0); }

Status DataParallel::broadcast_tensor(const at::Tensor& tensor, int root) {
  CARAVAN_CHECK(tensor.is_contiguous() && tensor.device().is_cpu(),
                "broadcast_tensor: the tensor must be contiguous on the CPU; it is on ", tensor.device());
  return communicator_->broadcast({.data = tensor.data_ptr(), .bytes = static_cast<int64_t>(tensor.nbytes()),
                                   .location = model::BufferLocation::kHost},
                                  root);
}

Status DataParallel::broadcast(const std::vector<at::Tensor>& tensors, int root) {
  if (tensors.empty()) return Status::ok_status();
  check_float32(tensors);
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> flat_views;
  flat_views.reserve(tensors.size());
  for (const at::Tensor& tensor : tensors) flat_views.push_back(tensor.detach().reshape({-1}));
  at::Tensor flat = at::cat(flat_views);
  CARAVAN_RETURN_IF_ERROR(communicator_->broadcast(collective_buffer(flat), root));
  if (rank() == root) return Status::ok_status();
  int64_t offset = 0;
  for (const at::Tensor& tensor : tensors) {
    const int64_t n = tensor.numel();
    tensor.detach().copy_(flat.slice(0, offset, offset + n).view_as(tensor));
    offset += n;
  }
  return Status::ok_status();
}

SumOverRanks sum_over_ranks_of(DataParallel* data_parallel) {
  if (data_parallel == nullptr) return {};
  return [data_parallel](std::vector<double> values) { return data_parallel->sum(values); };
}

Result<double> clip_and_step(torch::optim::Optimizer& optimizer, const std::vector<at::Tensor>& parameters,
                             double max_grad_norm, DataParallel* data_parallel) {
  if (data_parallel == nullptr) return clip_and_step(optimizer, parameters, max_grad_norm);
  CARAVAN_RETURN_IF_ERROR(data_parallel->sum_gradients(parameters));
  CARAVAN_ASSIGN_OR_RETURN(const double grad_norm, clip_and_step(optimizer, parameters, max_grad_norm));
  CARAVAN_RETURN_IF_ERROR(data_parallel->share_owned_parameters(parameters));
  return grad_norm;
}

} // namespace caravan::learner
