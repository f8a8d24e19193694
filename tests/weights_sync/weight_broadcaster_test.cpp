#include "weights_sync/weight_broadcaster.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "tests/weights_sync/loopback_group.h"

namespace caravan::wsync {
namespace {

using testing::loopback_options;
using testing::run_ranks;
using testing::serve_loopback_store;

constexpr int kWorld = 3;
constexpr int64_t kBucketBytes = 1024;

// Odd sizes and two dtypes: fp32 (converted to the receivers' dtype) and int64 (as is).
// 80 + 88 + 2400 + 8 + 4 + 48 + 3 * 400 + 28 = 3856 wire bytes at fp32: 4 buckets of 1024.
constexpr int64_t kFp32Bytes = 3856;

// Source values on the root (seeded), zeros elsewhere; receivers' floating tensors are of
// `receiver_dtype` and require grad like parameters do, and they list the tensors in another
// order (the manifest sorts by name).
NamedTensors make_tensors(int rank, uint64_t seed, at::ScalarType receiver_dtype = at::kFloat) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const bool source = rank == WeightBroadcaster::kRoot;
  auto make = [&](at::IntArrayRef sizes, at::ScalarType dtype) {
    if (dtype == at::kLong) return source ? at::randint(-1000, 1000, sizes, generator, at::kLong) : at::zeros(sizes, at::kLong);
    at::Tensor tensor = source ? at::randn(sizes, generator, at::kFloat) : at::zeros(sizes, receiver_dtype);
    if (!source) tensor.requires_grad_(true);
    return tensor;
  };
  // Stored as the transpose of a [3,4] tensor: a non-contiguous [4,3] view.
  at::Tensor transposed = make({3, 4}, at::kFloat).detach().t();
  if (!source) transposed.requires_grad_(true);
  NamedTensors tensors{{"w", make({4, 5}, at::kFloat)},      {"ids", make({11}, at::kLong)},
                       {"big", make({600}, at::kFloat)},     {"pair", make({2}, at::kFloat)},
                       {"scalar", make({}, at::kFloat)},     {"transposed", transposed},
                       {"x0", make({100}, at::kFloat)},      {"x1", make({100}, at::kFloat)},
                       {"x2", make({100}, at::kFloat)},      {"odd", make({7}, at::kFloat)}};
  if (!source) std::reverse(tensors.begin(), tensors.end());
  return tensors;
}

// The tensor called `name`.
const at::Tensor& find(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, tensor] : tensors) {
    if (n == name) return tensor;
  }
  ADD_FAILURE() << "no tensor " << name;
  return tensors.front().second;
}

bool same_bytes(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ca = a.detach().contiguous();
  const at::Tensor cb = b.detach().contiguous();
  return ca.scalar_type() == cb.scalar_type() && ca.sizes() == cb.sizes() &&
         std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

// Every tensor of `receiver` holds the source's values in the receiver's dtype.
void expect_holds(const NamedTensors& receiver, const NamedTensors& source, const std::string& who) {
  for (const auto& [name, tensor] : receiver) {
    EXPECT_TRUE(same_bytes(tensor, find(source, name).detach().to(tensor.scalar_type()))) << who << " " << name;
  }
}

bool all_zero(const NamedTensors& tensors) {
  return std::all_of(tensors.begin(), tensors.end(),
                     [](const std::pair<std::string, at::Tensor>& item) {
                       return item.second.detach().count_nonzero().item<int64_t>() == 0;
                     });
}

// Flips one byte of the `target`-th broadcast this rank receives: a bucket corrupted in transit.
class CorruptingCommunicator final : public Communicator {
 public:
  CorruptingCommunicator(Communicator& inner, int target) : inner_(inner), target_(target) {}
  Status broadcast(ByteBuffer buffer, int root) override {
    const Status status = inner_.broadcast(buffer, root);
    if (status.ok() && calls_++ == target_ && buffer.bytes > 0) static_cast<uint8_t*>(buffer.data)[buffer.bytes / 2] ^= 0x10;
    return status;
  }
  Status all_reduce_sum(ByteBuffer buffer) override { return inner_.all_reduce_sum(buffer); }
  Status barrier() override { return inner_.barrier(); }
  bool broken() const override { return inner_.broken(); }
  int rank() const override { return inner_.rank(); }
  int world_size() const override { return inner_.world_size(); }
  std::string_view backend_name() const override { return inner_.backend_name(); }

 private:
  Communicator& inner_;
  const int target_;
  int calls_ = 0;
};

// Runs body(rank, broadcaster) on kWorld ranks of one loopback group; returns each rank's join.
// `corrupt_rank` (if >= 0) receives through a CorruptingCommunicator hitting its 2nd bucket.
template <class Body>
std::vector<Status> run_broadcasters(DeltaMode delta, Body body, int corrupt_rank = -1) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  std::vector<Status> joined(kWorld);
  run_ranks(kWorld, [&](int rank) {
    const CommunicatorOptions options = loopback_options(rank, kWorld, served);
    auto communicator = make_communicator("gloo", options);
    joined[rank] = communicator.status();
    if (!communicator.ok()) return;
    CorruptingCommunicator corrupting(**communicator, /*target=*/1);
    Communicator& used = rank == corrupt_rank ? corrupting : **communicator;
    SyncControl control(options.store, options.scope);
    WeightBroadcaster broadcaster(used, control, {.bucket_bytes = kBucketBytes, .delta = delta, .timeout = std::chrono::seconds(20)});
    body(rank, broadcaster);
  });
  return joined;
}

TEST(WeightBroadcaster, ThreeRanksReceiveIdenticalBytesAndTheRootVersion) {
  std::vector<NamedTensors> tensors(kWorld);
  std::vector<Result<BroadcastStats>> first(kWorld, Status::internal("not run"));
  std::vector<Result<BroadcastStats>> second(kWorld, Status::internal("not run"));
  std::vector<NamedTensors> snapshots(kWorld);
  const std::vector<Status> joined = run_broadcasters(DeltaMode::kOff, [&](int rank, WeightBroadcaster& broadcaster) {
    tensors[rank] = make_tensors(rank, /*seed=*/1);
    first[rank] = broadcaster.broadcast(tensors[rank], /*version=*/rank == 0 ? 7 : 99);
    for (const auto& [name, tensor] : tensors[rank]) snapshots[rank].emplace_back(name, tensor.detach().clone());
    if (rank == 0) tensors[0] = make_tensors(0, /*seed=*/2);
    second[rank] = broadcaster.broadcast(tensors[rank], /*version=*/rank == 0 ? 8 : 0);
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(joined[rank].ok()) << joined[rank].to_string();
    ASSERT_TRUE(first[rank].ok()) << "rank " << rank << ": " << first[rank].status().to_string();
    ASSERT_TRUE(second[rank].ok()) << "rank " << rank << ": " << second[rank].status().to_string();
    EXPECT_EQ(first[rank]->version, 7U);
    EXPECT_EQ(second[rank]->version, 8U);
    EXPECT_EQ(first[rank]->bucket_seconds.size(), 4U);
    EXPECT_EQ(first[rank]->bytes, kFp32Bytes);
    EXPECT_EQ(first[rank]->full_bytes, kFp32Bytes);
    EXPECT_EQ(first[rank]->sent_as, DeltaMode::kOff);
  }
  const NamedTensors v8 = make_tensors(0, /*seed=*/2);
  ASSERT_FALSE(same_bytes(snapshots[0][0].second, v8[0].second));  // the second version really differs
  for (int rank = 1; rank < kWorld; ++rank) {
    expect_holds(snapshots[rank], snapshots[0], "v7 rank " + std::to_string(rank));
    expect_holds(tensors[rank], v8, "v8 rank " + std::to_string(rank));
    EXPECT_TRUE(find(tensors[rank], "w").requires_grad());  // still the caller's parameter
  }
}

TEST(WeightBroadcaster, SenderConvertsToTheReceiversDtype) {
  std::vector<NamedTensors> tensors(kWorld);
  std::vector<Result<BroadcastStats>> synced(kWorld, Status::internal("not run"));
  const std::vector<Status> joined = run_broadcasters(DeltaMode::kOff, [&](int rank, WeightBroadcaster& broadcaster) {
    tensors[rank] = make_tensors(rank, /*seed=*/5, /*receiver_dtype=*/at::kBFloat16);
    synced[rank] = broadcaster.broadcast(tensors[rank], /*version=*/3);
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(joined[rank].ok()) << joined[rank].to_string();
    ASSERT_TRUE(synced[rank].ok()) << "rank " << rank << ": " << synced[rank].status().to_string();
    // fp32 tensors travel as bf16: half their bytes; ids (int64, 88 bytes) as they are.
    EXPECT_EQ(synced[rank]->bytes, (kFp32Bytes - 88) / 2 + 88);
  }
  for (int rank = 1; rank < kWorld; ++rank) {
    EXPECT_EQ(find(tensors[rank], "w").scalar_type(), at::kBFloat16);
    expect_holds(tensors[rank], tensors[0], "rank " + std::to_string(rank));
  }
}

TEST(WeightBroadcaster, CorruptedBucketIsDetectedAndNothingIsInstalled) {
  std::vector<NamedTensors> tensors(kWorld);
  std::vector<Result<BroadcastStats>> corrupted(kWorld, Status::internal("not run"));
  std::vector<Result<BroadcastStats>> next(kWorld, Status::internal("not run"));
  std::vector<bool> untouched(kWorld);
  const std::vector<Status> joined = run_broadcasters(
      DeltaMode::kChangedTensors,
      [&](int rank, WeightBroadcaster& broadcaster) {
        tensors[rank] = make_tensors(rank, /*seed=*/6);
        corrupted[rank] = broadcaster.broadcast(tensors[rank], /*version=*/4);
        untouched[rank] = all_zero(tensors[rank]);
        next[rank] = broadcaster.broadcast(tensors[rank], /*version=*/5);
      },
      /*corrupt_rank=*/1);
  for (int rank = 0; rank < kWorld; ++rank) ASSERT_TRUE(joined[rank].ok()) << joined[rank].to_string();
  ASSERT_FALSE(corrupted[1].ok());
  const Status& receiver = corrupted[1].status();
  EXPECT_EQ(receiver.code(), StatusCode::kDataLoss) << receiver.to_string();
  EXPECT_NE(receiver.message().find("bucket 1"), std::string::npos) << receiver.to_string();
  EXPECT_NE(receiver.message().find("checksum mismatch: sent 0x"), std::string::npos) << receiver.to_string();
  EXPECT_NE(receiver.message().find("received bytes hash to 0x"), std::string::npos) << receiver.to_string();
  EXPECT_TRUE(untouched[1]);
  ASSERT_TRUE(corrupted[2].ok()) << corrupted[2].status().to_string();  // the other receiver installed
  ASSERT_FALSE(corrupted[0].ok());
  EXPECT_EQ(corrupted[0].status().code(), StatusCode::kFailedPrecondition) << corrupted[0].status().to_string();
  EXPECT_NE(corrupted[0].status().message().find("rank 1: "), std::string::npos) << corrupted[0].status().to_string();
  // The group is usable; rank 1 lacks version 4, so version 5 goes out in full, not as a delta.
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(next[rank].ok()) << "rank " << rank << ": " << next[rank].status().to_string();
    EXPECT_EQ(next[rank]->version, 5U);
    EXPECT_EQ(next[rank]->sent_as, DeltaMode::kOff);
  }
  expect_holds(tensors[1], tensors[0], "rank 1");
}

TEST(WeightBroadcaster, RenamedParameterIsAManifestMismatchOnEveryRank) {
  std::vector<NamedTensors> tensors(kWorld);
  std::vector<Result<BroadcastStats>> mismatched(kWorld, Status::internal("not run"));
  std::vector<Result<BroadcastStats>> retried(kWorld, Status::internal("not run"));
  std::vector<bool> untouched(kWorld);
  const std::vector<Status> joined = run_broadcasters(DeltaMode::kOff, [&](int rank, WeightBroadcaster& broadcaster) {
    tensors[rank] = make_tensors(rank, /*seed=*/7);
    NamedTensors renamed = tensors[rank];
    if (rank == 2) renamed.front().first += "_renamed";
    mismatched[rank] = broadcaster.broadcast(renamed, /*version=*/5);
    untouched[rank] = all_zero(tensors[rank]);
    retried[rank] = broadcaster.broadcast(tensors[rank], /*version=*/6);
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(joined[rank].ok()) << joined[rank].to_string();
    ASSERT_FALSE(mismatched[rank].ok()) << "rank " << rank;
    const Status& status = mismatched[rank].status();
    EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.to_string();
    // Both values: the receiver's hash and the source's manifest.
    EXPECT_NE(status.message().find("manifest mismatch: rank 2 has manifest hash 0x"), std::string::npos)
        << status.to_string();
    EXPECT_NE(status.message().find("the source 10 tensors"), std::string::npos) << status.to_string();
    if (rank > 0) {
      EXPECT_TRUE(untouched[rank]) << "rank " << rank;
    }
    ASSERT_TRUE(retried[rank].ok()) << retried[rank].status().to_string();
    EXPECT_EQ(retried[rank]->version, 6U);
  }
  for (int rank = 1; rank < kWorld; ++rank) expect_holds(tensors[rank], tensors[0], "rank " + std::to_string(rank));
}

// The root's step: a few tensors change (as an optimizer step with a tiny learning rate leaves
// most bf16 weights as they were), the others keep their bytes: 400 + 8 + 88 of 3856 bytes.
void train_step(NamedTensors& tensors, int step) {
  at::NoGradGuard no_grad;
  find(tensors, "x1").mul_(1.0 + 0.01 * step);
  find(tensors, "pair").add_(0.5);
  find(tensors, "ids").add_(step);
}

class DeltaSync : public ::testing::TestWithParam<std::pair<DeltaMode, at::ScalarType>> {};

TEST_P(DeltaSync, InstallsTheSameBytesAsAFullSyncAndSendsLess) {
  const auto [delta, receiver_dtype] = GetParam();
  std::vector<NamedTensors> tensors(kWorld);
  std::vector<std::vector<Result<BroadcastStats>>> syncs(kWorld);
  const std::vector<Status> joined = run_broadcasters(delta, [&](int rank, WeightBroadcaster& broadcaster) {
    tensors[rank] = make_tensors(rank, /*seed=*/8, receiver_dtype);
    for (int step = 1; step <= 3; ++step) {
      if (rank == 0 && step > 1) train_step(tensors[0], step);
      syncs[rank].push_back(broadcaster.broadcast(tensors[rank], /*version=*/step));
    }
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(joined[rank].ok()) << joined[rank].to_string();
    for (int step = 1; step <= 3; ++step) {
      const Result<BroadcastStats>& sync = syncs[rank][step - 1];
      ASSERT_TRUE(sync.ok()) << "rank " << rank << " step " << step << ": " << sync.status().to_string();
      EXPECT_EQ(sync->version, static_cast<uint64_t>(step));
      // The first sync has no base: full. Later ones send only x1, big and ids.
      EXPECT_EQ(sync->sent_as, step == 1 ? DeltaMode::kOff : delta) << "rank " << rank << " step " << step;
      if (step > 1) {
        EXPECT_LT(sync->bytes, sync->full_bytes / 2) << "rank " << rank << " step " << step;
      }
    }
  }
  // What a full sync installs: the source's values in the receivers' dtype.
  for (int rank = 1; rank < kWorld; ++rank) expect_holds(tensors[rank], tensors[0], "rank " + std::to_string(rank));
}

INSTANTIATE_TEST_SUITE_P(Modes, DeltaSync,
                         ::testing::Values(std::pair{DeltaMode::kChangedTensors, at::kFloat},
                                           std::pair{DeltaMode::kXorBf16, at::kBFloat16},
                                           std::pair{DeltaMode::kXorBf16, at::kFloat}));

TEST(WeightBroadcaster, ACompletedSyncLeavesNoControlKeysInTheStore) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  std::vector<Status> synced(kWorld);
  std::vector<int> deleted_ready, deleted_results;
  Status header_lookup;
  run_ranks(kWorld, [&](int rank) {
    const CommunicatorOptions options = loopback_options(rank, kWorld, served);
    auto communicator = make_communicator("gloo", options);
    synced[rank] = communicator.status();
    if (!communicator.ok()) return;
    SyncControl control(options.store, options.scope);
    WeightBroadcaster broadcaster(**communicator, control, {.bucket_bytes = kBucketBytes});
    const NamedTensors tensors = make_tensors(rank, /*seed=*/5);
    for (const uint64_t version : {uint64_t{1}, uint64_t{2}}) {
      if (synced[rank].ok()) synced[rank] = broadcaster.broadcast(tensors, version).status();
    }
    if (rank != WeightBroadcaster::kRoot) return;
    // Both syncs ended on the root only after every receiver posted its result.
    std::vector<int> ready, results;
    for (const char* sync : {"sync-0/", "sync-1/"}) {
      const auto absent_ready = control.missing(std::string(sync) + "ready/", {1, 2});
      const auto absent_results = control.missing(std::string(sync) + "result/", {1, 2});
      ASSERT_TRUE(absent_ready.ok() && absent_results.ok());
      ready.insert(ready.end(), absent_ready->begin(), absent_ready->end());
      results.insert(results.end(), absent_results->begin(), absent_results->end());
    }
    deleted_ready = ready;
    deleted_results = results;
    header_lookup = control.wait_get("sync-1/header", std::chrono::steady_clock::now()).status();
  });
  for (int rank = 0; rank < kWorld; ++rank) ASSERT_TRUE(synced[rank].ok()) << synced[rank].to_string();
  EXPECT_EQ(deleted_ready, (std::vector<int>{1, 2, 1, 2}));
  EXPECT_EQ(deleted_results, (std::vector<int>{1, 2, 1, 2}));
  EXPECT_EQ(header_lookup.code(), StatusCode::kTimeout) << header_lookup.to_string();
}

TEST(WeightBroadcaster, SingleRankKeepsValues) {
  const CommunicatorOptions options = loopback_options(0, 1, serve_loopback_store());
  auto communicator = make_communicator("gloo", options);
  ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
  SyncControl control(options.store, options.scope);
  WeightBroadcaster broadcaster(**communicator, control, {.bucket_bytes = kBucketBytes});
  const NamedTensors tensors = make_tensors(0, /*seed=*/4);
  auto stats = broadcaster.broadcast(tensors, /*version=*/42);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->version, 42U);
  EXPECT_EQ(stats->bytes, 0);
  const NamedTensors original = make_tensors(0, /*seed=*/4);
  for (size_t i = 0; i < tensors.size(); ++i) EXPECT_TRUE(same_bytes(tensors[i].second, original[i].second));
}

TEST(WeightBroadcaster, BucketSmallerThanMinimumIsABug) {
  const CommunicatorOptions options = loopback_options(0, 1, serve_loopback_store());
  auto communicator = make_communicator("gloo", options);
  ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
  SyncControl control(options.store, options.scope);
  EXPECT_THROW(WeightBroadcaster(**communicator, control, {.bucket_bytes = WeightBroadcaster::kMinBucketBytes - 1}),
               InternalError);
}

} // namespace
} // namespace caravan::wsync
