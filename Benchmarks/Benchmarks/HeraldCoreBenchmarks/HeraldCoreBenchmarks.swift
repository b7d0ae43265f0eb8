import Benchmark
import HeraldCore
import SeededRandom

/// The allocator at 100,000 Services and the election ranking at 10,000 IPs over 100 nodes.
///
/// Addresses: IPv4 from 198.18.0.0/16 (RFC 2544's benchmarking range; nothing here touches a network) and
/// IPv6 from 2001:db8::/112. Each benchmark builds its input before `startMeasurement()`, so the figures are
/// for the operation alone.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        maxDuration: .seconds(20),
        maxIterations: 5
    )

    Benchmark("assign 100k (50k IPv4 /16 + 50k IPv6 /112)") { benchmark in
        var allocator = Workload.allocator()
        let requests = Workload.requests(count: 100_000, sharing: false)
        benchmark.startMeasurement()
        for request in requests { blackHole(try! allocator.assign(request)) }
        benchmark.stopMeasurement()
        precondition(allocator.assignments.count == 100_000)
    }

    Benchmark("assign 100k with sharing keys (4 Services per IP)") { benchmark in
        var allocator = Workload.allocator()
        let requests = Workload.requests(count: 100_000, sharing: true)
        benchmark.startMeasurement()
        for request in requests { blackHole(try! allocator.assign(request)) }
        benchmark.stopMeasurement()
        precondition(allocator.holders(of: allocator.assignments[0].ips[0]).count == 4)
    }

    Benchmark("release 100k in random order") { benchmark in
        var allocator = Workload.allocator()
        let requests = Workload.requests(count: 100_000, sharing: false)
        for request in requests { _ = try! allocator.assign(request) }
        var generator = SeededGenerator(seed: 42)
        let order = requests.map(\.service).shuffled(using: &generator)
        benchmark.startMeasurement()
        for service in order { blackHole(allocator.release(service)) }
        benchmark.stopMeasurement()
        precondition(allocator.assignments.isEmpty)
    }

    Benchmark("rebuild 100k from Service status") { benchmark in
        var source = Workload.allocator()
        let requests = Workload.requests(count: 100_000, sharing: true)
        for request in requests { _ = try! source.assign(request) }
        let byService = Dictionary(uniqueKeysWithValues: requests.map { ($0.service, $0) })
        let held = source.assignments.map { Allocator.HeldAddresses(request: byService[$0.service]!, ips: $0.ips) }
        var allocator = Workload.allocator()
        benchmark.startMeasurement()
        let failures = allocator.rebuild(from: held)
        benchmark.stopMeasurement()
        precondition(failures.isEmpty && allocator == source)
    }

    Benchmark("election owner, 10k IPs x 100 nodes") { benchmark in
        let nodes = (1...100).map { "node-\($0)" }
        let ips = (0..<10_000).map { IPAddress(family: .v4, value: 0xc612_0000 + UInt128($0))! }
        benchmark.startMeasurement()
        for ip in ips { blackHole(ElectionRanking.owner(among: nodes, for: ip)) }
        benchmark.stopMeasurement()
    }
}

enum Workload {
    static func allocator() -> Allocator {
        let validation = PoolValidator.validate([
            PoolSpec(name: "bench-v4", addresses: ["198.18.0.0/16"]),
            PoolSpec(name: "bench-v6", addresses: ["2001:db8::/112"]),
        ])
        precondition(validation.errors.isEmpty)
        return Allocator(pools: validation.pools)
    }

    /// Half IPv4, half IPv6. With sharing, groups of four Services share a key and use distinct ports.
    static func requests(count: Int, sharing: Bool) -> [AllocationRequest] {
        (0..<count).map { index in
            let group = index / 4
            return AllocationRequest(
                service: ServiceKey(namespace: "ns\(index % 100)", name: "svc-\(index)"),
                sharingKey: sharing ? "key-\(group)" : nil,
                ports: [.tcp(UInt16(8000 + index % 4))],
                ipFamilies: [sharing ? (group % 2 == 0 ? .v4 : .v6) : (index % 2 == 0 ? .v4 : .v6)],
                createdAt: Int64(index))
        }
    }
}
