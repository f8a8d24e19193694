// File: apps/signal_stopper.h
// How a `caravan worker` process reacts to signals. SIGINT/SIGTERM become a stop request (the
// std::stop_token every blocking call of the role watches) and SIGHUPs are counted (a request
// to reload configuration, e.g. the verifiers' reward config). The signals are blocked in every
// thread (threads inherit the mask) and one thread of the stopper alone receives them.
//
// The controller stops at the first signal: stopping is what makes it checkpoint and send
// Shutdown to the others. Every other role keeps serving after a first SIGTERM, so a job-wide
// SIGTERM (Slurm, Kubernetes, srun) does not take the learner away before the controller's
// checkpoint: it stops when the grace has passed (or earlier, by the controller's Shutdown), and
// at once on a second signal. SIGINT (Ctrl-C; the launcher stopping a failed run) stops every
// role at once.
//
//   SignalStopper signals;                       // first thing in main, before any thread
//   if (role != proto::Role::CONTROLLER) signals.keep_serving_after_first_signal(grace);
//   serve(..., signals.token());
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stop_token>
#include <thread>

namespace caravan::apps {

// Construct it before any other thread exists: the constructor blocks SIGINT, SIGTERM and
// SIGHUP in the calling thread. Thread-safe accessors; not copyable or movable.
class SignalStopper {
 public:
  SignalStopper();
  SignalStopper(const SignalStopper&) = delete;
  SignalStopper& operator=(const SignalStopper&) = delete;

  // Requested on SIGINT/SIGTERM (see keep_serving_after_first_signal).
  std::stop_token token() const { return source_.get_token(); }
  // SIGHUPs received so far.
  uint64_t hangups() const { return hangups_.load(); }
  // From now on the first SIGTERM only starts `grace` (>= 0), after which the stop is requested;
  // a second signal, or SIGINT, requests it at once. Call before the role starts serving.
  void keep_serving_after_first_signal(std::chrono::milliseconds grace);

 private:
  void receive(std::stop_token own);

  std::stop_source source_;
  std::atomic<uint64_t> hangups_{0};
  // Milliseconds of grace after a first signal; negative: stop at the first signal.
  std::atomic<int64_t> grace_ms_{-1};
  std::jthread thread_;
};

} // namespace caravan::apps
