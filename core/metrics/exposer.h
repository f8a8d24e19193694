// File: core/metrics/exposer.h
// The HTTP endpoint of a process, served by GNU libmicrohttpd on its own thread:
//   GET /metrics  the Registry in the Prometheus text format (200), or 503 once the registry is
//                 gone (the exposer observes it through a std::weak_ptr and never extends its life)
//   GET /healthz  liveness: 200 while the process's main loop is alive, else 503
//   GET /readyz   readiness: 200 when the role can take work (connected, model loaded), else 503
//   anything else 404; a method other than GET or HEAD on a known path 405.
// Kubernetes probes and Prometheus use these; cluster launchers restart a process whose
// /healthz fails and route no work to one whose /readyz fails.
//
// Why libmicrohttpd and its stack size: in a process that loads LibTorch, OpenBLAS alone puts
// ~60 KiB of static TLS on every thread, and glibc carves static TLS out of the thread's stack.
// Debian's civetweb starts its threads with 100 KiB stacks, so pthread_create failed with EINVAL
// in every worker process. libmicrohttpd takes the stack size as a start option
// (MHD_OPTION_THREAD_STACK_SIZE); the exposer asks for kThreadStackBytes.
//
//   auto registry = std::make_shared<metrics::Registry>();
//   CARAVAN_ASSIGN_OR_RETURN(auto exposer, metrics::Exposer::start(
//       {.host = "127.0.0.1", .port = 0, .live = [&] { return loop.alive(); }}, registry));
//   log::info("event=metrics_listening url=", exposer->url());   // http://127.0.0.1:41234/metrics
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/metrics/registry.h"
#include "core/status.h"

struct MHD_Daemon;

namespace caravan::metrics {

// Stack of the serving thread: static TLS of LibTorch's libraries plus generous room for the
// request handlers (rendering a registry is shallow).
inline constexpr size_t kThreadStackBytes = size_t{2} << 20;

// A probe's answer: true = 200, false = 503. Called on the exposer's thread, so it must be
// thread-safe and quick (read an atomic, not a lock held by long work).
using Probe = std::function<bool()>;

struct ExposerOptions {
  // IPv4 address to bind: "127.0.0.1" for local scrapes, "0.0.0.0" for every interface.
  std::string host = "127.0.0.1";
  // TCP port, 0..65535; 0 = an ephemeral port picked by the OS (read it back with port()).
  int port = 0;
  // A connection idle this long (a client that sends no request or does not read the reply)
  // is closed, so a stuck scraper cannot hold a connection slot forever. Whole seconds, >= 1.
  std::chrono::seconds client_timeout{2};
  // /healthz and /readyz; empty = always 200 (a process with no main loop or readiness to report).
  Probe live = {};
  Probe ready = {};
};

// Deletes a libmicrohttpd daemon: stops its thread, closes its sockets.
struct MhdDaemonDeleter {
  void operator()(MHD_Daemon* daemon) const noexcept;
};
using MhdDaemonPtr = std::unique_ptr<MHD_Daemon, MhdDaemonDeleter>;

// Thread-safe: requests are answered on the exposer's thread, one event loop serving many
// connections. Non-copyable and non-movable (the daemon holds a pointer to it). Destruction
// stops the thread and closes the socket; the probes are not called after it returns.
class Exposer {
 public:
  // Binds host:port and starts serving. kInvalidArgument for a host that is not an IPv4
  // address, a port outside 0..65535 or a client_timeout below one second; kUnavailable when
  // the daemon cannot start (the message names the address, e.g. a port already in use).
  static Result<std::unique_ptr<Exposer>> start(const ExposerOptions& options, std::weak_ptr<const Registry> registry);

  Exposer(const Exposer&) = delete;
  Exposer& operator=(const Exposer&) = delete;
  ~Exposer();

  // The bound port (the real one when options.port was 0).
  int port() const { return port_; }
  // "http://<host>:<port>/metrics".
  std::string url() const;

  // The status code and body for `method` and `path` (the query string stripped): what the
  // daemon sends. Thread-safe.
  struct Reply {
    unsigned code = 200;
    std::string content_type;
    std::string body;
  };
  Reply respond(const std::string& method, const std::string& path) const;

 private:
  Exposer(const ExposerOptions& options, std::weak_ptr<const Registry> registry)
      : options_(options), registry_(std::move(registry)) {}

  const ExposerOptions options_;
  const std::weak_ptr<const Registry> registry_;
  int port_ = 0;
  // Declared last: it stops before the members its handler reads are destroyed.
  MhdDaemonPtr daemon_;
};

} // namespace caravan::metrics
