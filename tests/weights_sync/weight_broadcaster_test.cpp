#include "weights_sync/weight_broadcaster.h"

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
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

constexpr int kWorld = 3;
constexpr int64_t kBucketBytes = 1024;

// Several dtypes and shapes; with 1024-byte buckets they form 6 buckets:
// {w f32[4,5]} {b bf16[7,3]} {ids i64[11]} {big f32[600] = 2400 B, alone}
// {f32[2], f32[], f32[4,3] transposed, f32[100], f32[100] = 860 B} {f32[100]}.
constexpr int64_t kExpectedBuckets = 6;
constexpr int64_t kExpectedBytes = 80 + 42 + 88 + 2400 + 8 + 4 + 48 + 3 * 400;

// Source values on the root, zeros elsewhere; receivers' float tensors require grad like
// parameters do. `seed` varies the root's values between calls.
NamedTensors make_tensors(int rank, uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const bool source = rank == WeightBroadcaster::kRoot;
  auto make = [&](at::IntArrayRef sizes, at::ScalarType dtype) {
    at::Tensor tensor;
    if (!source) {
      tensor = at::zeros(sizes, dtype);
    } else if (dtype == at::kLong) {
      tensor = at::randint(-1000, 1000, sizes, generator, at::kLong);
    } else {
      tensor = at::randn(sizes, generator, at::kFloat).to(dtype);
    }
    if (!source && at::isFloatingType(dtype)) tensor.requires_grad_(true);
    return tensor;
  };
  // Stored as the transpose of a [3,4] tensor: a non-contiguous [4,3] view.
  at::Tensor transposed = make({3, 4}, at::kFloat).detach().t();
  if (!source) transposed.requires_grad_(true);
  return {{"w", make({4, 5}, at::kFloat)},
          {"b", make({7, 3}, at::kBFloat16)},
          {"ids", make({11}, at::kLong)},
          {"big", make({600}, at::kFloat)},
          {"pair", make({2}, at::kFloat)},
          {"scalar", make({}, at::kFloat)},
          {"transposed", transposed},
          {"x0", make({100}, at::kFloat)},
          {"x1", make({100}, at::kFloat)},
          {"x2", make({100}, at::kFloat)}};
}

bool same_bytes(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ca = a.detach().contiguous();
  const at::Tensor cb = b.detach().contiguous();
  return ca.scalar_type() == cb.scalar_type() && ca.sizes() == cb.sizes() &&
         std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

bool all_zero(const at::Tensor& tensor) { return tensor.detach().count_nonzero().item<int64_t>() == 0; }

// Per rank: the results of the calls made by `body`, which receives a broadcaster.
template <class Body>
std::vector<Status> run_broadcasters(Body body) {
  const std::shared_ptr<RendezvousStore> served = serve_loopback_store();
  std::vector<Status> joined(kWorld);
  run_ranks(kWorld, [&](int rank) {
    auto communicator = make_communicator("gloo", loopback_options(rank, kWorld, served));
    joined[rank] = communicator.status();
    if (!communicator.ok()) return;
    WeightBroadcaster broadcaster(**communicator, kBucketBytes);
    body(rank, broadcaster);
  });
  return joined;
}

TEST(WeightBroadcaster, ThreeRanksReceiveIdenticalBytesAndTheRootVersion) {
  std::vector<NamedTensors> tensors(kWorld);
  std::vector<Result<BroadcastStats>> first(kWorld, Status::internal("not run"));
  std::vector<Result<BroadcastStats>> second(kWorld, Status::internal("not run"));
  std::vector<NamedTensors> snapshots(kWorld);
  const std::vector<Status> joined = run_broadcasters([&](int rank, WeightBroadcaster& broadcaster) {
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
    EXPECT_EQ(first[rank]->buckets, kExpectedBuckets);
    EXPECT_EQ(first[rank]->bytes, kExpectedBytes);
    EXPECT_GE(first[rank]->seconds, 0.0);
  }
  const NamedTensors& v7 = snapshots[0];
  const NamedTensors v8 = make_tensors(0, /*seed=*/2);
  ASSERT_FALSE(same_bytes(v7[0].second, v8[0].second));  // the second version really differs
  for (int rank = 1; rank < kWorld; ++rank) {
    for (size_t i = 0; i < v7.size(); ++i) {
      EXPECT_TRUE(same_bytes(snapshots[rank][i].second, v7[i].second)) << "rank " << rank << " " << v7[i].first;
      EXPECT_TRUE(same_bytes(tensors[rank][i].second, v8[i].second)) << "rank " << rank << " " << v8[i].first;
    }
    EXPECT_TRUE(tensors[rank][0].second.requires_grad());  // still the caller's parameter
  }
}

// Every rank returns kFailedPrecondition; the receiving ranks' tensors are untouched and
// the group stays usable for the next, matching broadcast.
void expect_mismatch_is_reported(int bad_rank, const std::function<void(NamedTensors&)>& corrupt,
                                 const std::string& what) {
  std::vector<NamedTensors> tensors(kWorld);
  std::vector<Result<BroadcastStats>> mismatched(kWorld, Status::internal("not run"));
  std::vector<Result<BroadcastStats>> retried(kWorld, Status::internal("not run"));
  std::vector<bool> untouched(kWorld, false);
  const std::vector<Status> joined = run_broadcasters([&](int rank, WeightBroadcaster& broadcaster) {
    tensors[rank] = make_tensors(rank, /*seed=*/3);
    NamedTensors wrong = make_tensors(rank, /*seed=*/3);
    if (rank == bad_rank) corrupt(wrong);
    mismatched[rank] = broadcaster.broadcast(rank == bad_rank ? wrong : tensors[rank], /*version=*/5);
    untouched[rank] = true;
    for (const auto& [name, tensor] : rank == bad_rank ? wrong : tensors[rank]) {
      if (rank != 0 && !all_zero(tensor)) untouched[rank] = false;
    }
    retried[rank] = broadcaster.broadcast(tensors[rank], /*version=*/6);
  });
  for (int rank = 0; rank < kWorld; ++rank) {
    ASSERT_TRUE(joined[rank].ok()) << joined[rank].to_string();
    ASSERT_FALSE(mismatched[rank].ok()) << "rank " << rank << " (" << what << ")";
    EXPECT_EQ(mismatched[rank].status().code(), StatusCode::kFailedPrecondition)
        << mismatched[rank].status().to_string();
    const std::string message = mismatched[rank].status().message();
    if (rank == bad_rank) {
      EXPECT_NE(message.find("expected 10 tensors"), std::string::npos) << message;
      EXPECT_NE(message.find("got "), std::string::npos) << message;
    } else {
      EXPECT_NE(message.find("rank(s) " + std::to_string(bad_rank) + " reported"), std::string::npos) << message;
    }
    EXPECT_TRUE(untouched[rank]) << "rank " << rank;
    ASSERT_TRUE(retried[rank].ok()) << retried[rank].status().to_string();
    EXPECT_EQ(retried[rank]->version, 6U);
  }
  const NamedTensors source = make_tensors(0, /*seed=*/3);
  for (int rank = 1; rank < kWorld; ++rank) {
    for (size_t i = 0; i < source.size(); ++i) EXPECT_TRUE(same_bytes(tensors[rank][i].second, source[i].second));
  }
}

TEST(WeightBroadcaster, ShapeMismatchOnOneReceiverFailsEveryRankWithoutHanging) {
  expect_mismatch_is_reported(/*bad_rank=*/2, [](NamedTensors& t) { t[3].second = at::zeros({601}); }, "shape");
}

TEST(WeightBroadcaster, NameMismatchIsALayoutMismatch) {
  expect_mismatch_is_reported(/*bad_rank=*/1, [](NamedTensors& t) { t[0].first = "w_renamed"; }, "name");
}

TEST(WeightBroadcaster, DtypeMismatchIsALayoutMismatch) {
  expect_mismatch_is_reported(/*bad_rank=*/2, [](NamedTensors& t) { t[1].second = at::zeros({7, 3}, at::kHalf); },
                              "dtype");
}

TEST(WeightBroadcaster, SingleRankKeepsValuesAndCountsBuckets) {
  auto communicator = make_communicator("gloo", loopback_options(0, 1, serve_loopback_store()));
  ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
  WeightBroadcaster broadcaster(**communicator, kBucketBytes);
  const NamedTensors tensors = make_tensors(0, /*seed=*/4);
  auto stats = broadcaster.broadcast(tensors, /*version=*/42);
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->version, 42U);
  EXPECT_EQ(stats->buckets, kExpectedBuckets);
  EXPECT_EQ(stats->bytes, kExpectedBytes);
  const NamedTensors original = make_tensors(0, /*seed=*/4);
  for (size_t i = 0; i < tensors.size(); ++i) EXPECT_TRUE(same_bytes(tensors[i].second, original[i].second));
}

TEST(WeightBroadcaster, BucketSmallerThanMinimumIsABug) {
  auto communicator = make_communicator("gloo", loopback_options(0, 1, serve_loopback_store()));
  ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
  EXPECT_THROW(WeightBroadcaster(**communicator, WeightBroadcaster::kMinBucketBytes - 1), InternalError);
}

} // namespace
} // namespace caravan::wsync
