// File: apps/learner_rank_commands.h
// How learner rank 0, the only rank the controller talks to, hands work to ranks 1..K-1. A
// command is a small key "command-N" in the ranks' rendezvous store, so a rank waits for the
// next one as long as the run needs (rollouts between two training steps take any time) and
// learns at once when rank 0 is gone (its store goes with it); a command's payload, a serialised
// proto::Envelope (a TrainBatch, SaveCheckpoint or RestoreCheckpoint), then travels over the
// ranks' communicator as a broadcast.
//
//   // rank 0, for each TrainBatch, before its own share of the step:
//   CARAVAN_RETURN_IF_ERROR(commands.send_envelope(message));
//   // ranks 1..K-1:
//   while (true) {
//     CARAVAN_ASSIGN_OR_RETURN(std::optional<core::ReceivedMessage> next, commands.receive(stop));
//     if (!next) break;  // rank 0 said stop
//     worker.handle(next->envelope());
//   }
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include <capnp/message.h>

#include "core/channel.h"
#include "core/status.h"
#include "learner/data_parallel.h"
#include "weights_sync/rendezvous_store.h"
#include "weights_sync/sync_control.h"

namespace caravan::apps {

// Owner thread only: the one that issues the ranks' collectives.
class LearnerRankCommands {
 public:
  // `store`: the rendezvous store of the ranks' group (served by rank 0); `data_parallel` must
  // outlive this object. Every rank uses the same `scope`.
  LearnerRankCommands(learner::DataParallel& data_parallel, std::shared_ptr<wsync::RendezvousStore> store,
                      const std::string& scope);

  // Rank 0: sends `message` to ranks 1..K-1. kUnavailable / kTimeout when the store or a rank
  // is gone.
  Status send_envelope(capnp::MessageBuilder& message);
  // Rank 0: tells ranks 1..K-1 to return from their loop; returns once they all have the stop
  // (a barrier), so that rank 0 may exit.
  Status send_stop();

  // Ranks 1..K-1: the next envelope, or nullopt once rank 0 sent stop. Waits without a deadline
  // for the command; kCancelled once `stop` is requested, kUnavailable when rank 0's store is
  // gone, kTimeout / kUnavailable when the payload's broadcast fails.
  Result<std::optional<core::ReceivedMessage>> receive(const std::stop_token& stop);

 private:
  std::string next_key();

  learner::DataParallel& data_parallel_;
  wsync::SyncControl control_;
  uint64_t sent_or_received_ = 0;
};

} // namespace caravan::apps
