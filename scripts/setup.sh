#!/usr/bin/env bash
# Installs every Debian 12 package Caravan needs to build, test and run.
# Idempotent: re-running only installs what is missing. Must run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git procps
  libtorch-dev            # LibTorch 1.13 (CPU) + c10d
  libopenblas0-openmp     # optimised BLAS for LibTorch (the reference BLAS is >10x slower)
  libgloo-dev             # Gloo transport used by c10d ProcessGroupGloo
  libzmq3-dev cppzmq-dev  # ZeroMQ
  capnproto libcapnp-dev  # Cap'n Proto compiler + runtime
  libtomlplusplus-dev     # TOML config
  nlohmann-json3-dev      # JSON (metrics.jsonl, samples)
  libpcre2-dev            # PCRE2: tokenizer pre-split regexes (Unicode classes, look-arounds)
  libutf8proc-dev         # utf8proc: Unicode normalization (NFC) of tokenizer input
  libgmp-dev libmpfr-dev  # exact rationals and certified intervals of the math verifier (rewards/math)
  libgtest-dev libgmock-dev libbenchmark-dev
  bubblewrap python3      # sandbox + interpreter of the code verifier (rewards/code)
  prometheus              # promtool: tests check the /metrics text format with it
  libgoogle-glog-dev zlib1g-dev chromium slurm-wlm munge python3-yaml  # ops: glog routing, report test (chromium, PNG), local Slurm test, k8s manifest test
  libmicrohttpd-dev       # HTTP endpoint of every process: /metrics, /healthz, /readyz (core/metrics/exposer)
  lld                     # faster linker for the LibTorch binaries (CMakeLists.txt CARAVAN_USE_LLD; CI has 2 cores)
)
# node + npm run the tokenizer conformance references (ctest -L integration); keep an existing
# npm (e.g. from nodesource) rather than fighting it with Debian's.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

sudo_cmd=()
[ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
apt_get() { "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 "$@"; }

echo "setup: apt-get update"
apt_get update -qq
# apt-get install is idempotent: packages already present are left as they are.
echo "setup: installing ${#packages[@]} packages (already installed ones are kept)"
apt_get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "setup: done"
