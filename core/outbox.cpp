#include "core/outbox.h"

#include "proto/caravan.capnp.h"

namespace caravan::core {

void Outbox::post(Message message) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(message));
  posted_.notify_all();
}

Outbox::Message Outbox::error_reply(uint64_t request_id, const Status& status) const {
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto body = reply->initRoot<proto::Envelope>().initErrorReply();
  body.setRequestId(request_id);
  body.setMessage(str_cat(identity_, ": ", status.to_string()));
  return reply;
}

void Outbox::post_error(uint64_t request_id, const Status& status) { post(error_reply(request_id, status)); }

void Outbox::fail(const Status& status) {
  Message reply = error_reply(0, status);
  std::lock_guard lock(mutex_);
  if (failure_) return;
  failure_ = status;
  queue_.push_back(std::move(reply));
  posted_.notify_all();
}

std::vector<Outbox::Message> Outbox::take() {
  std::lock_guard lock(mutex_);
  std::vector<Message> taken(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  return taken;
}

bool Outbox::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return posted_.wait_for(lock, timeout, [this] { return !queue_.empty(); });
}

std::optional<Status> Outbox::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

} // namespace caravan::core
