// File: tests/weights_sync/weight_sync_peer.cpp
// A weight-sync receiver in its own process, for the tests that kill a member mid-sync (see
// peer_process.h). It holds tiny_llama(SEED) and a CommunicatorWeightTransport, and obeys lines
// on stdin:
//   sync GENERATION RANK WORLD_SIZE VERSION
//     prints "entering GENERATION", runs synchronize() against the store at HOST:PORT, then
//     prints "synced VERSION CHECKSUM" (the installed version, parameter_checksum) or
//     "failed MESSAGE".
// It exits 0 at the end of stdin.
//
//   weights_sync_peer HOST PORT TIMEOUT_MS SEED
#include <chrono>
#include <iostream>
#include <sstream>
#include <string>

#include "tests/weights_sync/tiny_model.h"
#include "weights_sync/communicator_weight_transport.h"

int main(int argc, char** argv) {
  using namespace caravan;
  if (argc != 5) {
    std::cerr << "usage: weights_sync_peer HOST PORT TIMEOUT_MS SEED\n";
    return 2;
  }
  const std::string host = argv[1];
  const int port = std::stoi(argv[2]);
  wsync::CommunicatorWeightTransport transport(
      {.backend = "gloo", .bucket_bytes = 4096, .timeout = std::chrono::milliseconds(std::stoll(argv[3])), .stop = {}},
      /*served_store=*/nullptr);
  model::Llama llama = wsync::testing::tiny_llama(std::stoull(argv[4]));
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream command(line);
    std::string verb;
    model::WeightGroupSpec group{.store_host = host, .store_port = port};
    uint64_t version = 0;
    if (!(command >> verb >> group.generation >> group.rank >> group.world_size >> version) || verb != "sync") {
      std::cerr << "weights_sync_peer: bad command: " << line << "\n";
      return 2;
    }
    std::cout << "entering " << group.generation << std::endl;
    const Result<model::WeightSyncStats> stats = transport.synchronize(*llama, version, group);
    if (stats.ok()) {
      std::cout << "synced " << stats->version << " " << wsync::testing::parameter_checksum(*llama) << std::endl;
    } else {
      std::cout << "failed " << stats.status().to_string() << std::endl;
    }
  }
  return 0;
}
