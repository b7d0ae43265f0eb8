# Herald's image: herald-controller and herald-speaker in one image (the manifests run each by name).
#   docker build -t REGISTRY/herald:TAG .        (then set it in manifests/: docs/install.md)
#
# Stage 1 builds release binaries with the Swift standard library and Foundation linked in statically, so the
# runtime stage needs no Swift toolchain, only the C libraries Herald calls: libpcap (BPF filters) and libnl
# (link state, neighbour proxy entries). `make release` builds the same binaries here, and
# `scripts/check-runtime` proves they run with only the runtime packages listed below (part of `make test`).
#
# HERALD_BINARIES picks where the two binaries come from: `build`, the Swift stage below (the default), or
# `prebuilt`, a build context folder that holds herald-speaker and herald-controller already built by
# `make release` on a Debian 12 machine and stripped the same way (`make image` does this where the Swift
# image cannot be pulled):
#   podman build --build-arg HERALD_BINARIES=prebuilt -f Dockerfile -t herald:TAG FOLDER
# Either way the runtime stage, the last one, is the same.
ARG HERALD_BINARIES=build

# The binaries lose their DWARF debug information (about 55 MB each) and keep their symbols, for backtraces.
FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libpcap-dev libnl-3-dev libnl-route-3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Tests/ too: the package names its test targets, and SwiftPM wants their folders to exist.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product herald-speaker \
 && swift build -c release --static-swift-stdlib --product herald-controller \
 && install -D -m 0755 .build/release/herald-speaker /out/herald-speaker \
 && install -D -m 0755 .build/release/herald-controller /out/herald-controller \
 && strip --strip-debug /out/herald-speaker /out/herald-controller

FROM scratch AS prebuilt
COPY herald-speaker herald-controller /out/

FROM ${HERALD_BINARIES} AS binaries

FROM debian:bookworm-slim
# runtime-packages (scripts/check-runtime reads this line): the libraries the binaries link to.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libnl-3-200 libnl-route-3-200 libstdc++6 libgcc-s1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=binaries /out/herald-speaker /out/herald-controller /usr/local/bin/
# The controller runs as this user; the speaker's DaemonSet runs as root with NET_RAW only (manifests/).
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/herald-controller"]
