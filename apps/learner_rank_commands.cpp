#include "apps/learner_rank_commands.h"

#include <chrono>
#include <limits>

#include <capnp/serialize.h>

#include "core/str_cat.h"

namespace caravan::apps {
namespace {

constexpr std::string_view kStop = "stop";
constexpr std::string_view kEnvelope = "envelope ";
// How often a waiting rank checks its stop token.
constexpr auto kPollInterval = std::chrono::seconds(1);

}  // namespace

LearnerRankCommands::LearnerRankCommands(learner::DataParallel& data_parallel,
                                         std::shared_ptr<wsync::RendezvousStore> store, const std::string& scope)
    : data_parallel_(data_parallel), control_(std::move(store), scope) {}

std::string LearnerRankCommands::next_key() {
  // Every rank has finished the previous command's step before rank 0 sends the next one, so the
  // key before it is read by nobody again.
  return str_cat("command-", sent_or_received_++);
}

Status LearnerRankCommands::send_envelope(capnp::MessageBuilder& message) {
  CARAVAN_CHECK(data_parallel_.rank() == 0, "only learner rank 0 sends commands");
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  const auto bytes = static_cast<int64_t>(words.size() * sizeof(capnp::word));
  const std::string key = next_key();
  CARAVAN_RETURN_IF_ERROR_CTX(control_.set(key, str_cat(kEnvelope, bytes)), "learner ranks: sending a command");
  if (sent_or_received_ >= 2) CARAVAN_RETURN_IF_ERROR(control_.erase({str_cat("command-", sent_or_received_ - 2)}));
  return data_parallel_.communicator().broadcast(
      {.data = words.begin(), .bytes = bytes, .location = model::BufferLocation::kHost}, /*root=*/0);
}

Status LearnerRankCommands::send_stop() {
  CARAVAN_CHECK(data_parallel_.rank() == 0, "only learner rank 0 sends commands");
  CARAVAN_RETURN_IF_ERROR_CTX(control_.set(next_key(), std::string(kStop)), "learner ranks: sending stop");
  // Rank 0's store must outlive the others' reading of the stop.
  return data_parallel_.communicator().barrier();
}

Result<std::optional<core::ReceivedMessage>> LearnerRankCommands::receive(const std::stop_token& stop) {
  CARAVAN_CHECK(data_parallel_.rank() != 0, "learner rank 0 sends commands, it does not receive them");
  const std::string key = next_key();
  std::string header;
  while (true) {
    if (stop.stop_requested()) return Status::cancelled(str_cat("learner rank ", data_parallel_.rank(), ": stopped"));
    Result<std::string> got = control_.wait_get(key, std::chrono::steady_clock::now() + kPollInterval);
    if (got.ok()) {
      header = std::move(*got);
      break;
    }
    if (got.status().code() != StatusCode::kTimeout) {
      return got.status().with_context(str_cat("learner rank ", data_parallel_.rank(), ": waiting for rank 0"));
    }
  }
  if (header == kStop) {
    CARAVAN_RETURN_IF_ERROR(data_parallel_.communicator().barrier());
    return std::optional<core::ReceivedMessage>();
  }
  int64_t bytes = -1;
  if (header.starts_with(kEnvelope)) {
    try {
      bytes = std::stoll(header.substr(kEnvelope.size()));
    } catch (const std::exception&) {
      bytes = -1;
    }
  }
  if (bytes <= 0 || bytes % static_cast<int64_t>(sizeof(capnp::word)) != 0) {
    return Status::data_loss(str_cat("learner ranks: malformed command \"", header, "\" under ", key));
  }
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(static_cast<size_t>(bytes) / sizeof(capnp::word));
  CARAVAN_RETURN_IF_ERROR(data_parallel_.communicator().broadcast(
      {.data = words.begin(), .bytes = bytes, .location = model::BufferLocation::kHost}, /*root=*/0));
  CARAVAN_ASSIGN_OR_RETURN(core::ReceivedMessage message,
                           core::ReceivedMessage::decode("learner-0", words.begin(), static_cast<size_t>(bytes),
                                                         std::numeric_limits<int64_t>::max()));
  return std::optional<core::ReceivedMessage>(std::move(message));
}

} // namespace caravan::apps
