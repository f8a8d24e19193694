#include "actors/controller/worker_pool.h"

#include "core/log.h"
#include "core/worker_session.h"

namespace caravan::controller {
namespace {

// Stamps `id` into whichever request the envelope carries.
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

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += str_cat(out.empty() ? "" : ", ", name);
  return out;
}

}  // namespace

WorkerPool::WorkerPool(core::Channel& router, std::vector<std::string> workers, std::chrono::milliseconds reply_timeout)
    : router_(router), workers_(std::move(workers)), reply_timeout_(reply_timeout) {}

Outgoing WorkerPool::make_request(const std::string& peer) {
  Outgoing request;
  request.peer = peer;
  request.message->initRoot<proto::Envelope>();
  return request;
}

std::vector<std::string> WorkerPool::workers_with_prefix(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& worker : workers_) {
    if (worker.rfind(prefix, 0) == 0) out.push_back(worker);
  }
  return out;
}

Status WorkerPool::await_hello(std::stop_token stop) {
  std::set<std::string> missing(workers_.begin(), workers_.end());
  const auto deadline = std::chrono::steady_clock::now() + reply_timeout_;
  while (!missing.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds(0)) {
      return Status::timeout(str_cat("workers did not connect within ", reply_timeout_.count(), " ms: ", join(missing)));
    }
    CARAVAN_ASSIGN_OR_RETURN(std::optional<core::ReceivedMessage> received, router_.receive(left, stop));
    if (stop.stop_requested()) return Status::cancelled("stop requested while waiting for workers");
    if (!received) continue;
    if (!received->envelope().isHello()) {
      log::warn("event=unexpected_message peer=", received->peer(), " while=await_hello");
      continue;
    }
    if (missing.erase(received->peer()) == 0) {
      log::warn("event=unknown_worker peer=", received->peer());
      continue;
    }
    log::info("event=worker_connected worker=", received->peer(), " pid=", received->envelope().getHello().getPid());
  }
  return Status();
}

Result<std::vector<core::ReceivedMessage>> WorkerPool::exchange(std::vector<Outgoing> requests, std::stop_token stop) {
  std::map<uint64_t, size_t> pending;  // request id -> index in requests
  for (size_t i = 0; i < requests.size(); ++i) {
    const uint64_t id = next_request_id_++;
    set_request_id(requests[i].envelope(), id);
    CARAVAN_RETURN_IF_ERROR_CTX(router_.send_to(requests[i].peer, *requests[i].message), requests[i].peer);
    pending.emplace(id, i);
  }
  std::vector<std::optional<core::ReceivedMessage>> replies(requests.size());
  // Requests a busy worker asked us to send again: resend time -> index in requests.
  std::multimap<std::chrono::steady_clock::time_point, size_t> resends;
  const auto deadline = std::chrono::steady_clock::now() + reply_timeout_;
  while (!pending.empty()) {
    const auto now = std::chrono::steady_clock::now();
    while (!resends.empty() && resends.begin()->first <= now) {
      const Outgoing& request = requests[resends.begin()->second];
      CARAVAN_RETURN_IF_ERROR_CTX(router_.send_to(request.peer, *request.message), request.peer);
      resends.erase(resends.begin());
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (left <= std::chrono::milliseconds(0)) {
      std::set<std::string> silent;
      for (const auto& [id, index] : pending) silent.insert(requests[index].peer);
      return Status::timeout(str_cat("no reply within ", reply_timeout_.count(), " ms from ", join(silent),
                                     resends.empty() ? "" : " (busy: still asking to retry)"));
    }
    auto wait = left;
    if (!resends.empty()) {
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(resends.begin()->first - now));
    }
    CARAVAN_ASSIGN_OR_RETURN(std::optional<core::ReceivedMessage> received, router_.receive(wait, stop));
    if (stop.stop_requested()) return Status::cancelled("stop requested while waiting for replies");
    if (!received) continue;
    const proto::Envelope::Reader envelope = received->envelope();
    const uint64_t id = core::request_id_of(envelope);
    auto it = pending.find(id);
    if (it == pending.end() || received->peer() != requests[it->second].peer) {
      log::warn("event=unexpected_message peer=", received->peer(), " request_id=", id);
      continue;
    }
    if (envelope.isErrorReply()) {
      const auto error = envelope.getErrorReply();
      if (error.getRetryAfterMs() == 0) {
        return Status::unavailable(str_cat("worker ", received->peer(), " failed: ", error.getMessage().cStr()));
      }
      log::debug("event=worker_busy worker=", received->peer(), " request_id=", id,
                 " retry_after_ms=", error.getRetryAfterMs());
      resends.emplace(std::chrono::steady_clock::now() + std::chrono::milliseconds(error.getRetryAfterMs()),
                      it->second);
      continue;
    }
    replies[it->second] = std::move(*received);
    pending.erase(it);
  }
  std::vector<core::ReceivedMessage> out;
  out.reserve(replies.size());
  for (auto& reply : replies) out.push_back(std::move(*reply));
  return out;
}

void WorkerPool::shutdown_all(const std::string& reason) {
  for (const auto& worker : workers_) {
    capnp::MallocMessageBuilder message;
    message.initRoot<proto::Envelope>().initShutdown().setReason(reason);
    Status status = router_.send_to(worker, message);
    if (!status.ok()) log::debug("event=shutdown_not_delivered worker=", worker, " reason=\"", status.message(), "\"");
  }
}

} // namespace caravan::controller
