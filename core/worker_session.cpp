#include "core/worker_session.h"

#include <unistd.h>

#include "core/log.h"

namespace caravan::core {

const char* role_name(proto::Role role) {
  switch (role) {
    case proto::Role::CONTROLLER: return "controller";
    case proto::Role::ROLLOUT: return "rollout";
    case proto::Role::VERIFIER: return "verifier";
    case proto::Role::LEARNER: return "learner";
  }
  return "unknown";
}

std::string worker_identity(proto::Role role, uint32_t rank) { return str_cat(role_name(role), "-", rank); }

uint64_t request_id_of(const proto::Envelope::Reader& message) {
  switch (message.which()) {
    case proto::Envelope::HELLO:
    case proto::Envelope::HEARTBEAT:
    case proto::Envelope::SHUTDOWN: return 0;
    case proto::Envelope::ROLLOUT_REQUEST: return message.getRolloutRequest().getRequestId();
    case proto::Envelope::COMPLETION: return message.getCompletion().getRequestId();
    case proto::Envelope::REWARD_REQUEST: return message.getRewardRequest().getRequestId();
    case proto::Envelope::REWARD_RESULT: return message.getRewardResult().getRequestId();
    case proto::Envelope::TRAIN_BATCH: return message.getTrainBatch().getRequestId();
    case proto::Envelope::TRAIN_RESULT: return message.getTrainResult().getRequestId();
    case proto::Envelope::SFT_REQUEST: return message.getSftRequest().getRequestId();
    case proto::Envelope::SYNC_WEIGHTS: return message.getSyncWeights().getRequestId();
    case proto::Envelope::WEIGHTS_SYNCED: return message.getWeightsSynced().getRequestId();
    case proto::Envelope::SAVE_CHECKPOINT: return message.getSaveCheckpoint().getRequestId();
    case proto::Envelope::CHECKPOINT_SAVED: return message.getCheckpointSaved().getRequestId();
    case proto::Envelope::EXPORT_MODEL: return message.getExportModel().getRequestId();
    case proto::Envelope::ERROR_REPLY: return message.getErrorReply().getRequestId();
    case proto::Envelope::RESTORE_CHECKPOINT: return message.getRestoreCheckpoint().getRequestId();
    case proto::Envelope::CHECKPOINT_RESTORED: return message.getCheckpointRestored().getRequestId();
  }
  return 0;
}

namespace {

// How long the socket thread waits for a message before it looks at the outbox again: the
// most a posted reply waits to be sent.
constexpr std::chrono::milliseconds kOutboxPoll{5};

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

}  // namespace

Result<std::unique_ptr<WorkerSession>> WorkerSession::connect(zmq::context_t& context,
                                                              const std::string& controller_endpoint,
                                                              const WorkerSessionOptions& options,
                                                              std::stop_token stop) {
  if (options.heartbeat_interval.count() <= 0 || options.heartbeat_timeout <= options.heartbeat_interval) {
    return Status::invalid_argument(str_cat("worker session: heartbeat_interval (", options.heartbeat_interval.count(),
                                            " ms) must be > 0 and below heartbeat_timeout (",
                                            options.heartbeat_timeout.count(), " ms)"));
  }
  const std::string identity = worker_identity(options.role, options.rank);
  CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<Channel> channel,
                           Channel::connect(context, controller_endpoint, identity, options.channel));
  capnp::MallocMessageBuilder hello;
  auto body = hello.initRoot<proto::Envelope>().initHello();
  body.setRole(options.role);
  body.setRank(options.rank);
  body.setPid(static_cast<uint32_t>(::getpid()));
  body.setHost(options.advertised_host.empty() ? host_name() : options.advertised_host);
  body.setServicePort(options.service_port);
  CARAVAN_RETURN_IF_ERROR_CTX(channel->send(hello), identity + ": hello");
  // The socket thread takes the channel over; thread start orders the accesses (ZeroMQ allows
  // moving a socket between threads with a full barrier).
  return std::unique_ptr<WorkerSession>(new WorkerSession(std::move(channel), identity, options, std::move(stop)));
}

WorkerSession::WorkerSession(std::unique_ptr<Channel> channel, std::string identity,
                             const WorkerSessionOptions& options, std::stop_token stop)
    : channel_(std::move(channel)),
      identity_(std::move(identity)),
      options_(options),
      signals_(std::move(stop)),
      outbox_(identity_),
      loop_(options.heartbeat_timeout),
      thread_([this](std::stop_token own_stop) { run(own_stop); }) {}

WorkerSession::~WorkerSession() = default;  // std::jthread requests stop and joins.

Status WorkerSession::serve(WorkerRole& role) {
  role_.store(&role);
  std::unique_lock lock(mutex_);
  ended_changed_.wait(lock, [this] { return end_status_.has_value(); });
  return *end_status_;
}

std::optional<Status> WorkerSession::end_status() const {
  std::lock_guard lock(mutex_);
  return end_status_;
}

void WorkerSession::end(Status why) {
  loop_.finish();
  // Stop first: whoever sees the end status also sees stop_token() requested.
  ended_source_.request_stop();
  std::lock_guard lock(mutex_);
  end_status_ = std::move(why);
  ended_changed_.notify_all();
}

void WorkerSession::run(std::stop_token own_stop) {
  using Clock = std::chrono::steady_clock;
  auto last_heard = Clock::now();
  auto next_heartbeat = last_heard + options_.heartbeat_interval;
  while (true) {
    loop_.beat();
    if (own_stop.stop_requested() || signals_.stop_requested()) {
      return end(Status::cancelled(str_cat(identity_, ": stop requested")));
    }
    deliver_backlog();
    if (std::optional<Status> ended = send_outbox()) return end(std::move(*ended));
    const auto now = Clock::now();
    if (now >= next_heartbeat) {
      if (Status sent = send_heartbeat(); !sent.ok()) return end(std::move(sent));
      next_heartbeat = now + options_.heartbeat_interval;
    }
    const auto silent_until = last_heard + options_.heartbeat_timeout;
    if (now >= silent_until) {
      return end(Status::unavailable(str_cat(identity_, ": the controller is gone: no message from it for ",
                                             options_.heartbeat_timeout.count(), " ms (heartbeat_timeout)")));
    }
    const auto wait = std::min({std::chrono::duration_cast<std::chrono::milliseconds>(next_heartbeat - now),
                                std::chrono::duration_cast<std::chrono::milliseconds>(silent_until - now),
                                kOutboxPoll});
    Result<std::optional<ReceivedMessage>> received =
        channel_->receive(std::max(wait, std::chrono::milliseconds(0)), own_stop);
    if (!received.ok()) return end(received.status());
    if (!*received) continue;
    last_heard = Clock::now();
    heard_controller_ = true;
    if (std::optional<Status> ended = handle((*received)->envelope())) return end(std::move(*ended));
  }
}

std::optional<Status> WorkerSession::send_outbox() {
  for (Outbox::Message& message : outbox_.take()) {
    if (Status sent = channel_->send(*message); !sent.ok()) return sent;
  }
  return outbox_.failure();
}

std::optional<Status> WorkerSession::handle(const proto::Envelope::Reader& message) {
  if (message.isHeartbeat()) return std::nullopt;
  if (message.isShutdown()) {
    log::info("event=shutdown reason=\"", message.getShutdown().getReason().cStr(), "\"");
    return Status();
  }
  // A request: the role's (it rejects the kinds it does not serve).
  if (role_.load() != nullptr && backlog_.empty()) {
    accept(message);
  } else {
    backlog_.push_back(std::make_unique<capnp::MallocMessageBuilder>());
    backlog_.back()->setRoot(message);
  }
  return std::nullopt;
}

void WorkerSession::deliver_backlog() {
  if (backlog_.empty() || role_.load() == nullptr) return;
  for (const auto& held : backlog_) accept(held->getRoot<proto::Envelope>().asReader());
  backlog_.clear();
}

void WorkerSession::accept(const proto::Envelope::Reader& request) {
  Status accepted;
  try {
    accepted = role_.load()->accept(request);
  } catch (const std::exception& e) {
    accepted = Status::internal(e.what());
  } catch (const kj::Exception& e) {
    accepted = Status::invalid_argument(str_cat("message: ", e.getDescription().cStr()));
  }
  if (!accepted.ok()) outbox_.post_error(request_id_of(request), accepted);
}

Status WorkerSession::send_heartbeat() {
  WorkerRole* role = role_.load();
  capnp::MallocMessageBuilder message;
  auto beat = message.initRoot<proto::Envelope>().initHeartbeat();
  beat.setRole(options_.role);
  beat.setRank(options_.rank);
  if (role != nullptr) {
    beat.setPolicyVersion(role->policy_version());
    const std::vector<uint64_t> active = role->active_requests();
    auto list = beat.initActiveRequests(static_cast<unsigned>(active.size()));
    for (unsigned i = 0; i < active.size(); ++i) list.set(i, active[i]);
  }
  return channel_->send(message);
}

} // namespace caravan::core
