#include "core/channel.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace caravan::core {
namespace {

// Poll slice: how often a blocked receive() looks at its stop_token.
constexpr std::chrono::milliseconds kStopPollSlice{50};

void configure_common(zmq::socket_t& socket, const ChannelOptions& options) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndtimeo, static_cast<int>(options.send_timeout.count()));
  socket.set(zmq::sockopt::maxmsgsize, options.max_message_bytes);
  socket.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(options.heartbeat_interval.count()));
  socket.set(zmq::sockopt::heartbeat_timeout, static_cast<int>(options.heartbeat_timeout.count()));
  socket.set(zmq::sockopt::heartbeat_ttl, static_cast<int>(options.heartbeat_timeout.count()));
}

}  // namespace

Result<ReceivedMessage> ReceivedMessage::decode(std::string peer, const void* data, size_t size, int64_t max_bytes) {
  if (size == 0 || size % sizeof(capnp::word) != 0) {
    return Status::invalid_argument(str_cat("malformed message from '", peer, "': ", size,
                                            " bytes is not a whole number of 8-byte words"));
  }
  if (static_cast<int64_t>(size) > max_bytes) {
    return Status::invalid_argument(str_cat("message from '", peer, "' of ", size, " bytes exceeds the limit of ",
                                            max_bytes));
  }
  ReceivedMessage message;
  message.peer_ = std::move(peer);
  // ZeroMQ buffers are not guaranteed 8-byte aligned; Cap'n Proto 0.9.2 needs aligned words.
  message.words_ = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
  std::memcpy(message.words_.begin(), data, size);
  const size_t words = size / sizeof(capnp::word);
  try {
    // Validation pass: a full traversal bounded by the message's own size, which rejects
    // amplification (many pointers into the same bytes) as well as out-of-bounds pointers.
    capnp::ReaderOptions validation;
    validation.traversalLimitInWords = words * 2 + 1024;
    capnp::FlatArrayMessageReader checker(message.words_.asPtr(), validation);
    checker.getRoot<proto::Envelope>().totalSize();
    // The message is proven well-formed and bounded, so reads through the kept reader are not
    // metered again (repeated field access would otherwise exhaust the limit).
    capnp::ReaderOptions unmetered;
    unmetered.traversalLimitInWords = std::numeric_limits<uint64_t>::max();
    message.reader_ = std::make_unique<capnp::FlatArrayMessageReader>(message.words_.asPtr(), unmetered);
  } catch (const kj::Exception& e) {
    return Status::invalid_argument(str_cat("malformed message from '", message.peer_,
                                            "': ", e.getDescription().cStr()));
  }
  return message;
}

Channel::Channel(zmq::socket_t socket, bool is_router, std::string endpoint, const ChannelOptions& options)
    : socket_(std::move(socket)), is_router_(is_router), endpoint_(std::move(endpoint)), options_(options) {}

Channel::~Channel() = default;

Result<std::unique_ptr<Channel>> Channel::bind(zmq::context_t& context, const std::string& endpoint,
                                               const ChannelOptions& options) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::router);
    configure_common(socket, options);
    // Sending to an unknown identity fails (EHOSTUNREACH) instead of being silently dropped.
    socket.set(zmq::sockopt::router_mandatory, true);
    // A restarted worker reconnects with its identity while the old connection may linger: the
    // new connection takes the identity over (otherwise ZeroMQ ignores it).
    socket.set(zmq::sockopt::router_handover, true);
    socket.bind(endpoint);
    std::string resolved = socket.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<Channel>(new Channel(std::move(socket), /*is_router=*/true, std::move(resolved), options));
  } catch (const zmq::error_t& e) {
    return Status::unavailable(str_cat("cannot bind ROUTER to ", endpoint, ": ", e.what()));
  }
}

Result<std::unique_ptr<Channel>> Channel::connect(zmq::context_t& context, const std::string& endpoint,
                                                  const std::string& identity, const ChannelOptions& options) {
  if (identity.empty()) return Status::invalid_argument("DEALER identity must not be empty");
  try {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    configure_common(socket, options);
    socket.set(zmq::sockopt::routing_id, identity);
    socket.connect(endpoint);
    return std::unique_ptr<Channel>(new Channel(std::move(socket), /*is_router=*/false, endpoint, options));
  } catch (const zmq::error_t& e) {
    return Status::unavailable(str_cat("cannot connect DEALER '", identity, "' to ", endpoint, ": ", e.what()));
  }
}

Status Channel::send(capnp::MessageBuilder& message) {
  CARAVAN_CHECK(!is_router_, "send() without a peer on a ROUTER channel; use send_to()");
  return send_frames({}, message);
}

Status Channel::send_to(std::string_view peer, capnp::MessageBuilder& message) {
  CARAVAN_CHECK(is_router_, "send_to() on a DEALER channel; use send()");
  return send_frames(peer, message);
}

Status Channel::send_frames(std::string_view peer, capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  const auto bytes = words.asBytes();
  try {
    if (is_router_) {
      if (!socket_.send(zmq::buffer(peer.data(), peer.size()), zmq::send_flags::sndmore)) {
        return Status::timeout(str_cat("send to '", peer, "' timed out after ", options_.send_timeout.count(), " ms"));
      }
    }
    if (!socket_.send(zmq::buffer(bytes.begin(), bytes.size()), zmq::send_flags::none)) {
      return Status::timeout(str_cat("send to '", is_router_ ? std::string(peer) : endpoint_, "' timed out after ",
                                     options_.send_timeout.count(), " ms"));
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return Status::unavailable(str_cat("peer '", peer, "' is not connected"));
    return Status::unavailable(str_cat("send to '", peer, "' failed: ", e.what()));
  }
  return Status();
}

Result<std::optional<ReceivedMessage>> Channel::receive(std::chrono::milliseconds timeout, std::stop_token stop) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  while (true) {
    if (stop.stop_requested()) return std::optional<ReceivedMessage>();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const auto slice = std::clamp(left, std::chrono::milliseconds(0), kStopPollSlice);
    try {
      if (zmq::poll(&item, 1, slice) > 0) break;
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status::unavailable(str_cat("poll on ", endpoint_, " failed: ", e.what()));
    }
    if (left <= std::chrono::milliseconds(0)) return std::optional<ReceivedMessage>();
  }
  try {
    std::string peer;
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return std::optional<ReceivedMessage>();
    if (is_router_) {
      peer = frame.to_string();
      if (!frame.more()) return Status::invalid_argument(str_cat("message from '", peer, "' has no payload frame"));
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) {
        return Status::invalid_argument(str_cat("message from '", peer, "' lost its payload frame"));
      }
    }
    if (frame.more()) {
      // Multipart messages arrive whole, so draining never blocks.
      zmq::message_t extra;
      do {
        if (!socket_.recv(extra, zmq::recv_flags::dontwait)) break;
      } while (extra.more());
      return Status::invalid_argument(str_cat("message from '", peer, "' has unexpected extra frames"));
    }
    CARAVAN_ASSIGN_OR_RETURN(ReceivedMessage message,
                             ReceivedMessage::decode(std::move(peer), frame.data(), frame.size(),
                                                     options_.max_message_bytes));
    return std::optional<ReceivedMessage>(std::move(message));
  } catch (const zmq::error_t& e) {
    return Status::unavailable(str_cat("receive on ", endpoint_, " failed: ", e.what()));
  }
}

} // namespace caravan::core
