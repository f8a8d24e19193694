#include "apps/signal_stopper.h"

#include <signal.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/log.h"

namespace caravan::apps {
namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

SignalStopper::SignalStopper() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::jthread([this](std::stop_token own) { receive(std::move(own)); });
}

void SignalStopper::keep_serving_after_first_signal(std::chrono::milliseconds grace) {
  grace_ms_.store(std::max<int64_t>(0, grace.count()));
}

void SignalStopper::receive(std::stop_token own) {
  using Clock = std::chrono::steady_clock;
  const sigset_t waited = stop_signals();
  const timespec tick{0, 100 * 1000 * 1000};
  // Set by a first signal while the role keeps serving.
  std::optional<Clock::time_point> stop_at;
  while (!own.stop_requested()) {
    if (stop_at && Clock::now() >= *stop_at) {
      log::warn("event=signal_grace_expired action=stop");
      source_.request_stop();
      return;
    }
    siginfo_t info;
    const int signal = ::sigtimedwait(&waited, &info, &tick);
    if (signal == SIGHUP) {
      log::info("event=signal signal=", strsignal(signal), " action=reload");
      hangups_.fetch_add(1);
    } else if (signal > 0) {
      const int64_t grace_ms = grace_ms_.load();
      // SIGINT (Ctrl-C, or the launcher stopping the run) stops at once; only SIGTERM, what
      // cluster schedulers send to every process of a job, gets the grace.
      if (stop_at || grace_ms < 0 || signal == SIGINT) {
        log::warn("event=signal signal=", strsignal(signal), " action=stop");
        source_.request_stop();
        return;
      }
      stop_at = Clock::now() + std::chrono::milliseconds(grace_ms);
      log::warn("event=signal signal=", strsignal(signal),
                " action=\"keep serving until the controller's Shutdown\" stop_in_s=", grace_ms / 1000.0,
                " hint=\"a second signal stops at once\"");
    }
  }
}

} // namespace caravan::apps
