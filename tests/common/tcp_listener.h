// File: tests/common/tcp_listener.h
// A port another process holds, for tests of code that picks or probes ports.
//
//   const testing::TcpListener holder;
//   config.cluster.controller_port = holder.port();   // now in use
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include <gtest/gtest.h>

namespace caravan::testing {

// A TCP listener on 127.0.0.1 (any free port, SO_REUSEADDR as a ZeroMQ listener sets it),
// closed on destruction: a port another process holds.
class TcpListener {
 public:
  TcpListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    const int reuse = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
  }
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener() { ::close(fd_); }
  int64_t port() const { return port_; }

 private:
  int fd_;
  int64_t port_ = 0;
};

} // namespace caravan::testing
