// File: actors/controller/worker_link.h
// The controller's only way to talk to its workers, so its logic runs the same over sockets
// (ChannelLink: a ROUTER core::Channel) and in unit tests that script worker replies (out of
// order, duplicated, late, or from a worker that died) without sockets or real time.
//
//   ChannelLink link(*router);
//   CARAVAN_RETURN_IF_ERROR(link.send("rollout-0", message));
//   CARAVAN_ASSIGN_OR_RETURN(std::optional<core::ReceivedMessage> got, link.receive(50ms, stop));
//   if (link.now() > deadline) ...
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>

#include "core/channel.h"

namespace caravan::controller {

using Clock = std::chrono::steady_clock;


// Owner thread only.
class WorkerLink {
 public:
  virtual ~WorkerLink() = default;
  // Sends one envelope to `worker`. kUnavailable when the worker is not (or no longer) connected.
  virtual Status send(const std::string& worker, capnp::MessageBuilder& message) = 0;
  // The next message from any worker, waiting up to `timeout`; empty on timeout or stop.
  // kInvalidArgument for a malformed message (consumed and dropped).
  virtual Result<std::optional<core::ReceivedMessage>> receive(std::chrono::milliseconds timeout,
                                                               std::stop_token stop) = 0;
  // The clock every deadline and heartbeat of the controller is measured on.
  virtual Clock::time_point now() const = 0;
};

// WorkerLink over a bound ROUTER channel and the steady clock. `router` must outlive it.
class ChannelLink : public WorkerLink {
 public:
  explicit ChannelLink(core::Channel& router) : router_(router) {}
  Status send(const std::string& worker, capnp::MessageBuilder& message) override {
    return router_.send_to(worker, message);
  }
  Result<std::optional<core::ReceivedMessage>> receive(std::chrono::milliseconds timeout,
                                                       std::stop_token stop) override {
    return router_.receive(timeout, stop);
  }
  Clock::time_point now() const override { return Clock::now(); }

 private:
  core::Channel& router_;
};

} // namespace caravan::controller
