// File: weights_sync/sync_control.cpp
#include "weights_sync/sync_control.h"

#include <thread>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include "core/str_cat.h"
#include "weights_sync/c10d_status.h"
#include "weights_sync/rendezvous_store_handle.h"

namespace caravan::wsync {
namespace {

// Polling interval of the waits: a store round trip costs ~0.1 ms on a LAN.
constexpr auto kPoll = std::chrono::milliseconds(1);

std::chrono::milliseconds waited_since(Deadline start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

} // namespace

struct SyncControl::Scoped {
  c10::intrusive_ptr<c10d::PrefixStore> store;
};

std::string join_ranks(const std::vector<int>& ranks) {
  std::string text;
  for (const int rank : ranks) text += str_cat(text.empty() ? "" : ", ", rank);
  return text;
}

SyncControl::SyncControl(std::shared_ptr<RendezvousStore> store, const std::string& scope)
    : scoped_(std::make_unique<Scoped>(Scoped{c10::make_intrusive<c10d::PrefixStore>(scope, store->handle().store)})),
      store_(std::move(store)) {}

SyncControl::~SyncControl() = default;

Status SyncControl::set(const std::string& key, const std::string& value) {
  return guarded(str_cat("weight-sync store: set ", key),
                 [&] { scoped_->store->set(key, std::vector<uint8_t>(value.begin(), value.end())); });
}

Result<std::string> SyncControl::wait_get(const std::string& key, Deadline deadline) {
  CARAVAN_ASSIGN_OR_RETURN(std::vector<std::string> values, gather(key, {-1}, deadline, key));
  return std::move(values.front());
}

Result<std::vector<int>> SyncControl::missing(const std::string& prefix, const std::vector<int>& ranks) {
  std::vector<int> absent;
  for (const int rank : ranks) {
    const std::string key = rank < 0 ? prefix : str_cat(prefix, rank);
    bool present = false;
    CARAVAN_RETURN_IF_ERROR(
        guarded(str_cat("weight-sync store: check ", key), [&] { present = scoped_->store->check({key}); }));
    if (!present) absent.push_back(rank);
  }
  return absent;
}

Status SyncControl::erase(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    CARAVAN_RETURN_IF_ERROR(
        guarded(str_cat("weight-sync store: delete ", key), [&] { (void)scoped_->store->deleteKey(key); }));
  }
  return Status::ok_status();
}

// A rank of -1 stands for `prefix` itself (wait_get).
Result<std::vector<std::string>> SyncControl::gather(const std::string& prefix, const std::vector<int>& ranks,
                                                     Deadline deadline, const std::string& what) {
  const Deadline start = std::chrono::steady_clock::now();
  while (true) {
    CARAVAN_ASSIGN_OR_RETURN(std::vector<int> absent, missing(prefix, ranks));
    if (absent.empty()) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      if (ranks.size() == 1 && ranks.front() < 0) {
        return Status::timeout(str_cat("weight-sync store: ", what, " did not appear within ",
                                       waited_since(start).count(), " ms"));
      }
      return Status::timeout(str_cat("rank(s) ", join_ranks(absent), " did not post ", what, " within ",
                                     waited_since(start).count(), " ms"));
    }
    std::this_thread::sleep_for(kPoll);
  }
  std::vector<std::string> values;
  for (const int rank : ranks) {
    const std::string key = rank < 0 ? prefix : str_cat(prefix, rank);
    std::vector<uint8_t> bytes;
    CARAVAN_RETURN_IF_ERROR(guarded(str_cat("weight-sync store: get ", key), [&] { bytes = scoped_->store->get(key); }));
    values.emplace_back(bytes.begin(), bytes.end());
  }
  return values;
}

} // namespace caravan::wsync
