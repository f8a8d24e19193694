// File: core/serial_role.h
// Serves a synchronous role, a `handle(message) -> reply` function such as
// LearnerWorker::handle, as a WorkerRole: accept() copies each request into a queue and one
// dedicated work thread handles them in arrival order, so the session keeps sending heartbeats
// during a long SFT stage or training step.
//
//   SerialRole role([&](const proto::Envelope::Reader& m) { return worker.handle(m); },
//                   [&] { return worker.policy_version(); }, session->outbox());
//   Status served = session->serve(role);
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include <capnp/message.h>

#include "core/outbox.h"
#include "core/work_thread.h"
#include "core/worker_role.h"

namespace caravan::core {

class SerialRole : public WorkerRole {
 public:
  // Work thread. The reply envelope to a request, or the request's error (posted as
  // ErrorReply{requestId}). An exception escaping it breaks the role (Outbox::fail).
  using Handler = std::function<Result<Outbox::Message>(const proto::Envelope::Reader& message)>;
  // Work thread, after every handled request (and once at start): the handler's policy version.
  using VersionReader = std::function<uint64_t()>;

  // `outbox` must outlive the role. The work thread starts at once.
  SerialRole(Handler handler, VersionReader version, Outbox& outbox);

  Status accept(const proto::Envelope::Reader& message) override;
  uint64_t policy_version() const override { return policy_version_.load(); }
  std::vector<uint64_t> active_requests() const override;
  bool stop_within(std::chrono::milliseconds grace) override { return thread_.stop_within(grace); }

 private:
  struct Queued {
    uint64_t request_id = 0;
    std::unique_ptr<capnp::MallocMessageBuilder> message;  // a copy of the request's envelope
  };
  void run(std::stop_token stop);
  void handle(const Queued& request);

  Handler handler_;
  VersionReader version_;
  Outbox& outbox_;
  std::atomic<uint64_t> policy_version_{0};
  mutable std::mutex mutex_;
  std::condition_variable_any queued_changed_;
  std::deque<Queued> queue_;             // Guarded by mutex_.
  std::vector<uint64_t> active_;         // Guarded by mutex_: queued and in-work request ids.
  WorkThread thread_;                    // Last: it uses every member above.
};

} // namespace caravan::core
