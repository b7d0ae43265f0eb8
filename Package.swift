// swift-tools-version: 6.2
import PackageDescription

/// Settings every Herald target shares: Swift 6 language mode (from the tools version), the upcoming
/// features the Swift server ecosystem enables, and warnings treated as errors so none accumulate.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "herald",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HeraldCore", targets: ["HeraldCore"]),
        .library(name: "HeraldWire", targets: ["HeraldWire"]),
        .library(name: "BGPWire", targets: ["BGPWire"]),
        .library(name: "BGPSession", targets: ["BGPSession"]),
        .library(name: "BGPNode", targets: ["BGPNode"]),
        .library(name: "L2Announcer", targets: ["L2Announcer"]),
        .library(name: "Gossip", targets: ["Gossip"]),
        .library(name: "GossipSimulation", targets: ["GossipSimulation"]),
        .library(name: "SeededRandom", targets: ["SeededRandom"]),
        .library(name: "GossipNode", targets: ["GossipNode"]),
        .library(name: "KubeAPI", targets: ["KubeAPI"]),
        .library(name: "HeraldConfig", targets: ["HeraldConfig"]),
        .library(name: "OperationsEndpoint", targets: ["OperationsEndpoint"]),
        .library(name: "SpeakerCore", targets: ["SpeakerCore"]),
        .library(name: "HeraldSpeaker", targets: ["HeraldSpeaker"]),
        .executable(name: "herald-speaker", targets: ["herald-speaker"]),
        .executable(name: "herald-controller", targets: ["herald-controller"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams.git", "5.0.1"..<"7.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // ---- Pure: values, codecs and state machines. Time and randomness are parameters; no sockets or clocks.
        // Pure model: addresses, pools, selectors, allocator, election ranking. No I/O, no clock.
        .target(
            name: "HeraldCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // Byte codecs: Ethernet, ARP, IPv6, ICMPv6 Neighbour Discovery, checksums. Total: bad bytes throw.
        .target(
            name: "HeraldWire",
            dependencies: ["HeraldCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // BGP-4 messages: OPEN and its capabilities, UPDATE and its path attributes (MP-BGP, 4-octet AS, communities,
        // large communities), NOTIFICATION, KEEPALIVE, ROUTE-REFRESH. Total: bad bytes throw the NOTIFICATION to send.
        .target(
            name: "BGPWire",
            // HeraldWire for the address readers and writers of ByteBuffer; nothing of Ethernet.
            dependencies: ["HeraldCore", "HeraldWire", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // One BGP session as a state machine (RFC 4271 §8) with its Adj-RIB-Out: events and `now` in, messages out.
        .target(name: "BGPSession", dependencies: ["BGPWire", "HeraldCore"], swiftSettings: strict),
        // SWIM + Lifeguard membership as a pure state machine (time and randomness are parameters).
        .target(
            name: "Gossip", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: strict),
        // Every decision of the speaker as a pure state machine: events and `now` in, actions out. No I/O.
        .target(name: "SpeakerCore", dependencies: ["HeraldCore"], swiftSettings: strict),
        // The one seeded generator, for what must be reproducible (simulations, property-test shuffles, fuzzers).
        .target(name: "SeededRandom", swiftSettings: strict),
        // What /readyz answers: the checks a process still fails, set by the parts that know. No I/O.
        .target(name: "ReadinessChecks", swiftSettings: strict),
        // N in-process members on a virtual network with virtual time and injected faults; the experiments
        // that tests assert on and the benchmark table prints.
        .target(name: "GossipSimulation", dependencies: ["Gossip", "SeededRandom"], swiftSettings: strict),
        // ---- I/O: the network, the kernel, the clock and the Kubernetes API.
        // The time a driver gives its pure state machine: elapsed time as a Duration, a sleep until then, and
        // the one bounded wait (`withTimeLimit`).
        .target(name: "ElapsedTime", swiftSettings: strict),
        // C shims: packet sockets and socket filters (CLinuxNet), libpcap (CPcap), libnl-route-3 (CNetlink).
        .target(name: "CLinuxNet", cSettings: [.define("_GNU_SOURCE")]),
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(
            name: "CNetlink", pkgConfig: "libnl-route-3.0", providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        // Linux only: ARP and NDP responders on AF_PACKET sockets, gratuitous announcements, interfaces via libnl.
        .target(
            name: "L2Announcer",
            dependencies: [
                "HeraldCore", "HeraldWire", "CLinuxNet", "CPcap", "CNetlink",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Gossip on the network: the state machine driven by a clock over SwiftNIO UDP + TCP, sealed with the keyring.
        .target(
            name: "GossipNode",
            dependencies: [
                "Gossip", "ElapsedTime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // A BGP session on the network: the state machine over a SwiftNIO TCP connection (TTL, TCP MD5) and a clock.
        .target(
            name: "BGPNode",
            dependencies: [
                "BGPSession", "BGPWire", "HeraldCore", "ElapsedTime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The Kubernetes API: kubeconfig, typed resources (MetalLB's CRDs included), list/watch informers,
        // merge patches, Events, Lease leader election; a protocol with an HTTP client on AsyncHTTPClient.
        .target(
            name: "KubeAPI",
            dependencies: [
                "ElapsedTime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The in-memory KubeClient with the server's semantics, for fast tests.
        .target(name: "KubeAPITesting", dependencies: ["KubeAPI"], swiftSettings: strict),
        // /metrics (Prometheus text), /healthz and /readyz over HTTP/1.1 on SwiftNIO, for both executables.
        .target(
            name: "OperationsEndpoint",
            dependencies: [
                "ReadinessChecks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // ---- The adapter: MetalLB's objects (KubeAPI) as Herald's model (HeraldCore), in one place.
        // MetalLB's objects as Herald's model, in one place: pools, selectors, L2Advertisements, the planner's
        // inputs, a Service's allocation request. Pure mapping between KubeAPI's types and HeraldCore's.
        .target(name: "HeraldConfig", dependencies: ["HeraldCore", "KubeAPI"], swiftSettings: strict),
        // ---- The programs' drivers: informers and sockets in, the pure machines' actions out.
        // The controller's reconciler: Services + pools in, status and Events out, leader-elected.
        .target(
            name: "HeraldController",
            dependencies: [
                "HeraldCore", "HeraldConfig", "KubeAPI", "ReadinessChecks", "ElapsedTime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The speaker's driver: informers, gossip and the responders in, SpeakerStateMachine's actions out.
        .target(
            name: "HeraldSpeaker",
            dependencies: [
                "HeraldCore", "HeraldConfig", "SpeakerCore", "KubeAPI", "L2Announcer", "Gossip", "GossipNode",
                "BGPNode", "BGPSession", "BGPWire",
                "ReadinessChecks",
                "ElapsedTime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // What the executables share: --log-level and the logging backend, startup errors, how a process runs.
        .target(
            name: "HeraldCommandSupport",
            dependencies: [
                "KubeAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // ---- Thin executables: argument parsing and a ServiceGroup.
        .executableTarget(
            name: "herald-controller",
            dependencies: [
                "HeraldController", "KubeAPI", "HeraldCommandSupport", "OperationsEndpoint", "ReadinessChecks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Thin executable: argument parsing and a ServiceGroup.
        .executableTarget(
            name: "herald-speaker",
            dependencies: [
                "L2Announcer", "HeraldCore", "HeraldConfig", "Gossip", "GossipNode", "HeraldCommandSupport",
                "HeraldSpeaker", "KubeAPI",
                "OperationsEndpoint", "ReadinessChecks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Helpers for tests only: network namespaces, processes, deadlines, skip traits.
        .target(name: "HeraldTestSupport", dependencies: ["CLinuxNet"], swiftSettings: strict),
        // ---- Tests.
        .testTarget(
            name: "HeraldCoreTests",
            dependencies: [
                "HeraldCore", "SeededRandom",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeraldWireTests",
            dependencies: [
                "HeraldWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BGPWireTests",
            dependencies: [
                "BGPWire", "HeraldCore", "SeededRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["make-golden.py"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BGPSessionTests",
            dependencies: ["BGPSession", "BGPWire", "HeraldCore", "SeededRandom"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BGPNodeTests",
            dependencies: [
                "BGPNode", "BGPSession", "BGPWire", "HeraldCore", "HeraldTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["hostile-peer.py"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "L2AnnouncerTests",
            dependencies: [
                "L2Announcer", "HeraldWire", "HeraldCore", "HeraldTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KubeAPITests",
            dependencies: [
                "KubeAPI", "KubeAPITesting", "HeraldConfig", "HeraldCore", "HeraldTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeraldControllerTests",
            dependencies: [
                "HeraldController", "HeraldConfig", "HeraldCore", "KubeAPI", "KubeAPITesting", "HeraldTestSupport",
                "OperationsEndpoint",
                "ReadinessChecks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeraldCommandSupportTests",
            dependencies: [
                "HeraldCommandSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "OperationsEndpointTests",
            dependencies: [
                "OperationsEndpoint", "ReadinessChecks", "HeraldTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeraldSpeakerTests",
            dependencies: [
                "HeraldSpeaker", "HeraldConfig", "SpeakerCore", "HeraldCore", "KubeAPI", "ElapsedTime",
                "KubeAPITesting", "Gossip", "GossipNode", "HeraldTestSupport", "L2Announcer", "BGPNode",
                "BGPSession",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "SpeakerCoreTests", dependencies: ["SpeakerCore", "HeraldCore"], swiftSettings: strict),
        .testTarget(
            name: "LabTests",
            dependencies: ["HeraldTestSupport"],
            swiftSettings: strict
        ),
        // Herald as pods on real kubelets (scripts/cluster), run by scripts/run-tests on the real cluster.
        .testTarget(
            name: "ClusterTests",
            dependencies: ["HeraldTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GossipTests", dependencies: ["Gossip", "GossipSimulation", "HeraldTestSupport", "SeededRandom"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GossipNodeTests",
            dependencies: [
                "Gossip", "GossipNode", "HeraldTestSupport", "ElapsedTime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
    ]
)
