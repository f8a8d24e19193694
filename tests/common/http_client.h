// File: tests/common/http_client.h
// A minimal HTTP/1.0 client for tests of the processes' endpoints (/metrics, /healthz, the
// Prometheus API): one request per connection, the whole response read until the server closes.
//
//   const testing::HttpResponse reply = testing::http_request("127.0.0.1", port, "GET /metrics");
//   EXPECT_EQ(reply.status, 200);
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace caravan::testing {

struct HttpResponse {
  // 0 when no response came (connection refused, timeout, garbage).
  int status = 0;
  // The header block, lines joined by "\r\n".
  std::string headers;
  std::string body;
};

// Sends "<request_line> HTTP/1.0" with a Host header to host:port (IPv4) and reads the reply,
// waiting at most 10 s for the server.
inline HttpResponse http_request(const std::string& host, int port, const std::string& request_line) {
  HttpResponse response;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return response;
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return response;
  }
  const std::string request = request_line + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return response;
  }
  std::string raw;
  char buffer[8192];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) raw.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  const size_t space = raw.find(' ');
  if (head_end == std::string::npos || space == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) return response;
  response.status = std::atoi(raw.c_str() + space + 1);
  response.headers = raw.substr(0, head_end);
  response.body = raw.substr(head_end + 4);
  return response;
}

inline HttpResponse http_get(const std::string& host, int port, const std::string& target) {
  return http_request(host, port, "GET " + target);
}

// `text` with every byte outside [A-Za-z0-9-_.~] percent-encoded, for a query-string value.
inline std::string url_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace caravan::testing
