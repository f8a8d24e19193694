// File: core/work_thread.h
// A worker role's own thread (the rollout engine, the verifier's result collector, the
// learner's work thread) whose stop is bounded in time. Stopping a thread that sits in a long
// computation or a collective cannot be forced; stop_within() reports that instead of blocking,
// so the process can end at once (apps/worker_command.cpp then calls std::_Exit).
//
//   WorkThread thread([&](std::stop_token stop) { while (!stop.stop_requested()) step(); });
//   if (!thread.stop_within(2s)) std::_Exit(1);  // stuck: never destroy it
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>

namespace caravan::core {

// Non-copyable, non-movable. The body must return once its stop_token is requested (promptly,
// unless it is inside a call that cannot observe it).
class WorkThread {
 public:
  explicit WorkThread(std::function<void(std::stop_token)> body);
  WorkThread(const WorkThread&) = delete;
  WorkThread& operator=(const WorkThread&) = delete;
  // Requests stop and joins, however long the body takes. After stop_within() returned false
  // this would block on the stuck body: the owner must end the process instead.
  ~WorkThread();

  // Any thread. Requests stop and waits up to `grace` for the body to return; true (and joined)
  // if it did, false if it is still running.
  bool stop_within(std::chrono::milliseconds grace);

 private:
  std::mutex mutex_;
  std::condition_variable finished_changed_;
  bool finished_ = false;  // Guarded by mutex_.
  std::jthread thread_;    // Last: starts after the members above exist.
};

} // namespace caravan::core
