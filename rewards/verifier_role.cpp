#include "rewards/verifier_role.h"

namespace caravan::rewards {
namespace {

// How long one wait of the collector for a finished item lasts before it looks at its stop.
constexpr std::chrono::milliseconds kCollectWait{100};

}  // namespace

VerifierRole::VerifierRole(VerifierWorker& worker, core::Outbox& outbox, BeforeRequest before_request)
    : worker_(worker),
      outbox_(outbox),
      before_request_(std::move(before_request)),
      collector_([this](std::stop_token stop) { collect(stop); }) {}

Status VerifierRole::accept(const proto::Envelope::Reader& message) {
  if (before_request_) before_request_();
  CARAVAN_ASSIGN_OR_RETURN(std::optional<VerifierWorker::Reply> immediate, worker_.handle(message));
  if (immediate) outbox_.post(std::move(*immediate));
  return Status();
}

void VerifierRole::collect(std::stop_token stop) {
  try {
    while (!stop.stop_requested()) {
      for (VerifierWorker::Reply& reply : worker_.poll_finished(stop, kCollectWait)) outbox_.post(std::move(reply));
    }
  } catch (const std::exception& e) {
    // A broken invariant of the worker's bookkeeping: results can no longer be trusted.
    outbox_.fail(Status::internal(str_cat("verifier results: ", e.what())));
  }
}

} // namespace caravan::rewards
