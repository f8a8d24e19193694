// File: core/channel.h
// A ZeroMQ socket that carries one Cap'n Proto proto::Envelope per message. The controller
// binds a ROUTER and addresses workers by identity; each worker connects a DEALER.
// Every send and receive is bounded by a timeout, and receive() also returns early when
// its stop_token is triggered. Malformed bytes become kInvalidArgument, never an exception.
//
//   zmq::context_t context;
//   auto router = Channel::bind(context, "tcp://127.0.0.1:*", {}).value();
//   auto dealer = Channel::connect(context, router->endpoint(), "rollout-0", {}).value();
//   capnp::MallocMessageBuilder message;
//   message.initRoot<proto::Envelope>().initShutdown().setReason("done");
//   CARAVAN_RETURN_IF_ERROR(dealer->send(message));
//   CARAVAN_ASSIGN_OR_RETURN(std::optional<ReceivedMessage> got, router->receive(1000ms, stop));
//   if (got) handle(got->peer(), got->envelope());
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <zmq.hpp>

#include "core/status.h"
#include "proto/caravan.capnp.h"

namespace caravan::core {

struct ChannelOptions {
  // A send that cannot be queued within this time returns kTimeout.
  std::chrono::milliseconds send_timeout{std::chrono::seconds(10)};
  // Messages larger than this are rejected on receipt (kInvalidArgument), bytes.
  int64_t max_message_bytes = int64_t{1} << 30;
  // Transport-level heartbeats: a silent peer connection is dropped after heartbeat_timeout.
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(1)};
  std::chrono::milliseconds heartbeat_timeout{std::chrono::seconds(10)};
};

// One received message: an 8-byte-aligned copy of the bytes and a validated reader over them.
// Movable value; the envelope reader is valid as long as this object lives.
class ReceivedMessage {
 public:
  // Validates the whole message (bounds, pointers, size). kInvalidArgument if malformed.
  static Result<ReceivedMessage> decode(std::string peer, const void* data, size_t size, int64_t max_bytes);

  // The sender's identity on a ROUTER; empty on a DEALER.
  const std::string& peer() const { return peer_; }
  proto::Envelope::Reader envelope() const { return reader_->getRoot<proto::Envelope>(); }
  size_t size_bytes() const { return words_.size() * sizeof(capnp::word); }

 private:
  ReceivedMessage() = default;
  std::string peer_;
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// Not thread-safe: a Channel belongs to the thread that created it (ZeroMQ sockets are
// single-threaded). Non-copyable, non-movable; hold it by unique_ptr.
class Channel {
 public:
  // ROUTER bound to `endpoint` ("tcp://127.0.0.1:*" picks a free port; see endpoint()).
  // kUnavailable if the address cannot be bound.
  static Result<std::unique_ptr<Channel>> bind(zmq::context_t& context, const std::string& endpoint,
                                               const ChannelOptions& options);
  // DEALER with routing identity `identity`, connected to a ROUTER at `endpoint`.
  static Result<std::unique_ptr<Channel>> connect(zmq::context_t& context, const std::string& endpoint,
                                                  const std::string& identity, const ChannelOptions& options);

  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel();

  // The resolved endpoint (with the real port when bound to "*").
  const std::string& endpoint() const { return endpoint_; }

  // DEALER only: sends to the connected ROUTER. kTimeout if it cannot be queued in time.
  Status send(capnp::MessageBuilder& message);
  // ROUTER only: sends to the DEALER with identity `peer`. kUnavailable if that peer is not (or
  // no longer) connected, kTimeout if it cannot be queued in time.
  Status send_to(std::string_view peer, capnp::MessageBuilder& message);

  // Waits up to `timeout` for one message. Empty on timeout or when `stop` is requested.
  // kInvalidArgument for a malformed message (it is consumed and dropped).
  Result<std::optional<ReceivedMessage>> receive(std::chrono::milliseconds timeout, std::stop_token stop = {});

 private:
  Channel(zmq::socket_t socket, bool is_router, std::string endpoint, const ChannelOptions& options);
  Status send_frames(std::string_view peer, capnp::MessageBuilder& message);

  zmq::socket_t socket_;
  bool is_router_;
  std::string endpoint_;
  ChannelOptions options_;
};

} // namespace caravan::core
