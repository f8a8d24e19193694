// File: tests/weights_sync/loopback_group.h
// Test helpers: a group of Gloo ranks on 127.0.0.1, one thread per rank in this process.
//
//   const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
//   std::vector<Status> results(3);
//   run_ranks(3, [&](int rank) {
//     auto comm = make_communicator("gloo", loopback_options(rank, 3, served));
//     results[rank] = comm.ok() ? comm.value()->barrier() : comm.status();
//   });
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "weights_sync/communicator.h"
#include "weights_sync/rendezvous_store.h"

namespace caravan::wsync::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A store served on a free port of 127.0.0.1 (null, with a test failure, if it cannot be).
inline std::shared_ptr<RendezvousStore> serve_loopback_store(
    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto served = RendezvousStore::serve("127.0.0.1", /*port=*/0, timeout);
  EXPECT_TRUE(served.ok()) << served.status().to_string();
  return served.ok() ? *served : nullptr;
}

// The options of `rank` in a group meeting in `scope` of `served`: rank 0 uses the served store,
// the others connect their own client to it (a null store, and a test failure, if they cannot).
inline CommunicatorOptions loopback_options(int rank, int world_size, const std::shared_ptr<RendezvousStore>& served,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                            const std::string& scope = "test/") {
  CommunicatorOptions options;
  options.rank = rank;
  options.world_size = world_size;
  options.scope = scope;
  options.timeout = timeout;
  if (rank == 0 || served == nullptr) {
    options.store = served;
  } else {
    auto client = RendezvousStore::connect("127.0.0.1", served->port(), timeout, {});
    EXPECT_TRUE(client.ok()) << client.status().to_string();
    if (client.ok()) options.store = *client;
  }
  return options;
}

// Runs body(rank) for rank in [0, world_size) on one thread each and joins them all.
template <class Body>
void run_ranks(int world_size, Body body) {
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world_size; ++rank) threads.emplace_back(body, rank);
  for (std::thread& thread : threads) thread.join();
}

} // namespace caravan::wsync::testing
