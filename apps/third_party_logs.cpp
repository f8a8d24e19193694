#include "apps/third_party_logs.h"

#include <glog/logging.h>

#include <string_view>

#include "core/log.h"

namespace caravan::apps {
namespace {

// glog's message as one Caravan line: `source=glog at=socket.cpp:123 message="..."`.
class CaravanLogSink : public google::LogSink {
 public:
  // Static destructors of other libraries may still log: glog must not call a destroyed sink.
  ~CaravanLogSink() override { google::RemoveLogSink(this); }

  void send(google::LogSeverity severity, const char* /*full_filename*/, const char* base_filename, int line,
            const google::LogMessageTime& /*time*/, const char* message, size_t message_len) override {
    // Called with glog's mutex held: core/log never calls back into glog. Below FATAL, what the
    // libraries log is detail (c10d's connect retries log ERROR when an attempt times out):
    // Caravan reports the failures that matter as its own errors.
    if (severity >= google::GLOG_FATAL) return;  // glog writes it to stderr itself, then aborts
    log::debug("source=glog severity=", google::GetLogSeverityName(severity), " at=", base_filename, ":", line,
               " message=\"", std::string_view(message, message_len), "\"");
  }
};

}  // namespace

void route_third_party_logs(const char* argv0) {
  // Lives as long as the process: glog may log from any thread until exit.
  static CaravanLogSink sink;
  google::InitGoogleLogging(argv0);
  FLAGS_logtostderr = false;
  FLAGS_alsologtostderr = false;
  google::SetStderrLogging(google::GLOG_FATAL);
  // An empty base name switches glog's own log files off for that severity.
  for (google::LogSeverity severity : {google::GLOG_INFO, google::GLOG_WARNING, google::GLOG_ERROR, google::GLOG_FATAL}) {
    google::SetLogDestination(severity, "");
  }
  google::AddLogSink(&sink);
}

} // namespace caravan::apps
