import HeraldCore
import Metrics

/// The controller's metrics. MetalLB's equivalents are named beside each; Herald's carry the `herald_` prefix.
/// Pool gauges are labelled by pool name, which the pools bound; they are destroyed when a pool goes.
struct ControllerMetrics {
    private let factory: any MetricsFactory
    /// IPs held per pool, per family (`metallb_allocator_addresses_in_use_total`).
    private var inUse: [PoolFamily: Gauge] = [:]
    /// Usable IPs per pool, per family (`metallb_allocator_addresses_total`).
    private var capacity: [PoolFamily: Gauge] = [:]
    /// Services that were given IPs (first assignment or a change of IPs).
    private let allocations: Counter
    /// The same count, readable: a resync compares it before and after.
    private(set) var allocationsCount = 0
    /// Work items handled, by kind: which events reach the reconciler.
    private let workHandled: [String: Counter]
    /// Allocation attempts that failed (the Service got an `AllocationFailed` Event).
    let allocationFailures: Counter
    /// Status and annotation writes, by result (`success`, `error`).
    let writesSucceeded: Counter
    let writesFailed: Counter
    /// Services waiting for a write to be retried (the apiserver was away or refused).
    let pendingWrites: Gauge
    /// 1 on the replica that leads (and writes), 0 on the others.
    let leader: Gauge
    /// IPAddressPools left out because they are invalid (`metallb_k8s_client_config_stale_bool` is the nearest).
    let invalidPools: Gauge

    private struct PoolFamily: Hashable {
        var pool: String
        var family: IPFamily
    }

    init(factory: any MetricsFactory) {
        self.factory = factory
        allocations = Counter(label: "herald_controller_allocations_total", factory: factory)
        workHandled = Dictionary(
            uniqueKeysWithValues: [
                "service", "pools", "namespace", "synced", "leadership", "retry", "released", "resync",
            ].map {
                ($0, Counter(label: "herald_controller_work_total", dimensions: [("kind", $0)], factory: factory))
            })
        allocationFailures = Counter(label: "herald_controller_allocation_failures_total", factory: factory)
        writesSucceeded = Counter(
            label: "herald_controller_writes_total", dimensions: [("result", "success")], factory: factory)
        writesFailed = Counter(
            label: "herald_controller_writes_total", dimensions: [("result", "error")], factory: factory)
        pendingWrites = Gauge(label: "herald_controller_pending_writes", factory: factory)
        leader = Gauge(label: "herald_controller_leader", factory: factory)
        invalidPools = Gauge(label: "herald_controller_invalid_pools", factory: factory)
    }

    mutating func allocated() {
        allocations.increment()
        allocationsCount += 1
    }

    func work(_ item: AllocationController.Work) {
        let kind =
            switch item {
            case .service: "service"
            case .pools: "pools"
            case .namespace: "namespace"
            case .synced: "synced"
            case .leadership: "leadership"
            case .retry: "retry"
            case .released: "released"
            case .resync: "resync"
            case .poolsSettled: "pools"
            }
        workHandled[kind]?.increment()
    }

    /// Sets the pool gauges from the allocator; drops those of pools that are gone, and all of them when
    /// `allocator` is nil: a replica that does not lead (or has not rebuilt its state since it took the Lease)
    /// would otherwise go on publishing what it last knew, and a dashboard summing over replicas would count
    /// an address twice.
    mutating func updatePools(from allocator: Allocator?) {
        var seen: Set<PoolFamily> = []
        for pool in allocator?.pools ?? [] {
            guard let allocator else { break }
            guard let statistics = allocator.statistics(of: pool.name) else { continue }
            for (family, total) in statistics.capacity {
                let key = PoolFamily(pool: pool.name, family: family)
                seen.insert(key)
                Self.gauge(&capacity, "herald_allocator_addresses_total", key, factory).record(total.doubleValue)
                Self.gauge(&inUse, "herald_allocator_addresses_in_use", key, factory).record(
                    (statistics.inUse[family] ?? .zero).doubleValue)
            }
        }
        for key in Set(capacity.keys).subtracting(seen) {
            capacity.removeValue(forKey: key)?.destroy()
            inUse.removeValue(forKey: key)?.destroy()
        }
    }

    private static func gauge(
        _ gauges: inout [PoolFamily: Gauge], _ label: String, _ key: PoolFamily, _ factory: any MetricsFactory
    ) -> Gauge {
        if let existing = gauges[key] { return existing }
        let made = Gauge(
            label: label, dimensions: [("pool", key.pool), ("family", key.family.rawValue)], factory: factory)
        gauges[key] = made
        return made
    }
}
