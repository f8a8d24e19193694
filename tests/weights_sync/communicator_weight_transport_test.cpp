#include "weights_sync/communicator_weight_transport.h"

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "tests/weights_sync/loopback_group.h"
#include "tests/weights_sync/peer_process.h"
#include "tests/weights_sync/tiny_model.h"

namespace caravan::wsync {
namespace {

using namespace std::chrono_literals;
using testing::fill_parameters;
using testing::parameter_checksum;
using testing::PeerProcess;
using testing::run_ranks;
using testing::serve_loopback_store;
using testing::tiny_llama;

// Short, so that the failure tests stay fast; every failure must come within kTimeout + kMargin.
constexpr auto kTimeout = 2000ms;
constexpr auto kMargin = 2000ms;
constexpr int kWorld = 3;

WeightTransportOptions transport_options() {
  return {.backend = "gloo", .bucket_bytes = 4096, .timeout = kTimeout, .stop = {}};
}

// Rank 0 serves `served`; receivers connect to its port, as a SyncWeights tells them.
std::unique_ptr<CommunicatorWeightTransport> make_transport(int rank, const std::shared_ptr<RendezvousStore>& served) {
  return std::make_unique<CommunicatorWeightTransport>(transport_options(), rank == 0 ? served : nullptr);
}

model::WeightGroupSpec group(uint64_t generation, int rank, const std::shared_ptr<RendezvousStore>& served) {
  return {.generation = generation,
          .rank = rank,
          .world_size = kWorld,
          .store_host = "127.0.0.1",
          .store_port = served->port()};
}

// What one rank saw of one synchronize() call.
struct Outcome {
  Result<model::WeightSyncStats> stats = Status::internal("not run");
  std::chrono::steady_clock::duration elapsed{};
};

Outcome timed_synchronize(CommunicatorWeightTransport& transport, model::LlamaImpl& model, uint64_t version,
                          const model::WeightGroupSpec& spec) {
  const auto start = std::chrono::steady_clock::now();
  Outcome outcome;
  outcome.stats = transport.synchronize(model, version, spec);
  outcome.elapsed = std::chrono::steady_clock::now() - start;
  return outcome;
}

// Ranks 0..count-1 of a group meeting at `served`, each with its own transport and model
// (tiny_llama(100 + rank): every member starts with other weights).
struct Members {
  Members(int count, std::shared_ptr<RendezvousStore> store) : served(std::move(store)) {
    for (int rank = 0; rank < count; ++rank) {
      transports.push_back(make_transport(rank, served));
      models.push_back(tiny_llama(100 + rank));
    }
  }
  // synchronize() of `rank` for generation `generation`, timed.
  Outcome sync(int rank, uint64_t version, uint64_t generation) {
    return timed_synchronize(*transports[rank], *models[rank], version, group(generation, rank, served));
  }
  uint64_t checksum(int rank) { return parameter_checksum(*models[rank]); }

  std::shared_ptr<RendezvousStore> served;
  std::vector<std::unique_ptr<CommunicatorWeightTransport>> transports;
  std::vector<model::Llama> models;
};

// A survivor's failed sync: kTimeout or kUnavailable, naming the generation, within the deadline.
void expect_failed_in_time(const Outcome& outcome, uint64_t generation, const std::string& who) {
  ASSERT_FALSE(outcome.stats.ok()) << who;
  const Status& status = outcome.stats.status();
  EXPECT_TRUE(status.code() == StatusCode::kTimeout || status.code() == StatusCode::kUnavailable)
      << who << ": " << status.to_string();
  EXPECT_NE(status.message().find("weight-sync generation " + std::to_string(generation)), std::string::npos)
      << who << ": " << status.to_string();
  EXPECT_LT(outcome.elapsed, kTimeout + kMargin) << who << ": " << status.to_string();
}

void expect_synced(const Outcome& outcome, uint64_t version, const std::string& who) {
  ASSERT_TRUE(outcome.stats.ok()) << who << ": " << outcome.stats.status().to_string();
  EXPECT_EQ(outcome.stats->version, version) << who;
  EXPECT_GT(outcome.stats->bytes, 0) << who;
}

TEST(WeightGroupSpec, FromProtoCopiesEveryField) {
  capnp::MallocMessageBuilder message;
  auto proto_group = message.initRoot<proto::WeightGroup>();
  proto_group.setGeneration(9);
  proto_group.setRank(2);
  proto_group.setWorldSize(4);
  proto_group.setStoreHost("10.1.2.3");
  proto_group.setStorePort(29511);
  const model::WeightGroupSpec spec = model::weight_group_from_proto(proto_group.asReader());
  EXPECT_EQ(spec.generation, 9U);
  EXPECT_EQ(spec.rank, 2);
  EXPECT_EQ(spec.world_size, 4);
  EXPECT_EQ(spec.store_host, "10.1.2.3");
  EXPECT_EQ(spec.store_port, 29511);
}

TEST(CommunicatorWeightTransport, MalformedGroupsAreInvalidArguments) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  model::Llama llama = tiny_llama(1);
  // Only the process that serves the store is the source.
  CommunicatorWeightTransport source(transport_options(), served);
  const Status receiver_rank = source.synchronize(*llama, 1, group(1, /*rank=*/1, served)).status();
  EXPECT_EQ(receiver_rank.code(), StatusCode::kInvalidArgument) << receiver_rank.to_string();
  EXPECT_NE(receiver_rank.message().find("WeightGroup.rank"), std::string::npos) << receiver_rank.to_string();
  model::WeightGroupSpec empty = group(2, /*rank=*/0, served);
  empty.world_size = 0;  // what an unset SyncWeights.group carries
  const Status no_members = source.synchronize(*llama, 1, empty).status();
  EXPECT_EQ(no_members.code(), StatusCode::kInvalidArgument) << no_members.to_string();
  EXPECT_NE(no_members.message().find("WeightGroup.worldSize"), std::string::npos) << no_members.to_string();
  EXPECT_NE(no_members.message().find("weight-sync generation 2"), std::string::npos) << no_members.to_string();

  CommunicatorWeightTransport receiver(transport_options(), /*served_store=*/nullptr);
  EXPECT_EQ(receiver.synchronize(*llama, 1, group(1, /*rank=*/0, served)).status().code(),
            StatusCode::kInvalidArgument);
  model::WeightGroupSpec no_host = group(2, /*rank=*/1, served);
  no_host.store_host.clear();
  const Status missing_host = receiver.synchronize(*llama, 1, no_host).status();
  EXPECT_EQ(missing_host.code(), StatusCode::kInvalidArgument) << missing_host.to_string();
  EXPECT_NE(missing_host.message().find("store_host"), std::string::npos) << missing_host.to_string();
}

// Generation 1 misses its rank 2 at the rendezvous: ranks 0 and 1 give up at the deadline, and
// generation 2 forms over the same store although generation 1 left a partial join count there.
TEST(CommunicatorWeightTransport, RendezvousMissingAMemberTimesOutAndTheNextGenerationForms) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  Members members(kWorld, served);
  std::vector<Outcome> missing(2);
  run_ranks(2, [&](int rank) { missing[rank] = members.sync(rank, /*version=*/1, /*generation=*/1); });
  for (int rank = 0; rank < 2; ++rank) {
    expect_failed_in_time(missing[rank], 1, "rank " + std::to_string(rank));
    EXPECT_NE(missing[rank].stats.status().message().find("only 2 of 3 ranks joined"), std::string::npos)
        << missing[rank].stats.status().to_string();
  }
  std::vector<Outcome> formed(kWorld);
  run_ranks(kWorld, [&](int rank) { formed[rank] = members.sync(rank, /*version=*/1, /*generation=*/2); });
  for (int rank = 0; rank < kWorld; ++rank) {
    expect_synced(formed[rank], 1, "rank " + std::to_string(rank));
    EXPECT_EQ(members.checksum(rank), members.checksum(0)) << "rank " << rank;
  }
}

// Threads for ranks 0..2. Rank 2 stops taking part (alive, sockets open: the survivors can only
// time out); generation 2 then re-forms the group with a fresh rank 2, which gets the weights.
TEST(CommunicatorWeightTransport, MemberThatStopsTakingPartFailsTheSyncAndANewGenerationRecovers) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  Members members(kWorld, served);
  // Generation 1: two versions over one group (joined once, then reused).
  std::vector<Outcome> v1(kWorld), v2(kWorld);
  run_ranks(kWorld, [&](int rank) {
    v1[rank] = members.sync(rank, /*version=*/rank == 0 ? 1 : 0, /*generation=*/1);
    if (rank == 0) fill_parameters(*members.models[0], /*seed=*/200);
    v2[rank] = members.sync(rank, /*version=*/2, /*generation=*/1);
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    expect_synced(v1[rank], 1, "v1 rank " + std::to_string(rank));
    expect_synced(v2[rank], 2, "v2 rank " + std::to_string(rank));
    EXPECT_EQ(members.checksum(rank), members.checksum(0)) << "rank " << rank;
  }

  // Version 3: rank 2 never enters the sync.
  fill_parameters(*members.models[0], /*seed=*/300);
  std::vector<Outcome> v3(2);
  run_ranks(2, [&](int rank) { v3[rank] = members.sync(rank, /*version=*/3, /*generation=*/1); });
  expect_failed_in_time(v3[0], 1, "rank 0");
  expect_failed_in_time(v3[1], 1, "rank 1");
  for (const Outcome& outcome : v3) {
    const std::string message = outcome.stats.status().message();
    // Rank 2 never posted its readiness: the source names it, and tells rank 1 in its header.
    EXPECT_NE(message.find("rank(s) 2 did not post ready"), std::string::npos) << message;
  }
  // The broken group is gone for good: the same generation fails at once.
  const Outcome again = members.sync(0, /*version=*/3, /*generation=*/1);
  ASSERT_FALSE(again.stats.ok());
  EXPECT_EQ(again.stats.status().code(), StatusCode::kFailedPrecondition) << again.stats.status().to_string();
  EXPECT_LT(again.elapsed, 100ms);

  // Generation 2 with a fresh rank 2 (a replaced actor: new process state, other weights).
  members.transports[2] = make_transport(2, served);
  members.models[2] = tiny_llama(999);
  ASSERT_NE(members.checksum(2), members.checksum(0));
  std::vector<Outcome> reformed(kWorld);
  run_ranks(kWorld, [&](int rank) {
    reformed[rank] = members.sync(rank, /*version=*/rank == 0 ? 3 : 0, /*generation=*/2);
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    expect_synced(reformed[rank], 3, "generation 2 rank " + std::to_string(rank));
    EXPECT_EQ(members.checksum(rank), members.checksum(0)) << "rank " << rank;
  }
  // A SyncWeights of the superseded generation is refused without blocking.
  const Status stale = members.transports[1]->synchronize(*members.models[1], 3, group(1, 1, served)).status();
  EXPECT_EQ(stale.code(), StatusCode::kFailedPrecondition) << stale.to_string();
  EXPECT_NE(stale.message().find("older than generation 2"), std::string::npos) << stale.to_string();
}

// Rank 2 is a process of its own, killed (SIGKILL) while ranks 0 and 1 are inside the sync
// waiting for it; generation 2 then re-forms the group with a freshly started process.
TEST(CommunicatorWeightTransport, MemberKilledMidSyncFailsTheSurvivorsAndANewProcessGetsTheFullWeights) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  const auto start_peer = [&](uint64_t seed) {
    return std::make_unique<PeerProcess>(std::vector<std::string>{CARAVAN_WEIGHTS_SYNC_PEER, "127.0.0.1",
                                                                  std::to_string(served->port()),
                                                                  std::to_string(kTimeout.count()),
                                                                  std::to_string(seed)});
  };
  // The peer's next line, which must start with `prefix`; returns the rest.
  const auto expect_line = [](PeerProcess& peer, const std::string& prefix) -> std::string {
    const std::optional<std::string> line = peer.read_line(20s);
    EXPECT_TRUE(line.has_value()) << "the peer said nothing; expected \"" << prefix << "\"";
    if (!line) return "";
    EXPECT_EQ(line->rfind(prefix, 0), 0U) << *line;
    return line->substr(std::min(line->size(), prefix.size()));
  };
  Members members(2, served);
  std::unique_ptr<PeerProcess> peer = start_peer(/*seed=*/102);
  ASSERT_TRUE(peer->running());

  // Generation 1, version 1: all three hold the source's weights. Ranks 0 and 1 start once the
  // peer is inside the sync: starting a LibTorch process takes seconds on a loaded machine, more
  // than the deadline.
  peer->send("sync 1 2 3 1");
  expect_line(*peer, "entering 1");
  std::vector<Outcome> v1(2);
  run_ranks(2, [&](int rank) { v1[rank] = members.sync(rank, /*version=*/1, /*generation=*/1); });
  expect_synced(v1[0], 1, "rank 0");
  expect_synced(v1[1], 1, "rank 1");
  EXPECT_EQ(expect_line(*peer, "synced "), "1 " + std::to_string(members.checksum(0)));

  // Version 2: the peer enters the sync and is frozen there; ranks 0 and 1 enter it too and
  // wait for the peer; then the peer dies.
  fill_parameters(*members.models[0], /*seed=*/200);
  peer->send("sync 1 2 3 2");
  expect_line(*peer, "entering 1");
  std::this_thread::sleep_for(100ms);
  peer->signal(SIGSTOP);
  std::vector<std::future<Outcome>> v2;
  for (int rank = 0; rank < 2; ++rank) {
    v2.push_back(std::async(std::launch::async, [&, rank] {
      return members.sync(rank, /*version=*/2, /*generation=*/1);
    }));
  }
  std::this_thread::sleep_for(300ms);
  peer->kill();
  const auto killed = std::chrono::steady_clock::now();
  for (int rank = 0; rank < 2; ++rank) {
    const Outcome outcome = v2[rank].get();
    expect_failed_in_time(outcome, 1, "rank " + std::to_string(rank));
    EXPECT_LT(std::chrono::steady_clock::now() - killed, kTimeout + kMargin) << "rank " << rank;
    // Both survivors name the dead member, and only it.
    EXPECT_NE(outcome.stats.status().message().find("missing rank(s): 2 ("), std::string::npos)
        << "rank " << rank << ": " << outcome.stats.status().to_string();
  }

  // Generation 2 with a new process as rank 2.
  peer = start_peer(/*seed=*/999);
  peer->send("sync 2 2 3 0");
  expect_line(*peer, "entering 2");
  std::vector<Outcome> reformed(2);
  run_ranks(2, [&](int rank) {
    reformed[rank] = members.sync(rank, /*version=*/2, /*generation=*/2);
  });
  expect_synced(reformed[0], 2, "rank 0");
  expect_synced(reformed[1], 2, "rank 1");
  EXPECT_EQ(members.checksum(1), members.checksum(0));
  EXPECT_EQ(expect_line(*peer, "synced "), "2 " + std::to_string(members.checksum(0)));
}

} // namespace
} // namespace caravan::wsync
