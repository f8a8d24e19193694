// File: tests/weights_sync/loopback_group.h
// Test helpers: a group of Gloo ranks on 127.0.0.1, one thread per rank in this process.
//
//   const int port = free_port();
//   std::vector<Status> results(3);
//   run_ranks(3, [&](int rank) {
//     auto comm = make_communicator("gloo", loopback_options(rank, 3, port));
//     results[rank] = comm.ok() ? comm.value()->barrier() : comm.status();
//   });
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "weights_sync/communicator.h"

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

inline CommunicatorOptions loopback_options(int rank, int world_size, int port,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  CommunicatorOptions options;
  options.rank = rank;
  options.world_size = world_size;
  options.store_host = "127.0.0.1";
  options.store_port = port;
  options.timeout = timeout;
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
