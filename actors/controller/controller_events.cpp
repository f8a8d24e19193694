// The controller's event loop: calls the phases wait on, message handling, liveness, deadlines
// and the dispatch of rollout and reward work (see controller.h).
#include <algorithm>

#include "actors/controller/controller.h"
#include "actors/controller/reward_item.h"
#include "core/capnp_lists.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/seconds.h"
#include "core/reward_record.h"
#include "core/worker_session.h"

namespace caravan::controller {
namespace {

using std::chrono::milliseconds;

// Held-out prompts per evaluation RolloutRequest.
constexpr size_t kEvaluationPromptsPerRequest = 16;

// The seed of one generation of a training group: a function of the run's seed, the group's
// prompt key and how often it was generated before, whichever actor generates it.
uint64_t group_seed(uint64_t run_seed, uint64_t prompt_key, uint32_t regenerations) {
  return core::splitmix64(run_seed ^ core::splitmix64(prompt_key ^ core::splitmix64(regenerations)));
}

// A prompt as the sample files record it: its chat messages, or its raw text.
nlohmann::json prompt_record(const core::TaskPrompt& prompt) {
  if (prompt.messages.empty()) return prompt.text;
  nlohmann::json messages = nlohmann::json::array();
  for (const core::ChatMessage& message : prompt.messages) {
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  return messages;
}

// Stamps `id` into the request the envelope carries.
void set_request_id(proto::Envelope::Builder envelope, uint64_t id) {
  switch (envelope.which()) {
    case proto::Envelope::ROLLOUT_REQUEST: envelope.getRolloutRequest().setRequestId(id); return;
    case proto::Envelope::REWARD_REQUEST: envelope.getRewardRequest().setRequestId(id); return;
    case proto::Envelope::TRAIN_BATCH: envelope.getTrainBatch().setRequestId(id); return;
    case proto::Envelope::SFT_REQUEST: envelope.getSftRequest().setRequestId(id); return;
    case proto::Envelope::SYNC_WEIGHTS: envelope.getSyncWeights().setRequestId(id); return;
    case proto::Envelope::SAVE_CHECKPOINT: envelope.getSaveCheckpoint().setRequestId(id); return;
    case proto::Envelope::EXPORT_MODEL: envelope.getExportModel().setRequestId(id); return;
    case proto::Envelope::RESTORE_CHECKPOINT: envelope.getRestoreCheckpoint().setRequestId(id); return;
    case proto::Envelope::HELLO:
    case proto::Envelope::HEARTBEAT:
    case proto::Envelope::SHUTDOWN:
    case proto::Envelope::COMPLETION:
    case proto::Envelope::REWARD_RESULT:
    case proto::Envelope::TRAIN_RESULT:
    case proto::Envelope::WEIGHTS_SYNCED:
    case proto::Envelope::CHECKPOINT_SAVED:
    case proto::Envelope::ERROR_REPLY:
    case proto::Envelope::CHECKPOINT_RESTORED: break;
  }
  CARAVAN_CHECK(false, "envelope kind ", static_cast<int>(envelope.which()), " is not a request");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Calls: requests a phase waits for, while the event loop keeps the rest of the run moving.

Result<std::vector<core::ReceivedMessage>> Controller::call_all(
    std::vector<std::pair<std::string, std::unique_ptr<capnp::MallocMessageBuilder>>> requests, double deadline_s,
    RequestKind kind) {
  std::vector<uint64_t> ids;
  for (auto& [worker, message] : requests) {
    const uint64_t id = next_request_id_++;
    ids.push_back(id);
    awaited_[id] = AwaitedReply{};
    PendingRequest pending;
    pending.kind = kind;
    pending.worker = worker;
    pending.deadline = link_.now() + core::seconds_to_ms(deadline_s);
    send_request(id, std::move(pending), *message);
  }
  Status failure;
  while (failure.ok()) {
    bool all_replied = true;
    for (uint64_t id : ids) {
      const AwaitedReply& awaited = awaited_.at(id);
      if (!awaited.failure.ok()) failure = awaited.failure;
      all_replied = all_replied && awaited.reply.has_value();
    }
    if (!failure.ok() || all_replied) break;
    if (draining() && link_.now() > *grace_deadline_) {
      failure = Status::cancelled(str_cat("[supervision] sigterm_grace_s = ", config_.supervision.sigterm_grace_s,
                                          " s passed while waiting for ", requests.front().first));
      break;
    }
    failure = pump(kLoopTick);
  }
  if (!failure.ok() && !fatal_.ok()) failure = fatal_;  // the run's own reason comes first
  std::vector<core::ReceivedMessage> replies;
  for (uint64_t id : ids) {
    AwaitedReply awaited = std::move(awaited_.at(id));
    awaited_.erase(id);
    pending_.erase(id);  // a failed call leaves the others of its batch unanswered: forget them
    if (failure.ok()) replies.push_back(std::move(*awaited.reply));
  }
  if (!failure.ok()) return failure;
  return replies;
}

Result<core::ReceivedMessage> Controller::call_learner(std::unique_ptr<capnp::MallocMessageBuilder> request,
                                                       double deadline_s) {
  std::vector<std::pair<std::string, std::unique_ptr<capnp::MallocMessageBuilder>>> requests;
  requests.emplace_back(learner(), std::move(request));
  CARAVAN_ASSIGN_OR_RETURN(std::vector<core::ReceivedMessage> replies,
                           call_all(std::move(requests), deadline_s, RequestKind::kLearner));
  return std::move(replies.front());
}

bool Controller::send_request(uint64_t request_id, PendingRequest pending, capnp::MallocMessageBuilder& message) {
  set_request_id(message.getRoot<proto::Envelope>(), request_id);
  pending.incarnation = roster_.state(pending.worker).incarnation;
  const std::string worker = pending.worker;
  pending_.emplace(request_id, std::move(pending));
  Status sent = link_.send(worker, message);
  if (!sent.ok()) {
    if (roster_.mark_dead(worker)) on_worker_lost(worker, sent.message());
    fail_request(request_id, str_cat(worker, ": ", sent.message()));
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The event loop

Status Controller::check_stop() {
  if (stop_.stop_requested()) return Status::cancelled("stop requested");
  return Status();
}

Status Controller::pump(milliseconds wait) {
  loop_.beat();
  if (stop_.stop_requested() && !draining()) {
    grace_deadline_ = link_.now() + core::seconds_to_ms(config_.supervision.sigterm_grace_s);
    log::warn("event=stopping grace_s=", config_.supervision.sigterm_grace_s,
              " action=\"finish the step in progress, checkpoint, exit\"");
  }
  const Clock::time_point now = link_.now();
  if (now >= next_heartbeat_) {
    send_heartbeats();
    publish_metrics();
    next_heartbeat_ = now + core::seconds_to_ms(config_.cluster.heartbeat_interval_s);
  }
  for (const std::string& lost : roster_.expire(now)) {
    if (silent_worker_handler_) silent_worker_handler_(lost, roster_.state(lost));
    on_worker_lost(lost, str_cat("silent for more than ", config_.cluster.heartbeat_timeout_s,
                                 " s ([cluster] heartbeat_timeout_s)"));
  }
  expire_deadlines();
  dispatch();
  account_idle_actors();
  if (!fatal_.ok()) return fatal_;
  Result<std::optional<core::ReceivedMessage>> received = link_.receive(std::min(wait, kLoopTick), {});
  if (!received.ok()) {
    log::warn("event=malformed_message reason=\"", received.status().message(), "\"");
    ++counters_.ignored_replies;
    return Status();
  }
  if (*received) handle(std::move(**received));
  return fatal_;
}

void Controller::send_heartbeats() {
  for (const std::string& worker : expected_workers(config_)) {
    if (!roster_.alive(worker)) continue;
    capnp::MallocMessageBuilder message;
    auto heartbeat = message.initRoot<proto::Envelope>().initHeartbeat();
    heartbeat.setRole(proto::Role::CONTROLLER);
    heartbeat.setPolicyVersion(policy_version_);
    Status sent = link_.send(worker, message);
    if (!sent.ok() && roster_.mark_dead(worker)) on_worker_lost(worker, sent.message());
  }
}

void Controller::account_idle_actors() {
  const Clock::time_point now = link_.now();
  const double elapsed = std::chrono::duration<double>(now - last_pump_).count();
  last_pump_ = now;
  if (!rl_started_ || trained_steps_ >= config_.grpo.steps || evaluation_) return;
  std::set<std::string> busy;
  for (const auto& [id, pending] : pending_) {
    if (pending.kind == RequestKind::kRollout) busy.insert(pending.worker);
  }
  for (const std::string& actor : ready_actors()) {
    if (busy.count(actor) == 0) actor_idle_s_ += elapsed;
  }
}

void Controller::publish_metrics() {
  metrics_.set_ledger(training_.ledger);
  metrics_.set_progress(policy_version_, trained_steps_, next_draw_);
  metrics_.set_runtime_totals(counters_, roster_.restarts(), learner_wait_s_);
  metrics_.set_dynamic_sampling_dropped_groups(dynamic_sampler_.dropped_groups());
  for (const std::string& worker : expected_workers(config_)) {
    const WorkerState& state = roster_.state(worker);
    metrics_.set_worker_up(worker, roster_.alive(worker));
    if (state.incarnation > 0) {
      metrics_.set_heartbeat_age(worker, std::chrono::duration<double>(link_.now() - state.last_heard).count());
    }
  }
}

void Controller::handle(core::ReceivedMessage received) {
  const std::string& worker = received.peer();
  const proto::Envelope::Reader envelope = received.envelope();
  const uint64_t previous_incarnation = roster_.knows(worker) ? roster_.state(worker).incarnation : 0;
  const bool was_alive = roster_.alive(worker);
  switch (roster_.on_message(worker, envelope, link_.now())) {
    case WorkerRoster::Heard::kUnknown:
      log::warn("event=unknown_worker peer=", worker);
      ++counters_.ignored_replies;
      return;
    case WorkerRoster::Heard::kDead: {
      // A lost incarnation that still talks: its work went elsewhere; it must go.
      ++counters_.ignored_replies;
      capnp::MallocMessageBuilder message;
      message.initRoot<proto::Envelope>().initShutdown().setReason("declared lost by the controller");
      (void)link_.send(worker, message);
      return;
    }
    case WorkerRoster::Heard::kJoined:
      if (previous_incarnation > 0) {
        if (was_alive) on_worker_lost(worker, "restarted (a new Hello)");
        log::info("event=worker_rejoined worker=", worker, " pid=", envelope.getHello().getPid(),
                  " incarnation=", roster_.state(worker).incarnation);
        if (worker == learner() && fatal_.ok()) fatal_ = Status::unavailable("the learner restarted mid-run");
      } else {
        log::info("event=worker_connected worker=", worker, " pid=", envelope.getHello().getPid(),
                  " host=", envelope.getHello().getHost().cStr());
      }
      return;
    case WorkerRoster::Heard::kAlive: break;
  }
  switch (envelope.which()) {
    case proto::Envelope::HEARTBEAT: return;
    case proto::Envelope::COMPLETION: return on_completion(worker, envelope.getCompletion());
    case proto::Envelope::REWARD_RESULT: return on_rewards(worker, envelope.getRewardResult());
    case proto::Envelope::ERROR_REPLY: return on_error(worker, envelope.getErrorReply());
    case proto::Envelope::TRAIN_RESULT:
    case proto::Envelope::WEIGHTS_SYNCED:
    case proto::Envelope::CHECKPOINT_SAVED:
    case proto::Envelope::CHECKPOINT_RESTORED:
      return on_awaited_reply(core::request_id_of(envelope), std::move(received));
    case proto::Envelope::HELLO:
    case proto::Envelope::SHUTDOWN:
    case proto::Envelope::ROLLOUT_REQUEST:
    case proto::Envelope::REWARD_REQUEST:
    case proto::Envelope::TRAIN_BATCH:
    case proto::Envelope::SFT_REQUEST:
    case proto::Envelope::SYNC_WEIGHTS:
    case proto::Envelope::SAVE_CHECKPOINT:
    case proto::Envelope::EXPORT_MODEL:
    case proto::Envelope::RESTORE_CHECKPOINT: break;
  }
  log::warn("event=unexpected_message worker=", worker, " kind=", static_cast<int>(envelope.which()));
  ++counters_.ignored_replies;
}

void Controller::on_awaited_reply(uint64_t request_id, core::ReceivedMessage received) {
  const std::string& worker = received.peer();
  auto pending = pending_.find(request_id);
  auto awaited = awaited_.find(request_id);
  if (pending == pending_.end() || awaited == awaited_.end() || pending->second.worker != worker) {
    log::debug("event=ignored_reply worker=", worker, " request_id=", request_id, " why=not_expected");
    ++counters_.ignored_replies;
    return;
  }
  pending_.erase(pending);
  awaited->second.reply = std::move(received);
}

void Controller::on_completion(const std::string& worker, proto::Completion::Reader completion) {
  auto it = pending_.find(completion.getRequestId());
  const auto samples = completion.getSamples();
  const uint64_t key = samples.size() > 0 ? samples[0].getPromptId() : 0;
  if (it == pending_.end() || it->second.kind != RequestKind::kRollout || it->second.worker != worker ||
      samples.size() == 0 || it->second.groups.count(key) == 0) {
    log::debug("event=ignored_reply worker=", worker, " request_id=", completion.getRequestId(), " prompt_key=", key,
               " why=not_expected");
    ++counters_.ignored_replies;
    return;
  }
  // The request stays pending: its deadline sends the prompts to be generated again.
  for (const auto sample : samples) {
    std::vector<uint64_t> versions{sample.getPolicyVersion()};
    for (const uint64_t version : sample.getTokenPolicyVersions()) versions.push_back(version);
    for (const uint64_t version : versions) {
      if (announced_versions_.count(version) == 0) {
        log::warn("event=unannounced_version_refused worker=", worker, " request_id=", completion.getRequestId(),
                  " prompt_key=", key, " policy_version=", version, " announced_up_to=", *announced_versions_.rbegin());
        ++counters_.unannounced_versions;
        return;
      }
    }
  }
  PendingRequest& pending = it->second;
  WorkStream& work = stream(pending.stream);
  std::vector<GeneratedSample> generated;
  for (const auto sample : samples) {
    GeneratedSample g;
    g.index = sample.getSampleIndex();
    g.tokens = core::to_vector(sample.getTokens());
    g.logprobs = core::to_vector(sample.getLogprobs());
    g.token_versions = core::to_vector(sample.getTokenPolicyVersions());
    g.finish_reason = sample.getFinishReason();
    const std::string where = str_cat(worker, ": Completion of prompt ", key, " sample ", g.index);
    if (sample.getPromptId() != key) {
      fatal_ = Status::invalid_argument(str_cat(where, " carries prompt id ", sample.getPromptId()));
      return;
    }
    if (g.logprobs.size() != g.tokens.size() || g.token_versions.size() != g.tokens.size()) {
      fatal_ = Status::invalid_argument(str_cat(where, ": ", g.tokens.size(), " tokens, ", g.logprobs.size(),
                                                " logprobs, ", g.token_versions.size(), " token policy versions"));
      return;
    }
    Result<std::string> text = model::decode_generated(tokenizer_, g.tokens);
    if (!text.ok()) {
      fatal_ = text.status().with_context(where);
      return;
    }
    g.text = std::move(*text);
    generated_tokens_ += static_cast<int64_t>(g.tokens.size());
    generated.push_back(std::move(g));
  }
  Status recorded = work.ledger.record_generation(key, std::move(generated));
  if (!recorded.ok()) {
    fatal_ = recorded.with_context(worker);
    return;
  }
  const Stream which = pending.stream;
  pending.groups.erase(key);
  if (pending.groups.empty()) pending_.erase(it);
  dispatch_reward(which, key);
}

void Controller::on_rewards(const std::string& worker, proto::RewardResult::Reader result) {
  auto it = pending_.find(result.getRequestId());
  if (it == pending_.end() || it->second.kind != RequestKind::kReward || it->second.worker != worker) {
    log::debug("event=ignored_reply worker=", worker, " request_id=", result.getRequestId(), " why=not_expected");
    ++counters_.ignored_replies;
    return;
  }
  const Stream which = it->second.stream;
  const uint64_t key = *it->second.groups.begin();
  pending_.erase(it);
  WorkStream& work = stream(which);
  for (const auto reward : result.getRewards()) {
    if (reward.getPromptId() != key || !work.ledger.expects_reward(key, reward.getSampleIndex())) {
      ++counters_.ignored_replies;
      continue;
    }
    SampleReward scored;
    scored.score = reward.getScore();
    scored.status = reward.getStatus();
    scored.trainable = reward.getTrainable();
    scored.record = core::reward_record(reward);
    const GeneratedSample& sample = work.ledger.group(key).samples[reward.getSampleIndex()].generated;
    const std::optional<DropReason> drop = which == Stream::kTraining ? drop_reason(sample, scored) : std::nullopt;
    work.ledger.record_reward(key, reward.getSampleIndex(), std::move(scored), drop);
  }
  // Samples the verifier left out are scored again.
  if (!work.ledger.ready(key)) unverified_.emplace(which, key);
}

std::optional<DropReason> Controller::drop_reason(const GeneratedSample& sample, const SampleReward& reward) const {
  if (!reward.trainable) return DropReason::kUnjudged;
  if (config_.pipeline.drop_truncated && sample.finish_reason == proto::FinishReason::LENGTH) {
    return DropReason::kOverLength;
  }
  return std::nullopt;
}

void Controller::on_error(const std::string& worker, proto::ErrorReply::Reader error) {
  const uint64_t id = error.getRequestId();
  const std::string message = error.getMessage();
  auto it = pending_.find(id);
  if (id == 0) {
    // The worker itself is broken and exits; whatever it was doing is lost.
    log::warn("event=worker_failed worker=", worker, " reason=\"", message, "\"");
    if (roster_.mark_dead(worker)) on_worker_lost(worker, message);
    return;
  }
  if (it == pending_.end() || it->second.worker != worker) {
    ++counters_.ignored_replies;
    return;
  }
  if (error.getRetryAfterMs() > 0 && it->second.message) {
    it->second.resend_at = link_.now() + milliseconds(error.getRetryAfterMs());
    return;
  }
  if (awaited_.count(id) > 0) {
    awaited_.at(id).failure = Status::unavailable(str_cat("worker ", worker, " failed: ", message));
    pending_.erase(it);
    return;
  }
  // A rollout or reward request the worker refused: the same work would fail again elsewhere.
  fatal_ = Status::unavailable(str_cat("worker ", worker, " failed: ", message));
}

void Controller::on_worker_lost(const std::string& worker, const std::string& why) {
  ++counters_.workers_lost;
  log::warn("event=worker_lost worker=", worker, " reason=\"", why, "\"");
  if (worker == learner() && fatal_.ok()) {
    fatal_ = Status::unavailable(str_cat("the learner was lost (", why, "); the run stops with its last committed "
                                         "checkpoint; resume with: caravan run --resume ", run_dir_.root().string()));
  }
  actor_weights_incarnation_.erase(worker);
  std::vector<uint64_t> orphaned;
  for (const auto& [id, pending] : pending_) {
    if (pending.worker == worker) orphaned.push_back(id);
  }
  for (uint64_t id : orphaned) fail_request(id, str_cat(worker, " lost: ", why));
}

void Controller::fail_request(uint64_t request_id, const std::string& why) {
  auto it = pending_.find(request_id);
  if (it == pending_.end()) return;
  PendingRequest pending = std::move(it->second);
  pending_.erase(it);
  if (awaited_.count(request_id) > 0) {
    awaited_.at(request_id).failure = Status::unavailable(why);
    return;
  }
  WorkStream& work = stream(pending.stream);
  for (uint64_t key : pending.groups) {
    if (pending.kind == RequestKind::kRollout) {
      if (work.ledger.expects_generation(key)) work.ledger.requeue(key);
    } else {
      unverified_.emplace(pending.stream, key);
    }
  }
  log::info("event=work_requeued worker=", pending.worker, " groups=", pending.groups.size(), " reason=\"", why, "\"");
}

void Controller::expire_deadlines() {
  const Clock::time_point now = link_.now();
  std::vector<uint64_t> expired;
  std::vector<uint64_t> resend;
  for (const auto& [id, pending] : pending_) {
    if (now > pending.deadline) expired.push_back(id);
    else if (pending.resend_at && now >= *pending.resend_at) resend.push_back(id);
  }
  for (uint64_t id : expired) {
    ++counters_.deadlines_missed;
    fail_request(id, str_cat("request ", id, " to ", pending_.at(id).worker, " passed its deadline ([deadlines])"));
  }
  for (uint64_t id : resend) {
    PendingRequest& pending = pending_.at(id);
    pending.resend_at.reset();
    Status sent = link_.send(pending.worker, *pending.message);
    if (!sent.ok()) {
      const std::string worker = pending.worker;
      if (roster_.mark_dead(worker)) on_worker_lost(worker, sent.message());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch

void Controller::dispatch() {
  if (!draining()) draw_training_prompts();
  dispatch_rollouts(Stream::kTraining);
  if (evaluation_) dispatch_rollouts(Stream::kEvaluation);
  const auto waiting = std::move(unverified_);
  unverified_.clear();
  for (const auto& [which, key] : waiting) {
    if (which == Stream::kEvaluation && !evaluation_) continue;
    dispatch_reward(which, key);
  }
}

void Controller::draw_training_prompts() {
  if (trained_steps_ >= config_.grpo.steps || evaluation_) return;
  const uint64_t run_total = static_cast<uint64_t>(config_.grpo.steps * config_.grpo.prompts_per_step);
  // The draws the trained groups and the ledger already account for; resumed runs start past them.
  // Each refill of dynamic sampling admits one draw more (dynamic_sampling.h).
  const uint64_t limit =
      std::min(run_total, policy_.draw_limit(static_cast<uint64_t>(synced_steps_))) + dynamic_sampler_.refills();
  while (next_draw_ < limit) {
    training_.ledger.add(next_draw_);
    ++next_draw_;
  }
}

void Controller::dispatch_rollouts(Stream which) {
  WorkStream& work = stream(which);
  const std::vector<std::string> actors = ready_actors();
  if (actors.empty()) return;
  const bool evaluation = which == Stream::kEvaluation;
  const size_t per_request = evaluation ? kEvaluationPromptsPerRequest : 1;
  std::map<std::string, size_t> load;
  for (const std::string& actor : actors) load[actor] = 0;
  for (const auto& [id, pending] : pending_) {
    if (pending.kind == RequestKind::kRollout && load.count(pending.worker)) load[pending.worker] += pending.groups.size();
  }
  while (true) {
    const std::vector<uint64_t> keys = work.ledger.queued(per_request);
    if (keys.empty()) return;
    const std::string actor =
        std::min_element(load.begin(), load.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
    capnp::MallocMessageBuilder message;
    auto request = message.initRoot<proto::Envelope>().initRolloutRequest();
    request.setSamplesPerPrompt(work.ledger.group_size());
    request.setMaxNewTokens(static_cast<uint32_t>(config_.rollout.max_new_tokens));
    request.setTemperature(static_cast<float>(evaluation ? 0.0 : work.temperature));
    request.setTopP(static_cast<float>(evaluation ? 1.0 : work.top_p));
    // Held-out evaluation stays greedy and unpenalised; stop strings end both streams' samples.
    if (!evaluation) {
      const rollout::RolloutOptions& rollout = config_.rollout;
      request.setTopK(static_cast<uint32_t>(rollout.top_k));
      request.setMinP(static_cast<float>(rollout.min_p));
      request.setRepetitionPenalty(static_cast<float>(rollout.repetition_penalty));
      request.setPresencePenalty(static_cast<float>(rollout.presence_penalty));
      request.setFrequencyPenalty(static_cast<float>(rollout.frequency_penalty));
      request.setTopLogprobs(static_cast<uint32_t>(rollout.top_logprobs));
    }
    auto stop_strings = request.initStopStrings(static_cast<unsigned>(config_.rollout.stop_strings.size()));
    for (unsigned i = 0; i < stop_strings.size(); ++i) stop_strings.set(i, config_.rollout.stop_strings[i]);
    // One group per training request: its seed depends on the group alone, so its samples do
    // not depend on how the work was spread over the actors.
    request.setSeed(group_seed(config_.run.seed, keys.front(), work.ledger.group(keys.front()).regenerations));
    auto prompts = request.initPrompts(static_cast<unsigned>(keys.size()));
    PendingRequest pending;
    pending.kind = RequestKind::kRollout;
    pending.worker = actor;
    pending.stream = which;
    pending.deadline = link_.now() + core::seconds_to_ms(config_.deadlines.rollout_s);
    for (size_t i = 0; i < keys.size(); ++i) {
      const core::TaskPrompt& task_prompt = prompt(which, keys[i]);
      prompts[static_cast<unsigned>(i)].setPromptId(keys[i]);
      core::copy_into(prompts[static_cast<unsigned>(i)].initTokens(static_cast<unsigned>(task_prompt.tokens.size())),
                      task_prompt.tokens);
      work.ledger.start_generation(keys[i]);
      pending.groups.insert(keys[i]);
    }
    load[actor] += keys.size();
    if (!send_request(next_request_id_++, std::move(pending), message)) return;
  }
}

void Controller::dispatch_reward(Stream which, uint64_t key) {
  WorkStream& work = stream(which);
  const std::vector<std::string> verifiers = roster_.alive_with_role(proto::Role::VERIFIER);
  if (verifiers.empty()) {
    unverified_.emplace(which, key);
    return;
  }
  std::map<std::string, size_t> load;
  for (const std::string& verifier : verifiers) load[verifier] = 0;
  for (const auto& [id, pending] : pending_) {
    if (pending.kind == RequestKind::kReward && load.count(pending.worker)) ++load[pending.worker];
  }
  const std::string verifier =
      std::min_element(load.begin(), load.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  const LedgerGroup& group = work.ledger.group(key);
  std::vector<uint32_t> indices;
  for (uint32_t s = 0; s < group.samples.size(); ++s) {
    if (work.ledger.expects_reward(key, s)) indices.push_back(s);
  }
  auto message = std::make_shared<capnp::MallocMessageBuilder>();
  auto items = message->initRoot<proto::Envelope>().initRewardRequest().initItems(static_cast<unsigned>(indices.size()));
  const core::TaskPrompt& task_prompt = prompt(which, key);
  for (size_t i = 0; i < indices.size(); ++i) {
    const GeneratedSample& sample = group.samples[indices[i]].generated;
    auto item = items[static_cast<unsigned>(i)];
    fill_reward_item(task_prompt, indices[i], sample.tokens, sample.finish_reason, sample.text, item);
    item.setPromptId(key);
  }
  PendingRequest pending;
  pending.kind = RequestKind::kReward;
  pending.worker = verifier;
  pending.stream = which;
  pending.groups = {key};
  pending.deadline = link_.now() + core::seconds_to_ms(config_.deadlines.reward_s);
  pending.message = message;
  send_request(next_request_id_++, std::move(pending), *message);
}

// ---------------------------------------------------------------------------------------------
// Helpers

Controller::WorkStream& Controller::stream(Stream which) {
  if (which == Stream::kTraining) return training_;
  CARAVAN_CHECK(evaluation_ != nullptr, "no evaluation in progress");
  return *evaluation_;
}

const core::TaskPrompt& Controller::prompt(Stream which, uint64_t key) {
  if (which == Stream::kEvaluation) return prompts_.held_out().at(key);
  auto it = drawn_prompts_.find(key);
  if (it == drawn_prompts_.end()) it = drawn_prompts_.emplace(key, prompts_.training_prompt(key)).first;
  return it->second;
}

std::string Controller::learner() const { return core::worker_identity(proto::Role::LEARNER, 0); }

std::vector<std::string> Controller::ready_actors() const {
  std::vector<std::string> ready;
  for (const std::string& actor : roster_.alive_with_role(proto::Role::ROLLOUT)) {
    auto it = actor_weights_incarnation_.find(actor);
    if (it != actor_weights_incarnation_.end() && it->second == roster_.state(actor).incarnation) ready.push_back(actor);
  }
  return ready;
}

bool Controller::actors_await_weights() const {
  if (syncing_ || group_generation_ == 0) return false;
  return ready_actors().size() < roster_.alive_with_role(proto::Role::ROLLOUT).size();
}

Status Controller::append_metrics(const nlohmann::json& record) {
  return run_dir_.append_jsonl(run_dir_.metrics_path(), record);
}

Status Controller::write_samples(const std::string& phase, Stream which, const std::vector<uint64_t>& keys,
                                 const TrainedBatch* trained) {
  WorkStream& work = stream(which);
  std::vector<nlohmann::json> records;
  for (uint64_t key : keys) {
    const core::TaskPrompt& task_prompt = prompt(which, key);
    const LedgerGroup& group = work.ledger.group(key);
    for (uint32_t s = 0; s < group.samples.size(); ++s) {
      const LedgerSample& sample = group.samples[s];
      const GeneratedSample& g = sample.generated;
      nlohmann::json record = {{"step", trained != nullptr ? trained->step : 0},
                               {"prompt_key", key},
                               {"prompt_id", task_prompt.id},
                               {"sample_index", s},
                               {"source", task_prompt.source},
                               {"verifier", task_prompt.verifier},
                               {"prompt", prompt_record(task_prompt)},
                               {"ground_truth", task_prompt.ground_truth},
                               {"completion", g.text},
                               {"finish_reason", finish_reason_name(g.finish_reason)},
                               {"completion_tokens",
                                completion_token_count(g.tokens, g.finish_reason == proto::FinishReason::STOP)},
                               {"reward", sample.reward.record},
                               {"policy_version", g.policy_version()},
                               {"last_token_policy_version", g.token_versions.empty() ? 0 : g.token_versions.back()}};
      if (trained != nullptr) {
        record["staleness"] = trained->trained_from - g.policy_version();
        record["loss_weight"] = trained->verdicts.at(key).weight;
        record["regenerations"] = group.regenerations;
        const bool trained_sample = sample.state == SampleState::kBuffered && !trained->dropped_as;
        record["state"] = state_name(trained_sample ? SampleState::kTrained : SampleState::kDropped);
        if (const auto reason = sample.drop_reason ? sample.drop_reason : trained->dropped_as) {
          record["drop_reason"] = drop_reason_name(*reason);
        }
      }
      records.push_back(std::move(record));
    }
  }
  return run_dir_.append_jsonl_records(run_dir_.samples_path(phase), records);
}

} // namespace caravan::controller
