// File: tests/weights_sync/gpu/weights_sync_gpu_peer.cpp
// A receiving rank of a GPU communicator in a process of its own (NCCL with two processes on
// one GPU, CUDA IPC between two processes), driven by weights_sync_gpu_test:
//   weights_sync_gpu_peer BACKEND RANK WORLD_SIZE STORE_PORT BYTES REPEATS
// joins the group at 127.0.0.1:STORE_PORT, receives REPEATS broadcasts of BYTES bytes into a
// device buffer, and prints "ok CHECKSUM SECONDS" (checksum64 of the last one's bytes, copied
// back to the host; the mean seconds per broadcast) or "failed MESSAGE".
#include <cuda_runtime_api.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "weights_sync/checksum64.h"
#include "weights_sync/communicator.h"
#include "weights_sync/cuda_status.h"

int main(int argc, char** argv) {
  using namespace caravan;
  using namespace caravan::wsync;
  if (argc != 7) {
    std::cerr << "usage: weights_sync_gpu_peer BACKEND RANK WORLD_SIZE STORE_PORT BYTES REPEATS\n";
    return 2;
  }
  const std::string backend = argv[1];
  const int64_t bytes = std::stoll(argv[5]);
  const int repeats = std::stoi(argv[6]);
  const Status status = [&]() -> Status {
    CARAVAN_ASSIGN_OR_RETURN(auto store, RendezvousStore::connect("127.0.0.1", std::stoi(argv[4]),
                                                                  std::chrono::seconds(30), {}));
    CommunicatorOptions options;
    options.rank = std::stoi(argv[2]);
    options.world_size = std::stoi(argv[3]);
    options.store = store;
    options.scope = "gpu-test/";
    options.timeout = std::chrono::seconds(30);
    CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> communicator, make_communicator(backend, options));
    CARAVAN_ASSIGN_OR_RETURN(DeviceBuffer buffer, DeviceBuffer::allocate(bytes));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) {
      CARAVAN_RETURN_IF_ERROR(communicator->broadcast({buffer.data(), bytes, BufferLocation::kDevice}, /*root=*/0));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
    std::vector<uint8_t> host(static_cast<size_t>(bytes));
    CARAVAN_RETURN_IF_ERROR(cuda_status(cudaMemcpy(host.data(), buffer.data(), host.size(), cudaMemcpyDeviceToHost),
                                        "cudaMemcpy to the host"));
    std::cout << "ok " << checksum64(host.data(), host.size()) << " " << seconds << std::endl;
    return Status::ok_status();
  }();
  if (!status.ok()) std::cout << "failed " << status.to_string() << std::endl;
  return status.ok() ? 0 : 1;
}
