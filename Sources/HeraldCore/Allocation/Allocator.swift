/// Hands out external IPs from address pools to Services, with MetalLB's rules and without churn.
///
/// A value type with no I/O: the controller keeps one in an actor and feeds it what the API server says.
/// - `assign` gives a Service its IPs, keeping the ones it holds while they still fit its spec. A failed `assign`
///   leaves the allocator exactly as it was.
/// - `release` returns a Service's IPs.
/// - `rebuild` takes back the IPs Services already carry in their status, oldest Service first, so a restart
///   moves no IP.
/// - `updatePools` re-checks every assignment against new pools, keeps those still valid and reports the rest.
///
/// Choice of pool: requested IPs, else the requested pool, else pools whose `serviceAllocation` selects the
/// Service (priority 1, 2, … then 0, then by name), else the other `autoAssign` pools by name. Within a pool,
/// the entries in the order written, and in an entry the lowest address that is free or shareable.
public struct Allocator: Sendable, Equatable {
    var poolStates: [String: PoolState] = [:]
    /// Every block of every pool, sorted by first address, to find the pool of an address by binary search.
    var blockIndex: [(range: IPRange, pool: String)] = []
    var records: [ServiceKey: Record] = [:]
    var usage: [IPAddress: AddressUsage] = [:]
    /// Sorted addresses per pool and sharing identity (identities with a key only).
    var sharedAddresses: [SharedAddressKey: [IPAddress]] = [:]

    /// A Service's assignment and the request it was made for.
    struct Record: Sendable, Equatable {
        var assignment: Assignment
        var request: AllocationRequest
    }

    /// An allocator over validated pools (see `PoolValidator`), holding no assignments.
    /// Pools that repeat a name or overlap an earlier pool (which `PoolValidator` never lets through) are ignored,
    /// so that every address belongs to one pool.
    public init(pools: [AddressPool]) {
        var accepted = PoolValidator.AcceptedBlocks()
        for pool in pools where poolStates[pool.name] == nil {
            guard (try? accepted.checkNoOverlap(pool)) != nil else { continue }
            accepted.add(pool)
            poolStates[pool.name] = PoolState(pool)
            for block in pool.blocks { blockIndex.append((block.range, pool.name)) }
        }
        blockIndex.sort { $0.range.first < $1.range.first }
    }

    public static func == (lhs: Allocator, rhs: Allocator) -> Bool {
        lhs.poolStates == rhs.poolStates && lhs.records == rhs.records && lhs.usage == rhs.usage
            && lhs.sharedAddresses == rhs.sharedAddresses
    }

    // MARK: Queries

    /// The pools in use, by name.
    public var pools: [AddressPool] { poolStates.values.map(\.pool).sorted { $0.name < $1.name } }

    public func assignment(for service: ServiceKey) -> Assignment? { records[service]?.assignment }

    /// Every assignment, by Service.
    public var assignments: [Assignment] { records.values.map(\.assignment).sorted { $0.service < $1.service } }

    /// The Services holding `address`.
    public func holders(of address: IPAddress) -> [ServiceKey] { usage[address]?.holders.keys.sorted() ?? [] }

    /// Capacity and use of a pool per family, for gauges.
    public func statistics(of pool: String) -> PoolStatistics? {
        guard let state = poolStates[pool] else { return nil }
        var statistics = PoolStatistics()
        for family in state.pool.families {
            let capacity = state.pool.capacity(of: family)
            statistics.capacity[family] = capacity
            statistics.inUse[family] = capacity - state.freeCount(of: family)
        }
        return statistics
    }

    // MARK: Assign and release

    /// Gives the Service IPs and returns them. A Service that already holds IPs keeps them while they still fit
    /// its request (same requested IPs, pool and families, pool still serving it, sharing still allowed).
    /// On failure nothing changes, and a Service that held IPs still holds them.
    @discardableResult
    public mutating func assign(_ request: AllocationRequest) throws(AllocationFailure) -> Assignment {
        let need = try validatedNeed(of: request)
        let previous = records[request.service]
        if let previous { unregister(previous) }
        do throws(AllocationFailure) {
            var assignment: Assignment
            let kept = previous.map { need.keeping($0.assignment.ips) } ?? []
            if !kept.isEmpty, let pool = try? check(held: kept, for: request, need: need) {
                assignment = Assignment(service: request.service, pool: pool, ips: order(kept, by: need))
                if case .preferBoth = need, assignment.ips.count == 1 {
                    assignment = completingDualStack(assignment, for: request, need: need)
                }
            } else {
                assignment = try allocate(for: request, need: need)
            }
            register(Record(assignment: assignment, request: request))
            return assignment
        } catch {
            if let previous { register(previous) }
            throw error
        }
    }

    /// Returns a Service's IPs to their pool; returns what it held.
    @discardableResult
    public mutating func release(_ service: ServiceKey) -> Assignment? {
        guard let record = records[service] else { return nil }
        unregister(record)
        return record.assignment
    }

    // MARK: Bookkeeping

    mutating func register(_ record: Record) {
        let service = record.assignment.service
        precondition(records[service] == nil, "a Service is registered once")
        records[service] = record
        let sharing = record.request.sharing
        for ip in record.assignment.ips {
            if usage[ip] != nil {
                usage[ip]!.holders[service] = record.request.ports
                continue
            }
            poolStates[record.assignment.pool]!.take(ip)
            usage[ip] = AddressUsage(
                pool: record.assignment.pool, sharing: sharing, holders: [service: record.request.ports])
            if sharing.key != nil {
                let key = SharedAddressKey(pool: record.assignment.pool, sharing: sharing)
                sharedAddresses[key, default: []].insertSorted(ip)
            }
        }
    }

    mutating func unregister(_ record: Record) {
        let service = record.assignment.service
        records[service] = nil
        for ip in record.assignment.ips {
            usage[ip]!.holders[service] = nil
            guard usage[ip]!.holders.isEmpty else { continue }
            let released = usage.removeValue(forKey: ip)!
            poolStates[released.pool]!.giveBack(ip)
            if released.sharing.key != nil {
                let key = SharedAddressKey(pool: released.pool, sharing: released.sharing)
                sharedAddresses[key]!.removeSorted(ip)
                if sharedAddresses[key]!.isEmpty { sharedAddresses[key] = nil }
            }
        }
    }
}

/// How much of a pool is in use, per family.
public struct PoolStatistics: Hashable, Sendable {
    public var capacity: [IPFamily: AddressCount] = [:]
    /// Addresses held by at least one Service (a shared address counts once).
    public var inUse: [IPFamily: AddressCount] = [:]
}

extension Array where Element: Comparable {
    mutating func insertSorted(_ element: Element) {
        insert(element, at: partitionPoint { $0 >= element })
    }

    mutating func removeSorted(_ element: Element) {
        let index = partitionPoint { $0 >= element }
        precondition(index < count && self[index] == element, "removing an element that is not there")
        remove(at: index)
    }
}
