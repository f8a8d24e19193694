// File: core/worker_session.h
// The worker side of the controller protocol, shared by every role. connect() starts the
// session's socket thread, which owns the DEALER channel for the life of the process: it sends
// Hello{role, rank, pid, host}, then a Heartbeat{role, rank, policyVersion, activeRequests}
// every heartbeat_interval whether or not work runs, sends what the role posts to the outbox,
// and hands every request to the role (requests that arrive before serve() wait for it). Any
// message from the controller (it sends heartbeats too) is a sign of life; after
// heartbeat_timeout without one the controller is gone and the session ends.
//
//   CARAVAN_ASSIGN_OR_RETURN(auto session, WorkerSession::connect(context, endpoint, options, signals));
//   ... load the model with session->stop_token() (heartbeats flow meanwhile) ...
//   RolloutActor actor(..., session->outbox());
//   Status served = session->serve(actor);   // OK after Shutdown
//   if (!actor.stop_within(grace)) std::_Exit(1);
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <atomic>
#include <stop_token>
#include <string>
#include <thread>

#include "core/channel.h"
#include "core/metrics/loop_watch.h"
#include "core/outbox.h"
#include "core/worker_role.h"

namespace caravan::core {

// "rollout-0", "learner-0": the DEALER identity of a worker, also used in every message naming it.
std::string worker_identity(proto::Role role, uint32_t rank);
const char* role_name(proto::Role role);

struct WorkerSessionOptions {
  proto::Role role = proto::Role::ROLLOUT;
  uint32_t rank = 0;
  // A Heartbeat goes to the controller this often ([cluster] heartbeat_interval_s), > 0.
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(2)};
  // The controller is gone after this long without any message from it ([cluster]
  // heartbeat_timeout_s), > heartbeat_interval.
  std::chrono::milliseconds heartbeat_timeout{std::chrono::seconds(20)};
  // Sent in Hello: the address other processes reach this worker at, and the port of a service
  // it offers the run (the learner's weight-sync store; 0 for none).
  std::string advertised_host;
  uint32_t service_port = 0;
  ChannelOptions channel;
};

// Non-copyable, non-movable; the destructor ends the session and joins the socket thread.
// Every method is thread-safe.
class WorkerSession {
 public:
  // Connects, sends Hello and starts the socket thread. kUnavailable if the socket cannot
  // connect; kInvalidArgument for bad options. `stop` (the process's signals) ends the session
  // with kCancelled.
  static Result<std::unique_ptr<WorkerSession>> connect(zmq::context_t& context, const std::string& controller_endpoint,
                                                        const WorkerSessionOptions& options, std::stop_token stop);
  WorkerSession(const WorkerSession&) = delete;
  WorkerSession& operator=(const WorkerSession&) = delete;
  ~WorkerSession();

  // Where roles post replies; the socket thread sends them within a few milliseconds.
  Outbox& outbox() { return outbox_; }
  // Requested when the session ends, whatever the reason: setup work and roles stop on it.
  std::stop_token stop_token() const { return ended_source_.get_token(); }

  // Hands every request to `role` until the session ends, and returns why: OK after Shutdown;
  // kUnavailable when the controller is gone; kCancelled on `stop`; the Outbox::fail status of
  // a broken role; a channel error. Called once; `role` must outlive the session's end (it is
  // no longer called once serve() returns). Returns at once if the session already ended.
  Status serve(WorkerRole& role);

  // The reason the session ended; empty while it runs.
  std::optional<Status> end_status() const;

  const std::string& identity() const { return identity_; }

  // For /healthz: the socket thread's loop is running and not stuck (it iterated within
  // heartbeat_timeout); false once the session has ended.
  bool live() const { return loop_.alive(); }
  // For /readyz: the role is attached (serve() called: its model is loaded) and the controller
  // has been heard since connect; false once the session has ended.
  bool ready() const { return live() && role_.load() != nullptr && heard_controller_.load(); }

 private:
  WorkerSession(std::unique_ptr<Channel> channel, std::string identity, const WorkerSessionOptions& options,
                std::stop_token stop);
  void run(std::stop_token own_stop);
  // One iteration's work; a value ends the session.
  std::optional<Status> send_outbox();
  std::optional<Status> handle(const proto::Envelope::Reader& message);
  // Hands the requests held before serve() to the role once it is attached.
  void deliver_backlog();
  // role_->accept(request); its error (or exception) is posted as the request's ErrorReply.
  void accept(const proto::Envelope::Reader& request);
  Status send_heartbeat();
  void end(Status why);

  std::unique_ptr<Channel> channel_;  // Socket thread only once it runs.
  const std::string identity_;
  const WorkerSessionOptions options_;
  const std::stop_token signals_;
  Outbox outbox_;
  std::stop_source ended_source_;
  std::atomic<WorkerRole*> role_{nullptr};
  metrics::LoopWatch loop_;
  std::atomic<bool> heard_controller_{false};
  // Requests received before serve() attached a role (socket thread only), in arrival order.
  std::vector<std::unique_ptr<capnp::MallocMessageBuilder>> backlog_;
  mutable std::mutex mutex_;
  std::condition_variable ended_changed_;
  std::optional<Status> end_status_;  // Guarded by mutex_.
  std::jthread thread_;               // Last: it uses every member above.
};

// The request id of any request-carrying envelope; 0 for messages without one.
uint64_t request_id_of(const proto::Envelope::Reader& message);

} // namespace caravan::core
