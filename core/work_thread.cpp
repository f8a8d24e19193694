#include "core/work_thread.h"

namespace caravan::core {

WorkThread::WorkThread(std::function<void(std::stop_token)> body)
    : thread_([this, body = std::move(body)](std::stop_token stop) {
        body(stop);
        std::lock_guard lock(mutex_);
        finished_ = true;
        finished_changed_.notify_all();
      }) {}

WorkThread::~WorkThread() = default;  // std::jthread requests stop and joins.

bool WorkThread::stop_within(std::chrono::milliseconds grace) {
  thread_.request_stop();
  std::unique_lock lock(mutex_);
  if (!finished_changed_.wait_for(lock, grace, [this] { return finished_; })) return false;
  lock.unlock();
  if (thread_.joinable()) thread_.join();
  return true;
}

} // namespace caravan::core
