/// Restoring assignments after a restart, and re-checking them after a pool change.
extension Allocator {
    /// IPs a Service already carries in `status.loadBalancer.ingress`, with its current request.
    public struct HeldAddresses: Hashable, Sendable {
        public var request: AllocationRequest
        public var ips: [IPAddress]

        public init(request: AllocationRequest, ips: [IPAddress]) {
            self.request = request
            self.ips = ips
        }
    }

    /// Takes back the IPs Services already hold, oldest Service first (then by namespace and name). Each keeps
    /// its IPs when it still may under the pools and its request (a dual-stack Service now single-stack keeps
    /// the address of its family); otherwise it keeps what it held before the call, if anything, and its
    /// failure is returned — when two Services claim one IP incompatibly, the younger one's failure names the
    /// holder. Rebuilding from the assignments of an allocator gives back an equal allocator.
    @discardableResult
    public mutating func rebuild(from held: [HeldAddresses]) -> [ServiceKey: AllocationFailure] {
        var failures: [ServiceKey: AllocationFailure] = [:]
        var seen = Set<ServiceKey>()
        let ordered = held.sorted {
            ($0.request.createdAt, $0.request.service) < ($1.request.createdAt, $1.request.service)
        }
        for entry in ordered where !entry.ips.isEmpty {
            let service = entry.request.service
            // A Service listed twice is taken once, by its first entry in this order.
            guard seen.insert(service).inserted else { continue }
            let previous = records[service]
            if let previous { unregister(previous) }
            do throws(AllocationFailure) {
                let need = try validatedNeed(of: entry.request)
                let kept = need.keeping(entry.ips)
                let ips = order(kept.isEmpty ? entry.ips : kept, by: need)
                let pool = try check(held: ips, for: entry.request, need: need)
                register(Record(assignment: Assignment(service: service, pool: pool, ips: ips), request: entry.request))
            } catch {
                if let previous { register(previous) }
                failures[service] = error
            }
        }
        return failures
    }

    /// Switches to new pools. Every assignment still valid under them is kept, moved to the pool that now holds
    /// its IPs if that changed; the others are dropped and returned with the reason, for the controller to
    /// allocate again.
    @discardableResult
    public mutating func updatePools(_ pools: [AddressPool]) -> [ServiceKey: AllocationFailure] {
        let held = records.values.map { HeldAddresses(request: $0.request, ips: $0.assignment.ips) }
        self = Allocator(pools: pools)
        return rebuild(from: held)
    }
}
