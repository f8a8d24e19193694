// File: core/outbox.h
// The replies of a worker's roles, posted from any thread (the socket thread, a role's work
// threads) and sent to the controller by the session's socket thread, in posting order. A role
// that is broken says so with fail(): the session then sends ErrorReply{requestId = 0} and ends.
//
//   outbox.post(std::move(completion));                    // a finished group, from the engine
//   outbox.post_error(request_id, status);                 // that request failed; serving goes on
//   outbox.fail(Status::internal("weights half written")); // the role cannot go on
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <capnp/message.h>

#include "core/status.h"

namespace caravan::core {

// Thread-safe. Non-copyable, non-movable.
class Outbox {
 public:
  using Message = std::unique_ptr<capnp::MallocMessageBuilder>;

  // `identity` ("rollout-0") prefixes the text of every ErrorReply.
  explicit Outbox(std::string identity) : identity_(std::move(identity)) {}
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Queues one envelope for the controller.
  void post(Message message);
  // Queues ErrorReply{request_id, "<identity>: <status>"}: that request failed.
  void post_error(uint64_t request_id, const Status& status);
  // The role is broken: queues ErrorReply{0, ...} and records `status` as the failure that ends
  // the session. Only the first failure is kept (later ones are consequences of it).
  void fail(const Status& status);

  // Takes every queued envelope, oldest first.
  std::vector<Message> take();
  // Waits up to `timeout` until an envelope is queued; true if one is.
  bool wait(std::chrono::milliseconds timeout);
  // The first fail() status; empty while the role is healthy.
  std::optional<Status> failure() const;

 private:
  Message error_reply(uint64_t request_id, const Status& status) const;

  const std::string identity_;
  mutable std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<Message> queue_;       // Guarded by mutex_.
  std::optional<Status> failure_;   // Guarded by mutex_.
};

} // namespace caravan::core
