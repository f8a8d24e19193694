// GPU checks of the nccl and cuda_ipc communicators (label "gpu"; built with
// -DCARAVAN_WITH_CUDA=ON, run by scripts/gpu-check.sh). Rank 0 is this process; rank 1 is
// weights_sync_gpu_peer in a process of its own on the same GPU. The CUDA IPC case also prints
// a RESULT line: the install bandwidth as a fraction of an in-process device-to-device copy.
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/weights_sync/loopback_group.h"
#include "tests/weights_sync/peer_process.h"
#include "weights_sync/checksum64.h"
#include "weights_sync/communicator.h"
#include "weights_sync/cuda_status.h"

namespace caravan::wsync {
namespace {

using namespace std::chrono_literals;

// Bytes 0, 1, ..., 250, 0, 1, ... (a period prime to every power of two).
std::vector<uint8_t> pattern(int64_t bytes) {
  std::vector<uint8_t> host(static_cast<size_t>(bytes));
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<uint8_t>(i % 251);
  return host;
}

CommunicatorOptions root_options(int world_size, const std::shared_ptr<RendezvousStore>& served) {
  CommunicatorOptions options;
  options.rank = 0;
  options.world_size = world_size;
  options.store = served;
  options.scope = "gpu-test/";
  options.timeout = 30s;
  return options;
}

TEST(NcclCommunicator, WorldSizeOneBroadcastsDeviceAndHostBuffers) {
  auto communicator = make_communicator("nccl", root_options(1, testing::serve_loopback_store()));
  ASSERT_TRUE(communicator.ok()) << communicator.status().to_string();
  std::vector<uint8_t> host = pattern(4096);
  auto device = DeviceBuffer::allocate(4096);
  ASSERT_TRUE(device.ok());
  ASSERT_EQ(cudaMemcpy(device->data(), host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_TRUE((*communicator)->broadcast({device->data(), 4096, BufferLocation::kDevice}, 0).ok());
  EXPECT_TRUE((*communicator)->broadcast({host.data(), 4096, BufferLocation::kHost}, 0).ok());
  EXPECT_TRUE((*communicator)->barrier().ok());
  EXPECT_EQ(host, pattern(4096));
}

// Rank 0 here broadcasts `bytes` `repeats` times from a device buffer; the peer checks them.
// Returns the peer's seconds per broadcast.
double broadcast_to_peer(const std::string& backend, int64_t bytes, int repeats) {
  const std::shared_ptr<RendezvousStore> served = testing::serve_loopback_store();
  testing::PeerProcess peer({CARAVAN_WEIGHTS_SYNC_GPU_PEER, backend, "1", "2", std::to_string(served->port()),
                             std::to_string(bytes), std::to_string(repeats)});
  auto communicator = make_communicator(backend, root_options(2, served));
  EXPECT_TRUE(communicator.ok()) << communicator.status().to_string();
  if (!communicator.ok()) return 0;
  const std::vector<uint8_t> host = pattern(bytes);
  auto device = DeviceBuffer::allocate(bytes);
  EXPECT_TRUE(device.ok());
  if (!device.ok()) return 0;
  EXPECT_EQ(cudaMemcpy(device->data(), host.data(), host.size(), cudaMemcpyHostToDevice), cudaSuccess);
  for (int i = 0; i < repeats; ++i) {
    const Status sent = (*communicator)->broadcast({device->data(), bytes, BufferLocation::kDevice}, 0);
    EXPECT_TRUE(sent.ok()) << sent.to_string();
    if (!sent.ok()) return 0;
  }
  const std::optional<std::string> line = peer.read_line(120s);
  EXPECT_TRUE(line.has_value());
  if (!line) return 0;
  const std::string expected = "ok " + std::to_string(checksum64(host.data(), host.size())) + " ";
  EXPECT_EQ(line->rfind(expected, 0), 0U) << *line;
  return line->rfind(expected, 0) == 0 ? std::stod(line->substr(expected.size())) : 0;
}

TEST(NcclCommunicator, TwoProcessesOnOneGpu) { broadcast_to_peer("nccl", (64 << 20) + 3, 3); }

TEST(CudaIpcCommunicator, TwoProcessesOnOneGpu) { broadcast_to_peer("cuda_ipc", (64 << 20) + 3, 3); }

// CUDA IPC install of bf16-sized weights against an in-process device-to-device copy of the
// same bytes. Sizes in GiB from CARAVAN_GPU_BENCH_GIB (default "1").
TEST(CudaIpcCommunicator, InstallBandwidthAgainstDeviceCopy) {
  const char* env = std::getenv("CARAVAN_GPU_BENCH_GIB");
  const std::string sizes = env != nullptr ? env : "1";
  size_t at = 0;
  while (at < sizes.size()) {
    const size_t comma = sizes.find(',', at);
    const int64_t gib = std::stoll(sizes.substr(at, comma - at));
    at = comma == std::string::npos ? sizes.size() : comma + 1;
    const int64_t bytes = gib << 30;
    auto from = DeviceBuffer::allocate(bytes);
    auto to = DeviceBuffer::allocate(bytes);
    ASSERT_TRUE(from.ok() && to.ok());
    ASSERT_EQ(cudaMemcpy(to->data(), from->data(), bytes, cudaMemcpyDeviceToDevice), cudaSuccess);  // warm-up
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto start = std::chrono::steady_clock::now();
    constexpr int kRepeats = 5;
    for (int i = 0; i < kRepeats; ++i) ASSERT_EQ(cudaMemcpy(to->data(), from->data(), bytes, cudaMemcpyDeviceToDevice), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const double copy_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kRepeats;
    *from = DeviceBuffer();
    *to = DeviceBuffer();
    const double ipc_seconds = broadcast_to_peer("cuda_ipc", bytes, kRepeats);
    ASSERT_GT(ipc_seconds, 0);
    std::cout << "RESULT cuda_ipc_gib=" << gib << " cuda_ipc_gb_per_s=" << bytes / ipc_seconds / 1e9
              << " d2d_gb_per_s=" << bytes / copy_seconds / 1e9 << " cuda_ipc_vs_d2d=" << copy_seconds / ipc_seconds
              << std::endl;
  }
}

} // namespace
} // namespace caravan::wsync
