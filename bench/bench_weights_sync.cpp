// bench_weights_sync: the CPU weight-sync path on loopback, in one run.
//  1. Transport: a Gloo broadcast (64 MiB buckets) of 64 MiB .. 2 GiB to 1-3 receivers, against
//     a raw TCP send of the same bytes to one receiver and a memcpy, each the best of 3 runs
//     (1 above 256 MiB). gloo_vs_tcp and gloo_vs_memcpy compare GB/s at 256 MiB, one receiver
//     (--quick: 64 MiB).
//  2. Changed weights only: the weights of two consecutive real training steps (AdamW at the
//     quickstart's GRPO learning rate 5e-5 and at 1e-6, next-token loss on random tokens,
//     starting from a random init) of the quickstart model and (without --quick) a Qwen3-0.6B-shaped model cut to 2
//     layers; step 1 is synced in full to a bf16 receiver, then step 2, step 1, ... (the fastest
//     of 3-7 such syncs counts) in full, as changed_tensors and as xor_bf16. delta_*_ratio are
//     xor_bf16 against full on the quickstart model at 5e-5 (bytes moved; seconds of the sync).
//
//   bench_weights_sync [--quick]
//   ... RESULT gloo_vs_tcp=1.11 gloo_vs_memcpy=0.46 delta_bytes_ratio=0.743 delta_time_ratio=0.71
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include "bench/model_shapes.h"
#include "model/batch_layout.h"
#include "model/llama.h"
#include "weights_sync/communicator.h"
#include "weights_sync/weight_broadcaster.h"

namespace {

using namespace caravan;
using namespace caravan::wsync;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kChunk = 64 * kMiB;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::shared_ptr<RendezvousStore> client_or_server(int rank, const std::shared_ptr<RendezvousStore>& served) {
  if (rank == 0) return served;
  return RendezvousStore::connect("127.0.0.1", served->port(), std::chrono::seconds(60), {}).value();
}

// Runs body(rank, communicator, options) on `world` threads of one loopback Gloo group.
template <class Body>
void run_group(int world, Body body) {
  auto served = RendezvousStore::serve("127.0.0.1", 0, std::chrono::seconds(60)).value();
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      CommunicatorOptions options;
      options.rank = rank;
      options.world_size = world;
      options.store = client_or_server(rank, served);
      options.scope = "bench/";
      options.timeout = std::chrono::seconds(300);
      auto communicator = make_communicator("gloo", options).value();
      body(rank, *communicator, options);
    });
  }
  for (std::thread& thread : threads) thread.join();
}

// Seconds for the root to broadcast `bytes` in kChunk pieces to world - 1 receivers (until the
// last receiver has everything: a barrier closes the clock).
double gloo_seconds(int64_t bytes, int world) {
  double seconds = 0;
  run_group(world, [&](int rank, Communicator& communicator, const CommunicatorOptions&) {
    std::vector<uint8_t> buffer(static_cast<size_t>(bytes), static_cast<uint8_t>(rank == 0 ? 7 : 0));
    (void)communicator.barrier();
    const Clock::time_point start = Clock::now();
    for (int64_t offset = 0; offset < bytes; offset += kChunk) {
      const Status sent = communicator.broadcast({buffer.data() + offset, std::min(kChunk, bytes - offset)}, 0);
      CARAVAN_CHECK(sent.ok(), sent.to_string());
    }
    (void)communicator.barrier();
    if (rank == 0) seconds = seconds_since(start);
  });
  return seconds;
}

// Seconds to send `bytes` over one loopback TCP connection to a reading thread.
double tcp_seconds(int64_t bytes) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  CARAVAN_CHECK(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                    ::listen(listener, 1) == 0 &&
                    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0,
                "tcp baseline: cannot listen");
  std::vector<uint8_t> source(static_cast<size_t>(bytes), 7);
  std::vector<uint8_t> sink(static_cast<size_t>(bytes));
  std::thread reader([&] {
    const int connection = ::accept(listener, nullptr, nullptr);
    for (int64_t got = 0; got < bytes;) {
      const ssize_t n = ::read(connection, sink.data() + got, static_cast<size_t>(bytes - got));
      CARAVAN_CHECK(n > 0, "tcp baseline: read failed");
      got += n;
    }
    ::close(connection);
  });
  const int sender = ::socket(AF_INET, SOCK_STREAM, 0);
  CARAVAN_CHECK(::connect(sender, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0, "tcp: connect");
  const Clock::time_point start = Clock::now();
  for (int64_t sent = 0; sent < bytes;) {
    const ssize_t n = ::write(sender, source.data() + sent, static_cast<size_t>(bytes - sent));
    CARAVAN_CHECK(n > 0, "tcp baseline: write failed");
    sent += n;
  }
  reader.join();
  const double seconds = seconds_since(start);
  ::close(sender);
  ::close(listener);
  return seconds;
}

double memcpy_seconds(int64_t bytes) {
  std::vector<uint8_t> source(static_cast<size_t>(bytes), 7);
  std::vector<uint8_t> sink(static_cast<size_t>(bytes), 0);
  const Clock::time_point start = Clock::now();
  std::memcpy(sink.data(), source.data(), source.size());
  return seconds_since(start);
}

// The least of `tries` calls of seconds().
template <class Seconds>
double fastest_of(int tries, Seconds seconds) {
  double best = seconds();
  for (int i = 1; i < tries; ++i) best = std::min(best, seconds());
  return best;
}

double gb_per_s(int64_t bytes, double seconds) { return static_cast<double>(bytes) / seconds / 1e9; }

NamedTensors snapshot(model::LlamaImpl& model) {
  NamedTensors tensors;
  for (const auto& item : model.named_parameters(true)) tensors.emplace_back(item.key(), item.value().detach().clone());
  return tensors;
}

// The weights after AdamW steps 1 and 2 at `learning_rate` from a random init.
std::pair<NamedTensors, NamedTensors> two_training_steps(const core::TransformerConfig& config, double learning_rate) {
  torch::manual_seed(1);
  model::Llama model(config);
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(learning_rate).weight_decay(0.0));
  std::vector<NamedTensors> steps;
  for (int step = 0; step < 2; ++step) {
    const int64_t batch = 4, length = std::min<int64_t>(32, config.max_position_embeddings);
    const at::Tensor tokens = at::randint(0, config.vocab_size, {batch, length}, at::kLong);
    const model::BatchLayout layout = model::BatchLayout::packed(std::vector<int64_t>(batch, length), at::kCPU);
    const at::Tensor logits = model->forward(tokens.reshape({-1}), layout).view({batch, length, -1});
    const at::Tensor loss = at::cross_entropy_loss(logits.narrow(1, 0, length - 1).reshape({-1, config.vocab_size}),
                                                   tokens.narrow(1, 1, length - 1).reshape({-1}));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    steps.push_back(snapshot(*model));
  }
  return {steps[0], steps[1]};
}

struct DeltaRow {
  double full_seconds = 0, seconds = 0;
  int64_t full_bytes = 0, bytes = 0;
};

// Syncs `first` in full to one bf16 receiver, then `repeats` times the other step's weights
// (second, first, second, ...: every transition changes the same values) with `delta`; returns
// the stats of the fastest of those syncs (the one least disturbed by other load).
BroadcastStats sync_step_to_step(const NamedTensors& first, const NamedTensors& second, DeltaMode delta, int repeats) {
  BroadcastStats fastest;
  run_group(2, [&](int rank, Communicator& communicator, const CommunicatorOptions& options) {
    SyncControl control(options.store, options.scope);
    WeightBroadcaster broadcaster(communicator, control,
                                  {.bucket_bytes = 16 * kMiB, .delta = delta, .timeout = std::chrono::seconds(300)});
    NamedTensors mine;
    for (const auto& [name, tensor] : first) mine.emplace_back(name, rank == 0 ? tensor.clone() : at::zeros_like(tensor, at::kBFloat16));
    CARAVAN_CHECK(broadcaster.broadcast(mine, 1).ok(), "step 1 sync failed");
    for (int repeat = 0; repeat < repeats; ++repeat) {
      if (rank == 0) {
        const NamedTensors& next = repeat % 2 == 0 ? second : first;
        for (size_t i = 0; i < mine.size(); ++i) mine[i].second.copy_(next[i].second);
      }
      auto stats = broadcaster.broadcast(mine, static_cast<uint64_t>(repeat) + 2);
      CARAVAN_CHECK(stats.ok(), stats.status().to_string());
      if (rank == 0 && (repeat == 0 || stats->seconds < fastest.seconds)) fastest = *stats;
    }
  });
  return fastest;
}

// Rows for one model: full, changed_tensors, xor_bf16. Returns xor_bf16 against full.
DeltaRow delta_rows(const std::string& label, const core::TransformerConfig& config, double learning_rate,
                    int repeats) {
  const Clock::time_point start = Clock::now();
  const auto [first, second] = two_training_steps(config, learning_rate);
  std::printf("%s: %zu tensors, 2 AdamW steps at lr %g in %.1f s\n", label.c_str(), first.size(), learning_rate,
              seconds_since(start));
  const BroadcastStats full = sync_step_to_step(first, second, DeltaMode::kOff, repeats);
  DeltaRow xor_row;
  for (const DeltaMode mode : {DeltaMode::kOff, DeltaMode::kChangedTensors, DeltaMode::kXorBf16}) {
    const BroadcastStats stats = mode == DeltaMode::kOff ? full : sync_step_to_step(first, second, mode, repeats);
    std::printf("  %-16s %-15s bytes=%12lld of %12lld (%.3f) seconds=%.4f (%.3f of full)\n", label.c_str(),
                mode == DeltaMode::kOff ? "full" : delta_mode_name(mode), static_cast<long long>(stats.bytes),
                static_cast<long long>(stats.full_bytes), static_cast<double>(stats.bytes) / stats.full_bytes,
                stats.seconds, stats.seconds / full.seconds);
    if (mode == DeltaMode::kXorBf16) xor_row = {full.seconds, stats.seconds, full.bytes, stats.bytes};
  }
  return xor_row;
}

core::TransformerConfig quickstart_config() {
  core::TransformerConfig config;  // the defaults are the quickstart model ([model] in configs/quickstart.toml)
  config.max_position_embeddings = 32;
  return config;
}

core::TransformerConfig qwen3_shaped_config() {
  core::TransformerConfig config = bench::qwen3_0_6b_shape(/*layers=*/2);
  config.max_position_embeddings = 64;
  return config;
}

} // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  at::set_num_threads(2);
  const std::vector<int64_t> sizes = quick ? std::vector<int64_t>{64 * kMiB}
                                           : std::vector<int64_t>{64 * kMiB, 256 * kMiB, 1024 * kMiB, 2048 * kMiB};
  const int64_t headline = quick ? 64 * kMiB : 256 * kMiB;
  double gloo_vs_tcp = 0, gloo_vs_memcpy = 0;
  std::printf("%10s %9s %12s %12s %12s\n", "MiB", "receivers", "gloo GB/s", "tcp GB/s", "memcpy GB/s");
  for (const int64_t bytes : sizes) {
    // Each figure is the best of `tries` runs (the one least disturbed by other load).
    const int tries = bytes <= 256 * kMiB ? 3 : 1;
    const double tcp = gb_per_s(bytes, fastest_of(tries, [&] { return tcp_seconds(bytes); }));
    const double copy = gb_per_s(bytes, fastest_of(tries, [&] { return memcpy_seconds(bytes); }));
    for (const int receivers : quick ? std::vector<int>{1, 3} : std::vector<int>{1, 2, 3}) {
      const double gloo = gb_per_s(bytes, fastest_of(tries, [&] { return gloo_seconds(bytes, receivers + 1); }));
      std::printf("%10lld %9d %12.3f %12.3f %12.3f\n", static_cast<long long>(bytes / kMiB), receivers, gloo, tcp, copy);
      if (bytes == headline && receivers == 1) {
        gloo_vs_tcp = gloo / tcp;
        gloo_vs_memcpy = gloo / copy;
      }
    }
  }
  // 5e-5: the quickstart's GRPO rate (about half of the bf16 values change per step); 1e-6: a
  // usual rate for RL on a pretrained LLM (about 1% change: the regime verl reports).
  const DeltaRow quickstart = delta_rows("quickstart", quickstart_config(), 5e-5, quick ? 3 : 7);
  delta_rows("quickstart", quickstart_config(), 1e-6, quick ? 3 : 7);
  if (!quick) {
    delta_rows("qwen3-shaped", qwen3_shaped_config(), 5e-5, 3);
    delta_rows("qwen3-shaped", qwen3_shaped_config(), 1e-6, 3);
  }
  std::printf("RESULT gloo_vs_tcp=%.3f gloo_vs_memcpy=%.3f delta_bytes_ratio=%.4f delta_time_ratio=%.3f\n", gloo_vs_tcp,
              gloo_vs_memcpy, static_cast<double>(quickstart.bytes) / quickstart.full_bytes,
              quickstart.seconds / quickstart.full_seconds);
  return 0;
}
