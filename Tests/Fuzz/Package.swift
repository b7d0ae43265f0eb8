// swift-tools-version: 6.2
// libFuzzer targets for Herald's decoders, in their own package so the normal build never links libFuzzer.
// Built and run by scripts/fuzz (`make fuzz-smoke`, part of `make test`).
import PackageDescription

let fuzzer: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"]), .treatAllWarnings(as: .error)]

let package = Package(
    name: "herald-fuzz",
    dependencies: [
        .package(name: "herald", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Every text decoder of HeraldCore: addresses, CIDRs, ranges, pool entries, MACs, the loadBalancerIPs
        // annotation, and whole pool lists through validation and allocation.
        .executableTarget(
            name: "fuzz-address-text",
            dependencies: [.product(name: "HeraldCore", package: "herald")],
            swiftSettings: fuzzer
        ),
        // Every byte decoder of HeraldWire: Ethernet (with 802.1Q), ARP, IPv6, Neighbour Discovery.
        .executableTarget(
            name: "fuzz-wire-frames",
            dependencies: [.product(name: "HeraldWire", package: "herald"), .product(name: "HeraldCore", package: "herald"),
                           .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: fuzzer
        ),
        // BGPWire: every BGP message, as a stream, on sessions with and without 4-octet AS.
        .executableTarget(
            name: "fuzz-bgp-messages",
            dependencies: [.product(name: "BGPWire", package: "herald"), .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: fuzzer
        ),
        // The gossip codec, and whatever decodes fed to a live membership state machine.
        .executableTarget(
            name: "fuzz-gossip-codec",
            dependencies: [.product(name: "Gossip", package: "herald"), .product(name: "SeededRandom", package: "herald")],
            swiftSettings: fuzzer
        ),
    ]
)
