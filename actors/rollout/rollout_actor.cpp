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
    if (message.getRolloutRequest().getStopStrings().size() > 0 && options_.token_text == nullptr) {
      return Status::invalid_argument("RolloutRequest.stopStrings: this rollout actor has no tokenizer text to match them on");
    }
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
  Result<std::unique_ptr<Engine>> created = Engine::create(*model_, options_.engine, options_.token_text.get(),
                                                           policy_version_.load());
  if (!created.ok()) {
    outbox_.fail(Status(created.status().code(), str_cat("rollout engine: ", created.status().message())));
    return;
  }
  Engine& engine = **created;
  kv_block_bytes_ = PagedKvCache::block_bytes(config_, engine.cache().block_size(),
                                              model_->parameters().front().scalar_type());
  log::info("event=rollout_engine kv_blocks=", engine.cache().blocks().num_blocks(), " kv_block_size=",
            engine.cache().block_size(), " max_step_tokens=", options_.engine.max_step_tokens,
            " max_running=", options_.engine.max_running);
  RolloutBatch batch;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex_);
      // wait() returns true with work queued even when stop was requested: check both.
      if (engine.idle() &&
          (!queue_changed_.wait(lock, stop, [this] { return !queue_.empty(); }) || stop.stop_requested())) {
        return;
      }
    }
    admit_queued(engine, batch);
    if (engine.idle()) continue;
    try {
      step(engine, batch);
    } catch (const c10::Error& e) {
      // A step does not change the weights: the requests in flight fail, the actor goes on.
      for (const uint64_t id : batch.unfinished_requests()) {
        outbox_.post_error(id, Status::internal(str_cat("generation: LibTorch: ", e.what_without_backtrace())));
        finish_request(id);
      }
      batch.clear();
      engine.clear();
      continue;
    } catch (const std::exception& e) {
      outbox_.fail(Status::internal(str_cat("generation: ", e.what())));
      return;
    }
    install_front_syncs(engine);
    log_progress(engine);
  }
}

void RolloutActor::admit_queued(Engine& engine, RolloutBatch& batch) {
  while (true) {
    Work work;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty() || (!is_request(queue_.front()) && !engine.idle())) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!is_request(work)) {
      install(work.envelope->getRoot<proto::Envelope>().asReader().getSyncWeights());
      engine.set_policy_version(policy_version_.load());
      continue;
    }
    const uint64_t request_id = work.request().getRequestId();
    RolloutBatch::Added added = batch.add(std::move(work), options_.stop_ids);
    Status admissible;
    for (const EngineRequest& prompt : added.prompts) {
      if (admissible.ok()) admissible = engine.check(prompt);
    }
    if (!admissible.ok()) {
      // Validated on arrival; what is left is what the KV cache cannot hold.
      outbox_.post_error(request_id, Status(admissible.code(), str_cat("RolloutRequest: ", admissible.message())));
      finish_request(request_id);
      batch.remove(added.key);
      continue;
    }
    for (EngineRequest& prompt : added.prompts) CARAVAN_CHECK(engine.add(std::move(prompt)).ok(), "Engine: checked request refused");
  }
}

void RolloutActor::step(Engine& engine, RolloutBatch& batch) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<SequenceOutput> ended = engine.step();
  if (options_.metrics != nullptr) {
    options_.metrics->record_busy(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    for (const SequenceOutput& output : ended) {
      options_.metrics->record_completion(static_cast<int64_t>(output.tokens.size()),
                                          output.finish_reason == FinishReason::kLength);
    }
    options_.metrics->record_engine(engine.stats(), kv_block_bytes_);
  }
  for (SequenceOutput& output : ended) {
    RolloutBatch::Ended done = batch.record(std::move(output));
    // Posted before the request leaves active_requests(): a heartbeat may name a request just
    // answered, never one whose answer is still to come.
    for (auto& completion : done.completions) outbox_.post(std::move(completion));
    for (const uint64_t id : done.finished_requests) finish_request(id);
  }
}

void RolloutActor::install_front_syncs(Engine& engine) {
  while (true) {
    Work sync;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty() || is_request(queue_.front())) return;
      sync = std::move(queue_.front());
      queue_.pop_front();
    }
    install(sync.envelope->getRoot<proto::Envelope>().asReader().getSyncWeights());
    engine.set_policy_version(policy_version_.load());
  }
}

void RolloutActor::log_progress(const Engine& engine) {
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_progress_).count() < options_.progress_every_s) return;
  last_progress_ = now;
  const EngineStats stats = engine.stats();
  log::info("event=rollout_progress waiting=", stats.waiting, " running=", stats.running, " preempted=", stats.preempted,
            " preemptions_total=", stats.totals.preemptions, " kv_blocks_used=", stats.kv_blocks_used,
            " kv_blocks_free=", stats.kv_blocks_free, " prefix_hit_rate=", stats.prefix_hit_rate(),
            " prefill_tokens_per_s=", stats.prefill_tokens_per_second(),
            " decode_tokens_per_s=", stats.decode_tokens_per_second(), " policy_version=", policy_version_.load());
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
