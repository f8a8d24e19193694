#include "weights_sync/communicator.h"

#include <chrono>
#include <future>
#include <memory>
#include <stop_token>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/weights_sync/loopback_group.h"

namespace caravan::wsync {
namespace {

using namespace std::chrono_literals;
using testing::free_port;
using testing::loopback_options;
using testing::run_ranks;
using testing::serve_loopback_store;

TEST(MakeCommunicator, UnknownBackendIsInvalidArgumentListingKnownOnes) {
  auto communicator = make_communicator("nope", CommunicatorOptions{});
  ASSERT_FALSE(communicator.ok());
  EXPECT_EQ(communicator.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(communicator.status().message().find("\"nope\""), std::string::npos);
  EXPECT_NE(communicator.status().message().find("gloo"), std::string::npos);
}

TEST(MakeCommunicator, InvalidOptionsNameTheField) {
  CommunicatorOptions options;
  options.world_size = 2;
  options.rank = 2;
  options.store = serve_loopback_store();
  auto communicator = make_communicator("gloo", options);
  ASSERT_FALSE(communicator.ok());
  EXPECT_EQ(communicator.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(communicator.status().message().find("rank"), std::string::npos);

  options.rank = 0;
  options.timeout = 0ms;
  EXPECT_EQ(validate_options(options).code(), StatusCode::kInvalidArgument);
  options.timeout = 1s;
  EXPECT_TRUE(validate_options(options).ok());
  options.store = nullptr;
  const Status no_store = validate_options(options);
  EXPECT_EQ(no_store.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_store.message().find("CommunicatorOptions.store"), std::string::npos) << no_store.to_string();
}

TEST(RendezvousStore, InvalidAddressesNameTheField) {
  const Status empty_host = RendezvousStore::serve("", 0, 1s).status();
  EXPECT_EQ(empty_host.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty_host.message().find("store_host"), std::string::npos) << empty_host.to_string();
  const Status bad_port = RendezvousStore::serve("127.0.0.1", 70000, 1s).status();
  EXPECT_EQ(bad_port.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_port.message().find("store_port"), std::string::npos) << bad_port.to_string();
  // Only a server may pick its port: a client could not know which one.
  const Status client_port_zero = RendezvousStore::connect("127.0.0.1", 0, 1s, {}).status();
  EXPECT_EQ(client_port_zero.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(client_port_zero.message().find("store_port"), std::string::npos) << client_port_zero.to_string();
  EXPECT_EQ(RendezvousStore::serve("127.0.0.1", 0, 0ms).status().code(), StatusCode::kInvalidArgument);
}

TEST(RendezvousStore, PortInUseIsUnavailableNamingThePort) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  ASSERT_NE(served, nullptr);
  EXPECT_GT(served->port(), 0);
  const Status second = RendezvousStore::serve("127.0.0.1", served->port(), 1s).status();
  EXPECT_EQ(second.code(), StatusCode::kUnavailable) << second.to_string();
  EXPECT_NE(second.message().find(std::to_string(served->port())), std::string::npos) << second.to_string();
}

TEST(GlooCommunicator, GroupsInDistinctScopesOfOneStoreDoNotMeet) {
  // Two groups of 2 formed one after the other over one store, as successive generations are:
  // the second never sees the first's join count or addresses.
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  for (const std::string scope : {"gen-1/", "gen-2/"}) {
    std::vector<Status> statuses(2);
    run_ranks(2, [&](int rank) {
      auto communicator = make_communicator("gloo", loopback_options(rank, 2, served, 10s, scope));
      statuses[rank] = communicator.ok() ? communicator.value()->barrier() : communicator.status();
    });
    for (int rank = 0; rank < 2; ++rank) EXPECT_TRUE(statuses[rank].ok()) << scope << statuses[rank].to_string();
  }
}

ByteBuffer host_bytes(at::Tensor& tensor) {
  return ByteBuffer{.data = tensor.data_ptr(), .bytes = static_cast<int64_t>(tensor.nbytes())};
}

TEST(GlooCommunicator, SingleRank) {
  auto communicator = make_communicator("gloo", loopback_options(0, 1, serve_loopback_store()));
  ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
  Communicator& comm = **communicator;
  EXPECT_EQ(comm.backend_name(), "gloo");
  EXPECT_FALSE(comm.broken());
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.world_size(), 1);

  at::Tensor values = at::tensor({1.5, -2.0}, at::kDouble);
  ASSERT_TRUE(comm.broadcast(host_bytes(values), 0).ok());
  EXPECT_EQ(values[0].item<double>(), 1.5);
  EXPECT_EQ(values[1].item<double>(), -2.0);
  EXPECT_TRUE(comm.barrier().ok());
}

TEST(GlooCommunicator, RejectsBadArgumentsWithoutBreakingTheGroup) {
  auto communicator = make_communicator("gloo", loopback_options(0, 1, serve_loopback_store()));
  ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
  Communicator& comm = **communicator;
  at::Tensor values = at::zeros({2});
  ByteBuffer on_device = host_bytes(values);
  on_device.location = BufferLocation::kDevice;
  const Status device = comm.broadcast(on_device, 0);
  EXPECT_EQ(device.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(device.message().find("device"), std::string::npos) << device.to_string();
  EXPECT_EQ(comm.broadcast(host_bytes(values), /*root=*/1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(comm.broadcast(ByteBuffer{.data = nullptr, .bytes = 8}, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(comm.broadcast(host_bytes(values), 0).ok());
  EXPECT_FALSE(comm.broken());
}

TEST(GlooCommunicator, ThreeRanksBroadcastAndBarrier) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  std::vector<Status> statuses(3);
  std::vector<at::Tensor> received(3);
  run_ranks(3, [&](int rank) {
    auto communicator = make_communicator("gloo", loopback_options(rank, 3, served));
    if (!communicator.ok()) {
      statuses[rank] = communicator.status();
      return;
    }
    Communicator& comm = **communicator;
    // Bytes of any dtype (bfloat16 is no Gloo type). Root 1 on purpose.
    received[rank] = rank == 1 ? at::arange(6, at::kBFloat16).reshape({2, 3}) : at::zeros({2, 3}, at::kBFloat16);
    statuses[rank] = comm.broadcast(host_bytes(received[rank]), /*root=*/1);
    if (statuses[rank].ok()) statuses[rank] = comm.barrier();
  });
  for (int rank = 0; rank < 3; ++rank) {
    ASSERT_TRUE(statuses[rank].ok()) << "rank " << rank << ": " << statuses[rank].to_string();
    EXPECT_TRUE(at::equal(received[rank], at::arange(6, at::kBFloat16).reshape({2, 3}))) << "rank " << rank;
  }
}

TEST(GlooCommunicator, ThreeRanksAllReduceSum) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  std::vector<Status> statuses(3);
  std::vector<std::vector<float>> values(3);
  run_ranks(3, [&](int rank) {
    auto communicator = make_communicator("gloo", loopback_options(rank, 3, served));
    if (!communicator.ok()) {
      statuses[rank] = communicator.status();
      return;
    }
    Communicator& comm = **communicator;
    // Not whole float32 elements: refused before any traffic, the group stays usable.
    int32_t odd = 0;
    EXPECT_EQ(comm.all_reduce_sum({.data = &odd, .bytes = 3}).code(), StatusCode::kInvalidArgument);
    values[rank] = {static_cast<float>(rank), 2.0f * static_cast<float>(rank), 1.5f};
    statuses[rank] = comm.all_reduce_sum({.data = values[rank].data(), .bytes = 12});
  });
  for (int rank = 0; rank < 3; ++rank) {
    ASSERT_TRUE(statuses[rank].ok()) << "rank " << rank << ": " << statuses[rank].to_string();
    // 0+1+2, 0+2+4, 3 x 1.5 on every rank.
    EXPECT_EQ(values[rank], (std::vector<float>{3.0f, 6.0f, 4.5f})) << "rank " << rank;
  }
}

TEST(GlooCommunicator, PeerThatNeverJoinsTimesOutWithinTheDeadline) {
  const auto start = std::chrono::steady_clock::now();
  // Rank 0 waits for rank 1, which never comes.
  auto communicator = make_communicator("gloo", loopback_options(0, 2, serve_loopback_store(), /*timeout=*/2s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(communicator.ok());
  EXPECT_EQ(communicator.status().code(), StatusCode::kTimeout) << communicator.status().to_string();
  EXPECT_GE(elapsed, 2s);
  EXPECT_LT(elapsed, 4s);
}

TEST(GlooCommunicator, MissingStoreTimesOut) {
  const auto start = std::chrono::steady_clock::now();
  // A store that nobody serves.
  auto store = RendezvousStore::connect("127.0.0.1", free_port(), /*timeout=*/2s, {});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kTimeout) << store.status().to_string();
  EXPECT_LT(elapsed, 4s);
}

TEST(GlooCommunicator, StopRequestInterruptsTheRendezvous) {
  // Shutdown must not wait out the rendezvous deadline: neither a client waiting for the store
  // nor a rank waiting for its peers.
  for (const bool waiting_for_store : {true, false}) {
    std::stop_source source;
    std::jthread stopper([&] {
      std::this_thread::sleep_for(300ms);
      source.request_stop();
    });
    const auto start = std::chrono::steady_clock::now();
    Status status;
    if (waiting_for_store) {
      status = RendezvousStore::connect("127.0.0.1", free_port(), /*timeout=*/60s, source.get_token()).status();
    } else {
      CommunicatorOptions options = loopback_options(0, 2, serve_loopback_store(), /*timeout=*/60s);
      options.stop = source.get_token();
      status = make_communicator("gloo", options).status();
    }
    EXPECT_EQ(status.code(), StatusCode::kCancelled) << status.to_string();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "waiting for store: " << waiting_for_store;
  }
}

TEST(GlooCommunicator, CollectiveTimeoutBreaksTheCommunicator) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  std::promise<void> rank1_done;
  std::shared_future<void> rank1_finished = rank1_done.get_future().share();
  Status first, second;
  bool broken = false;
  std::vector<Status> joined(2);
  run_ranks(2, [&](int rank) {
    auto communicator = make_communicator("gloo", loopback_options(rank, 2, served, /*timeout=*/2s));
    joined[rank] = communicator.status();
    if (rank == 1) {
      if (communicator.ok()) {
        // Rank 0 never sends: the receive must give up after the timeout.
        at::Tensor values = at::zeros({4});
        first = communicator.value()->broadcast(host_bytes(values), 0);
        broken = communicator.value()->broken();
        second = communicator.value()->barrier();
      }
      rank1_done.set_value();
    } else {
      rank1_finished.wait();  // keep rank 0 alive, so rank 1 sees a timeout and not a closed peer
    }
  });
  ASSERT_TRUE(joined[0].ok()) << joined[0].to_string();
  ASSERT_TRUE(joined[1].ok()) << joined[1].to_string();
  EXPECT_EQ(first.code(), StatusCode::kTimeout) << first.to_string();
  EXPECT_TRUE(broken);
  EXPECT_EQ(second.code(), StatusCode::kFailedPrecondition) << second.to_string();
}

TEST(GlooCommunicator, PeerThatLeftIsUnavailable) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  std::promise<void> rank0_left;
  std::shared_future<void> rank0_gone = rank0_left.get_future().share();
  Status received;
  std::vector<Status> joined(2);
  run_ranks(2, [&](int rank) {
    if (rank == 0) {
      joined[0] = make_communicator("gloo", loopback_options(0, 2, served, /*timeout=*/20s)).status();
      rank0_left.set_value();  // the communicator is gone: rank 0 left the group
      return;
    }
    auto communicator = make_communicator("gloo", loopback_options(1, 2, served, /*timeout=*/20s));
    joined[1] = communicator.status();
    rank0_gone.wait();
    if (communicator.ok()) {
      at::Tensor values = at::zeros({4});
      received = communicator.value()->broadcast(host_bytes(values), 0);
    }
  });
  ASSERT_TRUE(joined[0].ok()) << joined[0].to_string();
  ASSERT_TRUE(joined[1].ok()) << joined[1].to_string();
  EXPECT_EQ(received.code(), StatusCode::kUnavailable) << received.to_string();
}

} // namespace
} // namespace caravan::wsync
