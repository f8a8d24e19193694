#!/usr/bin/env bash
# Prepares, on a machine with apt (this one), the Debian 12 packages that scripts/gpu-check.sh
# needs on a GPU machine that has no apt and no network: `apt-get download` of each package and
# `dpkg -x` into PREFIX (default .gpu-prefix/ in the repository, ignored by git; the .deb files
# stay in PREFIX.debs/). Carry PREFIX to the GPU machine with the working tree: it is pruned
# (docs, static libraries other than GoogleTest's, cpack) to stay under the device run's 64 MiB
# carry limit. Idempotent: downloads only what is missing.
#
#   scripts/prepare-gpu-prefix.sh [PREFIX]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${1:-${root}/.gpu-prefix}"
# Build tools, the -dev packages of scripts/setup.sh except LibTorch (the GPU machine's CUDA
# LibTorch is used) and the runtime libraries they link.
packages=(
  cmake cmake-data ninja-build pkg-config pkgconf pkgconf-bin libpkgconf3 libjsoncpp25 librhash0 libuv1
  libzmq3-dev libzmq5 cppzmq-dev libsodium23 libpgm-5.3-0 libnorm1 libbsd0 libmd0
  capnproto libcapnp-dev libcapnp-0.9.2
  libtomlplusplus-dev libtomlplusplus3
  nlohmann-json3-dev
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  libutf8proc-dev libutf8proc2
  libgmp-dev libgmp10 libgmpxx4ldbl libmpfr-dev libmpfr6
  libgtest-dev libgmock-dev googletest libbenchmark-dev libbenchmark1debian
  libgloo-dev libgloo0
)
debs="${prefix}.debs"
mkdir -p "${debs}" "${prefix}"
cd "${debs}"
missing=()
for package in "${packages[@]}"; do
  compgen -G "${package}_*.deb" >/dev/null || missing+=("${package}")
done
if ((${#missing[@]} > 0)); then
  echo "prepare-gpu-prefix: downloading ${#missing[@]} packages"
  apt-get download "${missing[@]}" >/dev/null
fi
for deb in ./*.deb; do
  dpkg -x "${deb}" "${prefix}"
done
rm -rf "${prefix}/usr/share/doc" "${prefix}/usr/share/man" "${prefix}/usr/bin/cpack"
find "${prefix}/usr/lib" -name '*.a' ! -name 'libgtest*' ! -name 'libgmock*' ! -name 'libbenchmark*' -delete
echo "prepare-gpu-prefix: $(find . -name '*.deb' | wc -l) packages unpacked into ${prefix} ($(du -sh "${prefix}" | cut -f1))"
