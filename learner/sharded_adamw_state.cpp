#include "learner/sharded_adamw_state.h"

#include <c10/util/string_utils.h>

#include "core/str_cat.h"

namespace caravan::learner {
namespace {

using torch::optim::AdamW;
using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;

// The key LibTorch's optimizers file a parameter's state under.
std::string state_key(const at::Tensor& parameter) { return c10::guts::to_string(parameter.unsafeGetTensorImpl()); }

// `parameter`'s AdamW state in `optimizer`, or null when it has none (no step yet).
AdamWParamState* find_state(AdamW& optimizer, const at::Tensor& parameter) {
  const auto found = optimizer.state().find(state_key(parameter));
  return found == optimizer.state().end() ? nullptr : static_cast<AdamWParamState*>(found->second.get());
}

const AdamWOptions& first_group_options(const AdamW& optimizer) {
  CARAVAN_CHECK(!optimizer.param_groups().empty(), "the optimizer has no parameter group");
  const auto& options = static_cast<const AdamWOptions&>(optimizer.param_groups().front().options());
  // A checkpoint holds the two moments; amsgrad's third is never configured.
  CARAVAN_CHECK(!options.amsgrad(), "sharded AdamW state does not carry amsgrad's max_exp_avg_sq");
  return options;
}

}  // namespace

std::unique_ptr<AdamW> whole_model_adamw(const std::vector<at::Tensor>& parameters, const AdamW& like) {
  return std::make_unique<AdamW>(parameters, first_group_options(like));
}

Result<std::unique_ptr<AdamW>> gather_adamw_state(DataParallel& data_parallel, const std::vector<at::Tensor>& parameters,
                                                  AdamW& shard) {
  const std::vector<int> owner = data_parallel.owners(parameters);
  const int rank = data_parallel.rank();
  const auto count = static_cast<int64_t>(parameters.size());
  // Each parameter's step count (0: no state yet), from its owner: one broadcast per rank.
  at::Tensor steps = at::zeros({count}, at::kLong);
  for (int root = 0; root < data_parallel.ranks(); ++root) {
    at::Tensor from_root = at::zeros({count}, at::kLong);
    if (rank == root) {
      for (int64_t i = 0; i < count; ++i) {
        const AdamWParamState* state = find_state(shard, parameters[static_cast<size_t>(i)]);
        if (owner[static_cast<size_t>(i)] == root && state != nullptr) from_root[i] = state->step();
      }
    }
    CARAVAN_RETURN_IF_ERROR_CTX(data_parallel.broadcast_tensor(from_root, root), "gathering AdamW step counts");
    steps += from_root;
  }
  std::unique_ptr<AdamW> whole = rank == 0 ? whole_model_adamw(parameters, shard) : nullptr;
  for (int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<size_t>(i);
    const at::Tensor& parameter = parameters[index];
    const int64_t step = steps[i].item<int64_t>();
    if (step == 0) continue;
    at::Tensor moments;  // [2, numel]: exp_avg, exp_avg_sq
    if (rank == owner[index]) {
      const AdamWParamState* state = find_state(shard, parameter);
      CARAVAN_CHECK(state != nullptr, "rank ", rank, " announced AdamW state for parameter ", i, " but has none");
      if (rank == 0) {
        // Rank 0's own state: shared with the whole-model optimizer, not copied.
        whole->state()[state_key(parameter)] = std::make_unique<AdamWParamState>(*state);
        continue;
      }
      moments = at::stack({state->exp_avg().reshape({-1}), state->exp_avg_sq().reshape({-1})}).contiguous();
    } else {
      if (owner[index] == 0) continue;  // rank 0's own: nothing travels
      moments = at::empty({2, parameter.numel()}, parameter.options().requires_grad(false));
    }
    CARAVAN_RETURN_IF_ERROR_CTX(data_parallel.broadcast_tensor(moments, owner[index]),
                                str_cat("gathering the AdamW state of parameter ", i));
    if (rank != 0) continue;
    auto state = std::make_unique<AdamWParamState>();
    state->step(step);
    state->exp_avg(moments[0].view_as(parameter));
    state->exp_avg_sq(moments[1].view_as(parameter));
    whole->state()[state_key(parameter)] = std::move(state);
  }
  return whole;
}

Status keep_shard_state(AdamW& whole, const std::vector<std::pair<std::string, at::Tensor>>& parameters, AdamW& shard,
                        const std::string& file) {
  const std::vector<at::Tensor> whole_parameters = whole.param_groups().front().params();
  CARAVAN_CHECK(whole_parameters.size() == parameters.size(), "keep_shard_state: ", whole_parameters.size(),
                " parameters in the optimizer, ", parameters.size(), " named");
  size_t with_state = 0;
  std::string without_state;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& [name, parameter] = parameters[i];
    const AdamWParamState* state = find_state(whole, whole_parameters[i]);
    if (state == nullptr) {
      if (without_state.empty()) without_state = name;
      continue;
    }
    ++with_state;
    for (const at::Tensor& moment : {state->exp_avg(), state->exp_avg_sq()}) {
      if (!moment.defined() || moment.sizes() != parameter.sizes() || moment.scalar_type() != parameter.scalar_type()) {
        return Status::invalid_argument(str_cat(
            file, ": the AdamW state of parameter '", name, "' has shape ",
            moment.defined() ? moment.sizes() : at::IntArrayRef{}, " ",
            moment.defined() ? c10::toString(moment.scalar_type()) : "undefined", ", expected ", parameter.sizes(), " ",
            c10::toString(parameter.scalar_type()), " (a checkpoint of another model?)"));
      }
    }
  }
  if (with_state != 0 && with_state != parameters.size()) {
    return Status::invalid_argument(str_cat(file, ": parameter '", without_state, "' has no AdamW state while ",
                                            with_state, " of ", parameters.size(),
                                            " parameters have some (a rank's shard is missing)"));
  }
  for (const at::Tensor& parameter : shard.param_groups().front().params()) {
    const auto found = whole.state().find(state_key(parameter));
    if (found != whole.state().end()) shard.state()[state_key(parameter)] = std::move(found->second);
  }
  return Status();
}

} // namespace caravan::learner
