#include "core/metrics/exposer.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include "core/metrics/text_format.h"

namespace caravan::metrics {
namespace {

constexpr const char* kPlainText = "text/plain; charset=utf-8";

// Answers one request from the reply the exposer computes; MHD calls it on the daemon's thread
// once the request head is in (a GET has no body to wait for).
MHD_Result answer(void* exposer, MHD_Connection* connection, const char* url, const char* method,
                  const char* /*version*/, const char* /*upload_data*/, size_t* upload_data_size,
                  void** request_state) {
  // First call per request: MHD only wants to know whether to go on. Answer on the second,
  // after any body (ignored) is consumed.
  static int started_marker;
  if (*request_state == nullptr) {
    *request_state = &started_marker;
    return MHD_YES;
  }
  if (*upload_data_size != 0) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  const Exposer::Reply reply = static_cast<const Exposer*>(exposer)->respond(method, url);
  MHD_Response* response =
      MHD_create_response_from_buffer(reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
  const MHD_Result queued = MHD_queue_response(connection, reply.code, response);
  MHD_destroy_response(response);
  return queued;
}

Exposer::Reply probe_reply(const Probe& probe, const char* what) {
  if (!probe || probe()) return {200, kPlainText, "ok\n"};
  return {503, kPlainText, str_cat(what, "\n")};
}

}  // namespace

void MhdDaemonDeleter::operator()(MHD_Daemon* daemon) const noexcept { MHD_stop_daemon(daemon); }

Result<std::unique_ptr<Exposer>> Exposer::start(const ExposerOptions& options, std::weak_ptr<const Registry> registry) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (::inet_pton(AF_INET, options.host.c_str(), &address.sin_addr) != 1) {
    return Status::invalid_argument(str_cat("metrics exposer: host '", options.host, "' is not an IPv4 address"));
  }
  if (options.port < 0 || options.port > 65535) {
    return Status::invalid_argument(str_cat("metrics exposer: port ", options.port, " is outside 0..65535"));
  }
  if (options.client_timeout.count() < 1) {
    return Status::invalid_argument(str_cat("metrics exposer: client_timeout ", options.client_timeout.count(),
                                            " s is below 1 s"));
  }
  address.sin_port = htons(static_cast<uint16_t>(options.port));
  std::unique_ptr<Exposer> exposer(new Exposer(options, std::move(registry)));
  // One internal thread polls every connection (epoll); answers are computed in microseconds
  // to milliseconds, so concurrent scrapes never wait long. MHD_USE_ERROR_LOG: MHD's own
  // diagnostics go to stderr, as the rest of the process's log.
  MHD_Daemon* daemon = MHD_start_daemon(
      MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, static_cast<uint16_t>(options.port), /*apc=*/nullptr,
      /*apc_cls=*/nullptr, &answer, exposer.get(), MHD_OPTION_SOCK_ADDR, reinterpret_cast<const sockaddr*>(&address),
      MHD_OPTION_THREAD_STACK_SIZE, kThreadStackBytes, MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned>(options.client_timeout.count()), MHD_OPTION_END);
  if (daemon == nullptr) {
    return Status::unavailable(str_cat("metrics exposer: cannot serve on ", options.host, ":", options.port,
                                       " (address in use, or no thread with a ", kThreadStackBytes, "-byte stack)"));
  }
  exposer->daemon_.reset(daemon);
  const MHD_DaemonInfo* bound = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
  CARAVAN_CHECK(bound != nullptr && bound->port != 0, "metrics exposer: libmicrohttpd reports no bound port");
  exposer->port_ = bound->port;
  return exposer;
}

Exposer::~Exposer() = default;

std::string Exposer::url() const { return str_cat("http://", options_.host, ":", port_, "/metrics"); }

Exposer::Reply Exposer::respond(const std::string& method, const std::string& path) const {
  if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
    return {404, kPlainText, "not found: this endpoint serves /metrics, /healthz and /readyz\n"};
  }
  if (method != "GET" && method != "HEAD") return {405, kPlainText, "only GET and HEAD are served\n"};
  if (path == "/healthz") return probe_reply(options_.live, "not live: the main loop is stalled or has ended");
  if (path == "/readyz") return probe_reply(options_.ready, "not ready: this process cannot take work now");
  const std::shared_ptr<const Registry> registry = registry_.lock();
  if (!registry) return {503, kPlainText, "the metrics registry is gone (shutting down)\n"};
  return {200, kTextFormatContentType, registry->serialize()};
}

} // namespace caravan::metrics
