// File: learner/data_parallel.h
// One learner rank's part in data-parallel training with a ZeRO-1 sharded optimizer. K ranks
// each take a share of whole groups of a TrainBatch (group-normalised advantages need whole
// groups), run forward and backward on it, and sum their gradients over a model::Communicator
// (made by weights_sync/: Gloo on CPU, NCCL on GPU), each rank normalising its loss by the
// aggregation counts summed over the ranks, so the summed gradient is the gradient of the whole batch's
// loss. Every rank then
// clips by the same global norm (the summed gradients are identical on all ranks); each rank
// keeps AdamW state only for the parameters it owns (learner/zero_partition.h) and updates
// those, and each owner broadcasts its updated parameters to the others. Optimizer state per
// rank is thus about 1/K of a single learner's.
//
// The trainers drive it (learner/grpo_trainer.h, and learner/value_trainer.h for PPO's value
// model, whose AdamW state is sharded the same way); every rank issues the same collectives in
// the same order. Each rank cuts its share into exactly [grpo] mini_batches parts (some may be
// empty): mini-batch m of the step is the union of the ranks' m-th parts, and an update whose
// mini-batch is empty on every rank is skipped by all of them. Statistics over the whole batch
// (REINFORCE++'s and GAE's whitening, the loss normalisation counts, the reported terms) are
// summed over the ranks (learner/sum_over_ranks.h), so every estimator, every mini_batches and
// the value model give one learner's update on the whole batch. A collective that fails or
// passes the communicator's timeout (a rank crashed, stopped or diverged from the sequence)
// returns an error on every rank that is still alive and breaks the group: the run ends, it does
// not hang.
//
//   learner::DataParallel data_parallel(std::move(communicator));
//   auto [begin, end] = data_parallel.share(groups.size());
//   GrpoTrainer trainer(policy, options, rollout, pad_id, &data_parallel);
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include "core/status.h"
#include "learner/sum_over_ranks.h"
#include "model/communicator.h"

namespace caravan::learner {

// Not thread-safe: the rank's training thread issues every call.
class DataParallel {
 public:
  explicit DataParallel(std::unique_ptr<model::Communicator> communicator);

  int rank() const { return communicator_->rank(); }
  int ranks() const { return communicator_->world_size(); }
  model::Communicator& communicator() { return *communicator_; }

  // This rank's share [begin, end) of `count` whole groups: contiguous, in rank order, the sizes
  // differing by at most one (the lower ranks take the extra ones). May be empty.
  std::pair<size_t, size_t> share(size_t count) const;

  // The elementwise sums of `values` over the ranks (float32 on the wire: exact for counts below
  // 2^24). Every rank passes as many values.
  Result<std::vector<double>> sum(const std::vector<double>& values);

  // Replaces each parameter's gradient by its sum over the ranks (an undefined gradient counts
  // as zeros and becomes defined). The parameters are float32, in the same order on every rank,
  // all on one device: the CPU (Gloo), or a GPU with the NCCL backend, which sums in place.
  Status sum_gradients(const std::vector<at::Tensor>& parameters);

  // The parameters this rank owns under partition_by_numel(): the ones its optimizer updates.
  std::vector<at::Tensor> owned_parameters(const std::vector<at::Tensor>& parameters) const;

  // After each rank's optimizer updated the parameters it owns: every parameter takes its
  // owner's values (one broadcast per owner). Float32 parameters, as for sum_gradients().
  Status share_owned_parameters(const std::vector<at::Tensor>& parameters);

  // Every tensor (float32) takes rank 0's values: the ranks start from the weights rank 0 holds
  // (after its SFT, say).
  Status copy_from_rank0(const std::vector<at::Tensor>& tensors);

  // The owner rank of each parameter (partition_by_numel() of their element counts), as every
  // rank computes it.
  std::vector<int> owners(const std::vector<at::Tensor>& parameters) const;

  // `tensor` (contiguous, on the CPU, any dtype; the same shape and dtype on every rank) takes
  // rank `root`'s bytes on every other rank, in place. The communicator has no point-to-point
  // send, so this is also how one rank's tensor reaches rank 0 alone (the other ranks drop it).
  Status broadcast_tensor(const at::Tensor& tensor, int root);

 private:
  // Broadcasts `tensors` (float32) from `root` as one flat buffer, in place on the others.
  Status broadcast(const std::vector<at::Tensor>& tensors, int root);

  std::unique_ptr<model::Communicator> communicator_;
};

// DataParallel::sum as a SumOverRanks; empty when `data_parallel` is null (one learner). The
// result refers to `data_parallel`, which must outlive it.
SumOverRanks sum_over_ranks_of(DataParallel* data_parallel);

// The optimizer step after a mini-batch's backward passes. Without ranks (`data_parallel` null):
// clip_and_step (learner/train_step.h). With ranks, each of which accumulated the gradients of
// its part of the mini-batch into every parameter of `parameters` (the whole model's, float32,
// in the same order on every rank): sums them over the ranks, clips and steps `optimizer` (this
// rank's ZeRO-1 shard: the parameters owned_parameters() gives), and shares the owners' updated
// values. Returns the norm before clipping, the same on every rank; a non-finite one skips the
// step on every rank alike (kInternal). Other errors: the collectives'.
Result<double> clip_and_step(torch::optim::Optimizer& optimizer, const std::vector<at::Tensor>& parameters,
                             double max_grad_norm, DataParallel* data_parallel);

} // namespace caravan::learner
