// swift-tools-version: 6.2
// libFuzzer targets for Herald's decoders, in their own package so the normal build never links libFuzzer.
// Built and run by scripts/fuzz (`make fuzz-smoke`, part of `make test`).
import PackageDescription

let fuzzer: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"]), .treatAllWarnings(as: .error)]

let package = Package(
    name: "herald-fuzz",
    dependencies: [.package(name: "herald", path: "../..")],
    targets: [
        // Every text decoder of HeraldCore: addresses, CIDRs, ranges, pool entries, MACs, the loadBalancerIPs
        // annotation, and whole pool lists through validation and allocation.
        .executableTarget(
            name: "fuzz-address-text",
            dependencies: [.product(name: "HeraldCore", package: "herald")],
            swiftSettings: fuzzer
        ),
    ]
)
