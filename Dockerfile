# Caravan from Debian 12 packages only (scripts/setup.sh installs them through apt), built with
# CMake + Ninja; the image runs `caravan` (deploy/k8s/ uses it as caravan:latest).
#   docker build -t caravan:latest .
#   docker run --rm caravan:latest run /src/configs/quickstart.toml
FROM debian:12

# The build and runtime dependencies, from apt only.
COPY scripts/setup.sh /src/scripts/setup.sh
RUN /src/scripts/setup.sh && rm -rf /var/lib/apt/lists/*

COPY . /src
WORKDIR /src
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCARAVAN_BUILD_TESTS=OFF \
 && cmake --build /build --target caravan \
 && install -m 0755 /build/apps/caravan /usr/local/bin/caravan \
 && rm -rf /build

# Runs are written under /runs (mount a shared volume there on a cluster).
RUN mkdir -p /runs
ENTRYPOINT ["caravan"]
CMD ["--help"]
