#include "actors/rollout/rollout_actor.h"

#include <algorithm>

#include <c10/util/Exception.h>

#include "core/log.h"
#include "core/worker_session.h"

namespace caravan::rollout {
namespace {

bool is_request(const AcceptedRequest& work) {
  return work.envelope->getRoot<proto::Envelope>().asReader().isRolloutRequest();
}

}  // namespace

RolloutActor::RolloutActor(model::Llama model, model::WeightTransport& transport, core::Outbox& outbox,
                           const RolloutActorOptions& options)
    : model_(std::move(model)),
      transport_(transport),
      outbox_(outbox),
      options_(options),
      config_(model_->config()),
      engine_([this](std::stop_token stop) { run(stop); }) {
  CARAVAN_CHECK(!options_.stop_ids.empty(), "RolloutActor: no stop ids");
}

Status RolloutActor::accept(const proto::Envelope::Reader& message) {
  if (message.isRolloutRequest()) {
    CARAVAN_RETURN_IF_ERROR(validate_rollout_request(message.getRolloutRequest(), config_));
  } else if (!message.isSyncWeights()) {
    return Status::invalid_argument(str_cat("rollout actor: unexpected message kind ", static_cast<int>(message.which())));
  }
  Work work{.envelope = std::make_unique<capnp::MallocMessageBuilder>(), .arrived = std::chrono::steady_clock::now()};
  work.envelope->setRoot(message);
  std::lock_guard lock(mutex_);
  active_.push_back(core::request_id_of(message));
  queue_.push_back(std::move(work));
  publish_queue_depth_locked();
  queue_changed_.notify_all();
  return Status();
}

std::vector<uint64_t> RolloutActor::active_requests() const {
  std::lock_guard lock(mutex_);
  return active_;
}

void RolloutActor::finish_request(uint64_t request_id) {
  std::lock_guard lock(mutex_);
  const auto found = std::find(active_.begin(), active_.end(), request_id);
  if (found != active_.end()) active_.erase(found);
  publish_queue_depth_locked();
}

void RolloutActor::publish_queue_depth_locked() {
  if (options_.metrics != nullptr) options_.metrics->set_queue_depth(active_.size());
}

void RolloutActor::run(std::stop_token stop) {
  model_->eval();
  while (true) {
    std::vector<AcceptedRequest> requests;
    Work sync;
    {
      std::unique_lock lock(mutex_);
      // wait() returns true with work queued even when stop was requested: check both.
      if (!queue_changed_.wait(lock, stop, [this] { return !queue_.empty(); }) || stop.stop_requested()) return;
      if (is_request(queue_.front())) {
        requests = take_batch();
      } else {
        sync = std::move(queue_.front());
        queue_.pop_front();
      }
    }
    if (sync.envelope) {
      install(sync.envelope->getRoot<proto::Envelope>().asReader().getSyncWeights());
      continue;
    }
    RolloutBatch batch(std::move(requests));
    try {
      generate(batch, stop);
    } catch (const c10::Error& e) {
      // Generation does not change the weights: the batch's requests fail, the actor goes on.
      for (const uint64_t id : batch.unfinished_requests()) {
        outbox_.post_error(id, Status::internal(str_cat("generation: LibTorch: ", e.what_without_backtrace())));
        finish_request(id);
      }
    } catch (const std::exception& e) {
      outbox_.fail(Status::internal(str_cat("generation: ", e.what())));
      return;
    }
  }
}

std::vector<AcceptedRequest> RolloutActor::take_batch() {
  std::vector<AcceptedRequest> requests;
  requests.push_back(std::move(queue_.front()));
  queue_.pop_front();
  const auto first = requests.front().request();
  for (auto it = queue_.begin(); it != queue_.end() && is_request(*it);) {
    if (same_sampling(it->request(), first)) {
      requests.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return requests;
}

void RolloutActor::generate(RolloutBatch& batch, std::stop_token stop) {
  GenerationOptions options = batch.generation_options(options_.stop_ids, options_.pad_id);
  options.stop = stop;
  // KV use of generate()'s dense cache: every live row reserves the longest prompt plus
  // max_new_tokens positions and has filled the longest prompt plus the steps so far.
  int64_t longest_prompt = 0;
  for (const auto& row : batch.rows()) longest_prompt = std::max(longest_prompt, static_cast<int64_t>(row.size()));
  const int64_t position_bytes = kv_bytes_per_position(config_, model_->parameters().front().element_size());
  int64_t live_rows = static_cast<int64_t>(batch.rows().size());
  const auto started = std::chrono::steady_clock::now();
  options.on_step = [&](int64_t step, const std::vector<GeneratedSequence>& sequences, const std::vector<size_t>& ended) {
    if (options_.metrics != nullptr) {
      for (const size_t row : ended) {
        options_.metrics->record_completion(static_cast<int64_t>(sequences[row].tokens.size()), !sequences[row].stopped);
      }
      live_rows -= static_cast<int64_t>(ended.size());
      options_.metrics->set_kv_cache(live_rows * (longest_prompt + step + 1) * position_bytes,
                                     live_rows * (longest_prompt + options.max_new_tokens) * position_bytes);
    }
    RolloutBatch::Ended done = batch.end_rows(sequences, ended);
    // Posted before the request leaves active_requests(): a heartbeat may name a request just
    // answered, never one whose answer is still to come.
    for (auto& completion : done.completions) outbox_.post(std::move(completion));
    for (const uint64_t id : done.finished_requests) finish_request(id);
    install_queued_weights();
    batch.begin_step(policy_version_.load());
  };
  batch.begin_step(policy_version_.load());
  rollout::generate(*model_, batch.rows(), options);
  if (options_.metrics != nullptr) {
    options_.metrics->record_busy(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    options_.metrics->set_kv_cache(0, 0);
  }
}

void RolloutActor::install_queued_weights() {
  std::vector<Work> syncs;
  {
    std::lock_guard lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (is_request(*it)) {
        ++it;
      } else {
        syncs.push_back(std::move(*it));
        it = queue_.erase(it);
      }
    }
  }
  for (const Work& sync : syncs) install(sync.envelope->getRoot<proto::Envelope>().asReader().getSyncWeights());
}

void RolloutActor::install(const proto::SyncWeights::Reader& sync) {
  const uint64_t request_id = sync.getRequestId();
  // The one call site of the weight transport; the group names the generation to join.
  Result<model::WeightSyncStats> stats = Status::internal("not run");
  try {
    stats = transport_.synchronize(*model_, sync.getPolicyVersion(), model::weight_group_from_proto(sync.getGroup()));
  } catch (const c10::Error& e) {
    stats = Status::internal(str_cat("LibTorch: ", e.what_without_backtrace()));
  }
  finish_request(request_id);
  if (options_.metrics != nullptr) {
    if (stats.ok()) {
      options_.metrics->weight_sync().record(stats->bytes, stats->seconds);
      options_.metrics->set_policy_version(stats->version);
    } else {
      options_.metrics->weight_sync().record_error();
    }
  }
  if (stats.ok()) {
    policy_version_ = stats->version;
    log::debug("event=weights_received policy_version=", stats->version, " bytes=", stats->bytes,
               " seconds=", stats->seconds);
    outbox_.post(model::weights_synced_reply(request_id, *stats));
  } else if (stats.status().code() == StatusCode::kFailedPrecondition) {
    // The transport refused before touching the weights: this sync failed, the actor goes on.
    outbox_.post_error(request_id, stats.status());
  } else {
    // A broadcast that broke off may have overwritten part of the weights: generating with
    // them would tag a mixture with the old version.
    outbox_.fail(Status(stats.status().code(), str_cat("weight sync ", request_id, " (policy version ",
                                                       sync.getPolicyVersion(), "): ", stats.status().message(),
                                                       "; the weights may be partly overwritten")));
  }
}

} // namespace caravan::rollout
