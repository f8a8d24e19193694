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

Result<std::unique_ptr<WorkerSession>> WorkerSession::connect(zmq::context_t& context,
                                                              const std::string& controller_endpoint, proto::Role role,
                                                              uint32_t rank, const ChannelOptions& options) {
  const std::string identity = worker_identity(role, rank);
  CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<Channel> channel,
                           Channel::connect(context, controller_endpoint, identity, options));
  std::unique_ptr<WorkerSession> session(new WorkerSession(std::move(channel), identity));
  capnp::MallocMessageBuilder hello;
  auto body = hello.initRoot<proto::Envelope>().initHello();
  body.setRole(role);
  body.setRank(rank);
  body.setPid(static_cast<uint32_t>(::getpid()));
  CARAVAN_RETURN_IF_ERROR_CTX(session->send(hello), identity + ": hello");
  return session;
}

Status WorkerSession::send_error(uint64_t request_id, const Status& status) {
  capnp::MallocMessageBuilder message;
  auto body = message.initRoot<proto::Envelope>().initErrorReply();
  body.setRequestId(request_id);
  body.setMessage(str_cat(identity_, ": ", status.to_string()));
  return send(message);
}

Status WorkerSession::serve(const Handler& handler, const Background& background,
                            std::chrono::milliseconds idle_timeout, std::stop_token stop) {
  // How long one background poll may wait while a message could be arriving.
  constexpr std::chrono::milliseconds kBackgroundPoll{5};
  while (true) {
    const bool busy = background.busy && background.busy();
    if (busy) {
      Status status = background.poll(kBackgroundPoll);
      if (!status.ok()) {
        (void)send_error(0, status);
        return status;
      }
    }
    CARAVAN_ASSIGN_OR_RETURN(std::optional<ReceivedMessage> received,
                             channel_->receive(busy ? std::chrono::milliseconds(0) : idle_timeout, stop));
    if (stop.stop_requested()) return Status::cancelled(str_cat(identity_, ": stop requested"));
    if (!received && busy) continue;
    if (!received) {
      return Status::timeout(str_cat(identity_, ": no message from the controller for ", idle_timeout.count(),
                                     " ms; assuming it is gone"));
    }
    const proto::Envelope::Reader message = received->envelope();
    if (message.isShutdown()) {
      log::info("event=shutdown reason=\"", message.getShutdown().getReason().cStr(), "\"");
      return Status();
    }
    Status status = handler(message);
    if (!status.ok()) {
      // Best effort: the controller learns why before this process exits non-zero.
      (void)send_error(request_id_of(message), status);
      return status;
    }
  }
}

} // namespace caravan::core
