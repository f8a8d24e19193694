#include "rewards/verifier_pool.h"

#include "rewards/reward_scoring.h"

namespace caravan::rewards {

VerifierPool::VerifierPool(const VerifierRegistry& registry, VerifierMetrics& metrics,
                           const VerifierPoolOptions& options)
    : registry_(registry), metrics_(metrics), options_(options) {
  CARAVAN_CHECK(options.threads >= 1 && options.threads <= 1024, "VerifierPool: threads = ", options.threads,
                " is outside 1..1024");
  CARAVAN_CHECK(options.queue_capacity >= 1, "VerifierPool: queue_capacity must be >= 1");
  threads_.reserve(static_cast<size_t>(options.threads));
  for (int i = 0; i < options.threads; ++i) {
    threads_.emplace_back([this](std::stop_token stop) { run_jobs(stop); });
  }
}

VerifierPool::~VerifierPool() { (void)close(); }

bool VerifierPool::try_submit(std::vector<VerifyJob> batch) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || jobs_.size() + batch.size() > options_.queue_capacity) {
      metrics_.rejected().increment();
      return false;
    }
    for (VerifyJob& job : batch) jobs_.push_back(std::move(job));
    metrics_.queue_depth().set(static_cast<double>(jobs_.size()));
  }
  job_ready_.notify_all();
  return true;
}

std::optional<VerifyOutcome> VerifierPool::pop(std::stop_token stop, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!job_done_.wait_for(lock, stop, timeout, [&] { return !outcomes_.empty(); })) return std::nullopt;
  VerifyOutcome outcome = std::move(outcomes_.front());
  outcomes_.pop_front();
  return outcome;
}

size_t VerifierPool::close() {
  size_t dropped = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return 0;
    closed_ = true;
    dropped = jobs_.size();
    jobs_.clear();
    metrics_.queue_depth().set(0);
  }
  for (std::jthread& thread : threads_) thread.request_stop();
  for (std::jthread& thread : threads_) thread.join();
  return dropped;
}

size_t VerifierPool::queue_depth() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void VerifierPool::run_jobs(std::stop_token stop) {
  while (true) {
    VerifyJob job;
    {
      std::unique_lock lock(mutex_);
      if (!job_ready_.wait(lock, stop, [&] { return !jobs_.empty(); })) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      metrics_.queue_depth().set(static_cast<double>(jobs_.size()));
    }
    VerifyOutcome outcome = verify(job);
    {
      std::lock_guard lock(mutex_);
      outcomes_.push_back(std::move(outcome));
    }
    job_done_.notify_one();
  }
}

VerifyOutcome VerifierPool::verify(const VerifyJob& job) {
  const auto start = std::chrono::steady_clock::now();
  VerifyOutcome outcome{job.tag, judge(registry_, job.verifier, job.completion, job.ground_truth, job.settings), 0.0};
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Unknown names share one label value, so requests cannot grow the series without bound.
  const std::string_view metric_name = registry_.find(job.verifier).ok() ? std::string_view(job.verifier) : "unknown";
  metrics_.record(metric_name, outcome.verdict.status, outcome.seconds);
  return outcome;
}

} // namespace caravan::rewards
