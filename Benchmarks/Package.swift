// swift-tools-version: 6.2
// Benchmarks for Herald, a package of their own so the main build never pulls in the benchmark harness.
// Run with `make bench` (swift package benchmark); the tables it prints are the figures in docs and notes.
import PackageDescription

let package = Package(
    name: "herald-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "herald", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HeraldCoreBenchmarks",
            dependencies: [
                .product(name: "HeraldCore", package: "herald"),
                .product(name: "SeededRandom", package: "herald"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HeraldCoreBenchmarks",
            swiftSettings: [.treatAllWarnings(as: .error)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // BGP: the codec's throughput, the UPDATE packer, a session's Adj-RIB-Out at 10,000 routes.
        .executableTarget(
            name: "BGPBenchmarks",
            dependencies: [
                .product(name: "BGPWire", package: "herald"),
                .product(name: "BGPSession", package: "herald"),
                .product(name: "HeraldCore", package: "herald"),
                .product(name: "SeededRandom", package: "herald"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/BGPBenchmarks",
            swiftSettings: [.treatAllWarnings(as: .error)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Prints the membership table (detection time, false deaths, traffic) from the deterministic simulator.
        .executableTarget(
            name: "GossipSimulationTable",
            dependencies: [.product(name: "GossipSimulation", package: "herald"), .product(name: "Gossip", package: "herald")],
            path: "Benchmarks/GossipSimulationTable",
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
        // Service creation to EXTERNAL-IP against a real kube-apiserver (run by scripts/bench-controller).
        .executableTarget(
            name: "ControllerLatency",
            dependencies: [.product(name: "KubeAPI", package: "herald"), .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/ControllerLatency",
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
    ]
)
