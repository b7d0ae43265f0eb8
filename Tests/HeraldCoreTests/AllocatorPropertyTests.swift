import HeraldCore
import PropertyBased
import Testing

/// Random sequences of assign and release over small, contended pools, checked against the allocator's promises.
@Suite struct AllocatorPropertyTests {
    typealias F = Fixtures

    static let pools = F.pools(
        PoolSpec(name: "a", addresses: ["192.0.2.0/30", "2001:db8::/126"]),
        PoolSpec(name: "b", addresses: ["192.0.2.254-192.0.3.1", "2001:db8:1::/127"], avoidBuggyIPs: true),
        PoolSpec(name: "c", addresses: ["198.51.100.0/29"], autoAssign: false),
        PoolSpec(name: "d", addresses: ["203.0.113.0/30"], serviceAllocation: ServiceAllocation(priority: 1, namespaces: ["ns1"])))

    static let requestable = ["192.0.2.1", "192.0.2.255", "192.0.3.1", "198.51.100.3", "203.0.113.2", "203.0.113.9",
                              "2001:db8::2", "2001:db8:1::1"]

    enum Operation: Sendable, CustomStringConvertible {
        case assign(AllocationRequest)
        case release(ServiceKey)

        var description: String {
            switch self {
            case .assign(let request):
                "assign \(request.service) ips=\(request.requestedIPs) pool=\(request.requestedPool ?? "-") share=\(request.sharingKey ?? "-") ports=\(request.ports) \(request.trafficPolicy.rawValue) \(request.ipFamilyPolicy.rawValue)\(request.ipFamilies)"
            case .release(let key): "release \(key)"
            }
        }
    }

    /// Decodes one random number into an operation on one of eight Services.
    static func operation(_ seed: UInt64) -> Operation {
        var bits = seed
        func take(_ count: UInt64) -> Int { defer { bits /= count }; return Int(bits % count) }
        let kind = take(4), index = take(8)
        let key = ServiceKey(namespace: "ns\(index % 2)", name: "s\(index)")
        guard kind < 3 else { return .release(key) }
        let share = [nil, "k1", "k2"][take(3)]
        let ports: [ServicePort] = [[.tcp(80)], [.tcp(443)], [.udp(53)], [.tcp(80), .udp(53)]][take(4)]
        let backend = [nil, "x", "y"][take(3)]
        let (policy, families): (IPFamilyPolicy, [IPFamily]) = [
            (.singleStack, [.v4]), (.singleStack, [.v6]), (.requireDualStack, [.v4, .v6]),
            (.preferDualStack, [.v4, .v6]), (.preferDualStack, [.v6, .v4]),
        ][take(5)]
        let pool = [nil, nil, nil, nil, "c", "b"][take(6)]
        var ips: [String] = []
        switch take(8) {
        case 6: ips = [requestable[take(UInt64(requestable.count))]]
        case 7: ips = ["192.0.2.2", "2001:db8::1"]
        default: break
        }
        return .assign(F.service(key.name, namespace: key.namespace, ips: ips, pool: pool, share: share, ports: ports,
                                 backend: backend, policy: policy, families: families, createdAt: Int64(index)))
    }

    static let operations = Gen<UInt64>.uint64().array(of: 1...80)

    /// Never one IP to two incompatible Services; never an address outside its pool; never .0 or .255 from a pool
    /// that avoids them; a failed assign changes nothing; rebuilding from the assignments gives the same state.
    @Test func invariantsHoldThroughRandomOperations() async {
        await propertyCheck(count: 300, input: Self.operations) { seeds in
            var allocator = Allocator(pools: Self.pools)
            var current: [ServiceKey: AllocationRequest] = [:]
            for seed in seeds {
                switch Self.operation(seed) {
                case .assign(let request):
                    let before = allocator
                    do {
                        let assignment = try allocator.assign(request)
                        current[request.service] = request
                        #expect(assignment == allocator.assignment(for: request.service))
                        if !request.requestedIPs.isEmpty { #expect(Set(assignment.ips) == Set(request.requestedIPs)) }
                        if let pool = request.requestedPool { #expect(assignment.pool == pool) }
                    } catch {
                        #expect(allocator == before, "failed assign changed the state: \(error)")
                    }
                case .release(let key):
                    allocator.release(key)
                    current[key] = nil
                }
                Self.checkInvariants(allocator, requests: current)
            }
            var rebuilt = Allocator(pools: Self.pools)
            let failures = rebuilt.rebuild(from: allocator.assignments.map {
                Allocator.HeldAddresses(request: current[$0.service]!, ips: $0.ips)
            })
            #expect(failures.isEmpty)
            #expect(rebuilt == allocator)
            // Changing to the same pools keeps everything.
            var reloaded = allocator
            #expect(reloaded.updatePools(Self.pools).isEmpty)
            #expect(reloaded == allocator)
        }
    }

    /// Assigning a new Service and releasing it again restores the exact state.
    @Test func assignReleaseRoundTrip() async {
        await propertyCheck(count: 300, input: Self.operations, Gen<UInt64>.uint64()) { seeds, probeSeed in
            var allocator = Allocator(pools: Self.pools)
            for seed in seeds {
                switch Self.operation(seed) {
                case .assign(let request): _ = try? allocator.assign(request)
                case .release(let key): allocator.release(key)
                }
            }
            guard case .assign(var probe) = Self.operation(probeSeed | 3) else { return }
            probe.service = ServiceKey(namespace: "ns0", name: "probe")
            let before = allocator
            if (try? allocator.assign(probe)) != nil {
                #expect(allocator != before)
                allocator.release(probe.service)
            }
            #expect(allocator == before)
        }
    }

    static func checkInvariants(_ allocator: Allocator, requests: [ServiceKey: AllocationRequest]) {
        let poolsByName = Dictionary(uniqueKeysWithValues: Self.pools.map { ($0.name, $0) })
        var holdersByIP: [IPAddress: [ServiceKey]] = [:]
        for assignment in allocator.assignments {
            let pool = poolsByName[assignment.pool]!
            #expect(!assignment.ips.isEmpty && assignment.ips.count <= 2)
            #expect(Set(assignment.ips.map(\.family)).count == assignment.ips.count)
            for ip in assignment.ips {
                #expect(pool.contains(ip), "\(ip) outside pool \(pool.name)")
                if pool.avoidBuggyIPs { #expect(!ip.confusesBuggyFirmware) }
                holdersByIP[ip, default: []].append(assignment.service)
            }
        }
        for (ip, holders) in holdersByIP {
            #expect(Set(allocator.holders(of: ip)) == Set(holders))
            guard holders.count > 1 else { continue }
            let sharers = holders.map { requests[$0]! }
            let key = sharers[0].sharingKey
            #expect(key != nil && !key!.isEmpty, "\(ip) shared without a key by \(holders)")
            for request in sharers {
                #expect(request.sharingKey == key)
                #expect(request.trafficPolicy == sharers[0].trafficPolicy)
                if request.trafficPolicy == .local { #expect(request.selector == sharers[0].selector) }
            }
            let ports = sharers.flatMap(\.ports)
            #expect(Set(ports).count == ports.count, "\(ip): ports collide among \(holders)")
        }
    }
}
