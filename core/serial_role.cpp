#include "core/serial_role.h"

#include <algorithm>

#include "core/worker_session.h"

namespace caravan::core {

SerialRole::SerialRole(Handler handler, VersionReader version, Outbox& outbox)
    : handler_(std::move(handler)),
      version_(std::move(version)),
      outbox_(outbox),
      thread_([this](std::stop_token stop) { run(stop); }) {}

Status SerialRole::accept(const proto::Envelope::Reader& message) {
  Queued request{.request_id = request_id_of(message), .message = std::make_unique<capnp::MallocMessageBuilder>()};
  request.message->setRoot(message);
  std::lock_guard lock(mutex_);
  active_.push_back(request.request_id);
  queue_.push_back(std::move(request));
  queued_changed_.notify_all();
  return Status();
}

std::vector<uint64_t> SerialRole::active_requests() const {
  std::lock_guard lock(mutex_);
  return active_;
}

void SerialRole::run(std::stop_token stop) {
  policy_version_ = version_();
  while (true) {
    Queued request;
    {
      std::unique_lock lock(mutex_);
      // wait() returns true with work queued even when stop was requested: check both.
      if (!queued_changed_.wait(lock, stop, [this] { return !queue_.empty(); }) || stop.stop_requested()) return;
      request = std::move(queue_.front());
      queue_.pop_front();
    }
    handle(request);
    policy_version_ = version_();
    std::lock_guard lock(mutex_);
    active_.erase(std::find(active_.begin(), active_.end(), request.request_id));
  }
}

void SerialRole::handle(const Queued& request) {
  try {
    Result<Outbox::Message> reply = handler_(request.message->getRoot<proto::Envelope>().asReader());
    if (reply.ok()) {
      outbox_.post(std::move(*reply));
    } else {
      outbox_.post_error(request.request_id, reply.status());
    }
  } catch (const std::exception& e) {
    outbox_.fail(Status::internal(str_cat("request ", request.request_id, ": ", e.what())));
  }
}

} // namespace caravan::core
