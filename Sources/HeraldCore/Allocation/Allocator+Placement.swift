/// Where a Service's IPs may come from: checks of given IPs, and the search for free ones.
extension Allocator {
    /// The families the Service needs, after checking its requested IPs fit them.
    func validatedNeed(of request: AllocationRequest) throws(AllocationFailure) -> FamilyNeed {
        let need = request.familyNeed
        let requested = request.requestedIPs
        guard !requested.isEmpty else { return need }
        let families = requested.map(\.family)
        guard requested.count <= 2, Set(families).count == families.count else {
            throw AllocationFailure(
                .invalidRequest,
                "\(request.service) requests \(list(requested)); at most one IPv4 and one IPv6 address can be requested"
            )
        }
        let fits: Bool
        switch need {
        case .single(let family): fits = families == [family]
        case .both: fits = families.count == 2
        case .preferBoth(let primary, let secondary): fits = families.allSatisfy { $0 == primary || $0 == secondary }
        }
        guard fits else {
            throw AllocationFailure(
                .invalidRequest,
                """
                \(request.service) requests \(list(requested)) but needs \(need.summary) \
                (spec.ipFamilyPolicy \(request.ipFamilyPolicy.rawValue), \
                spec.ipFamilies \(request.ipFamilies.map(\.rawValue)))
                """
            )
        }
        return need
    }

    /// Checks that the Service may keep the IPs it holds under its current request; returns their pool.
    func check(
        held ips: [IPAddress], for request: AllocationRequest, need: FamilyNeed
    ) throws(AllocationFailure) -> String {
        if !request.requestedIPs.isEmpty && Set(request.requestedIPs) != Set(ips) {
            throw AllocationFailure(
                .requestChanged, "\(request.service) holds \(list(ips)) but requests \(list(request.requestedIPs))")
        }
        guard need.accepts(ips.map(\.family)) else {
            throw AllocationFailure(.requestChanged, "\(request.service) holds \(list(ips)) but needs \(need.summary)")
        }
        return try checkClaim(ips, for: request)
    }

    /// Checks that the Service may take exactly these IPs now: one pool holds them all and serves the Service,
    /// it is the requested pool if one is requested, and no incompatible Service holds them. Returns the pool.
    func checkClaim(_ ips: [IPAddress], for request: AllocationRequest) throws(AllocationFailure) -> String {
        var poolName: String?
        for ip in ips {
            let name = try pool(holding: ip, for: request)
            if let poolName, poolName != name {
                throw AllocationFailure(
                    .ipsInDifferentPools,
                    "\(list(ips)) lie in different pools (\"\(poolName)\" and \"\(name)\"); "
                        + "the addresses of one Service come from one pool"
                )
            }
            poolName = name
        }
        guard let poolName else { throw AllocationFailure(.invalidRequest, "\(request.service): no IP given") }
        if let requestedPool = request.requestedPool, requestedPool != poolName {
            throw AllocationFailure(
                .ipNotInRequestedPool,
                "\(list(ips)) is in pool \"\(poolName)\", "
                    + "not in the requested pool \"\(requestedPool)\" (metallb.io/address-pool)"
            )
        }
        try checkAllowed(poolStates[poolName]!.pool, for: request)
        for ip in ips {
            if let refusal = usage[ip]?.refusal(for: request, ip: ip) { throw refusal }
        }
        return poolName
    }

    /// The pool that may give out `ip`.
    func pool(holding ip: IPAddress, for request: AllocationRequest) throws(AllocationFailure) -> String {
        let index = blockIndex.partitionPoint { $0.range.first > ip } - 1
        guard index >= 0, blockIndex[index].range.contains(ip) else {
            throw AllocationFailure(
                .ipOutsidePools, "\(ip) is in no IPAddressPool; add it to a pool or request another address")
        }
        let name = blockIndex[index].pool
        if !poolStates[name]!.pool.contains(ip) {
            throw AllocationFailure(
                .ipOutsidePools,
                "\(ip) ends in .\(ip.value & 0xff) and pool \"\(name)\" sets avoidBuggyIPs, so it never gives it out")
        }
        return name
    }

    func checkAllowed(_ pool: AddressPool, for request: AllocationRequest) throws(AllocationFailure) {
        guard
            pool.allows(
                namespace: request.service.namespace, namespaceLabels: request.namespaceLabels,
                serviceLabels: request.labels)
        else {
            throw AllocationFailure(
                .poolNotAllowed,
                "pool \"\(pool.name)\" does not serve \(request.service): \(Self.describe(pool.serviceAllocation))")
        }
    }

    static func describe(_ allocation: ServiceAllocation?) -> String {
        guard let allocation else { return "it serves every Service" }
        var parts: [String] = []
        if !allocation.namespaces.isEmpty { parts.append("namespaces \(allocation.namespaces)") }
        if !allocation.namespaceSelectors.isEmpty {
            parts.append(
                "namespaces labelled \(allocation.namespaceSelectors.map(\.description).joined(separator: " or "))")
        }
        let namespaces = parts.isEmpty ? "any namespace" : parts.joined(separator: " and ")
        let services =
            allocation.serviceSelectors.isEmpty
            ? "" : ", Services labelled \(allocation.serviceSelectors.map(\.description).joined(separator: " or "))"
        return "its serviceAllocation allows \(namespaces)\(services)"
    }

    // MARK: New addresses

    /// Chooses new IPs for a Service holding none.
    func allocate(for request: AllocationRequest, need: FamilyNeed) throws(AllocationFailure) -> Assignment {
        if !request.requestedIPs.isEmpty {
            let ips = order(request.requestedIPs, by: need)
            return Assignment(service: request.service, pool: try checkClaim(ips, for: request), ips: ips)
        }
        if let name = request.requestedPool {
            guard let state = poolStates[name] else {
                throw AllocationFailure(
                    .unknownPool,
                    "the requested pool \"\(name)\" (metallb.io/address-pool) does not exist or is invalid; "
                        + "check the IPAddressPool's events"
                )
            }
            try checkAllowed(state.pool, for: request)
            if let (_, ips) = bestPool(in: [state], for: request, need: need) {
                return Assignment(service: request.service, pool: name, ips: ips)
            }
            let missing = need.families.filter { !state.pool.families.contains($0) }
            let lacksFamily: Bool
            if case .preferBoth = need { lacksFamily = missing.count == 2 } else { lacksFamily = !missing.isEmpty }
            if lacksFamily {
                throw AllocationFailure(
                    .familyUnavailable,
                    "pool \"\(name)\" has no \(missing.map(\.rawValue).joined(separator: " or ")) addresses; "
                        + "\(request.service) needs \(need.summary)"
                )
            }
            throw AllocationFailure(
                .poolExhausted,
                "pool \"\(name)\" has no free address for \(request.service), "
                    + "which needs \(need.summary)\(usageSummary([state]))"
            )
        }
        let allocating = poolStates.values.filter { $0.pool.autoAssign }
        let pinned = allocating.filter { state in
            state.pool.serviceAllocation != nil
                && state.pool.allows(
                    namespace: request.service.namespace, namespaceLabels: request.namespaceLabels,
                    serviceLabels: request.labels)
        }.sorted { a, b in
            let (pa, pb) = (a.pool.serviceAllocation!.priority, b.pool.serviceAllocation!.priority)
            return (pa == 0 ? 1 : 0, pa, a.pool.name) < (pb == 0 ? 1 : 0, pb, b.pool.name)
        }
        let general = allocating.filter { $0.pool.serviceAllocation == nil }.sorted { $0.pool.name < $1.pool.name }
        for states in [pinned, general] {
            if let (name, ips) = bestPool(in: states, for: request, need: need) {
                return Assignment(service: request.service, pool: name, ips: ips)
            }
        }
        let eligible = (pinned + general).filter { need.canBeServed(by: $0.pool.families) }
        guard !eligible.isEmpty else {
            throw AllocationFailure(
                .noEligiblePool,
                "no pool with autoAssign serves \(request.service) with \(need.summary); "
                    + "\(explainIneligible(for: request, need: need))"
            )
        }
        throw AllocationFailure(
            .poolExhausted,
            "no free address for \(request.service), which needs \(need.summary)\(usageSummary(eligible))")
    }

    /// MetalLB's choice among pools tried in order: the first that has every family needed; for
    /// `PreferDualStack`, failing that, the first with the primary family, then the first with the secondary.
    func bestPool(
        in states: [PoolState], for request: AllocationRequest,
        need: FamilyNeed
    ) -> (String, [IPAddress])? {
        var firstPrimary: (String, [IPAddress])?, firstSecondary: (String, [IPAddress])?
        for state in states {
            let found = need.families.map { candidate(in: state, family: $0, for: request) }
            if found.allSatisfy({ $0 != nil }) { return (state.pool.name, found.map { $0! }) }
            guard case .preferBoth = need else { continue }
            if firstPrimary == nil, let ip = found[0] { firstPrimary = (state.pool.name, [ip]) }
            if firstSecondary == nil, let ip = found[1] { firstSecondary = (state.pool.name, [ip]) }
        }
        return firstPrimary ?? firstSecondary
    }

    /// For a `PreferDualStack` Service holding one family: adds the other from the same pool when one is free,
    /// keeping the address it has.
    func completingDualStack(_ assignment: Assignment, for request: AllocationRequest, need: FamilyNeed) -> Assignment {
        guard request.requestedIPs.isEmpty || request.requestedIPs.count == 2,
            let state = poolStates[assignment.pool],
            let missing = need.families.first(where: { $0 != assignment.ips[0].family }),
            let ip = candidate(in: state, family: missing, for: request)
        else { return assignment }
        var completed = assignment
        completed.ips = order(assignment.ips + [ip], by: need)
        return completed
    }

    /// The first address of `family` in the pool this Service may take: walking the entries in the order
    /// written, the lowest address that is either free or held under the Service's sharing identity with no
    /// port in common.
    func candidate(in state: PoolState, family: IPFamily, for request: AllocationRequest) -> IPAddress? {
        let sharing = request.sharing
        let shared =
            sharing.key == nil ? [] : sharedAddresses[SharedAddressKey(pool: state.pool.name, sharing: sharing)] ?? []
        for (index, block) in state.pool.blocks.enumerated() where block.family == family {
            var best = state.lowestFree(inBlock: index)
            var position = shared.partitionPoint { $0 >= block.range.first }
            while position < shared.count, shared[position] <= block.range.last,
                best.map({ shared[position] < $0 }) ?? true
            {
                let ip = shared[position]
                if usage[ip]!.portConflict(with: request.ports, for: request.service) == nil {
                    best = ip
                    break
                }
                position += 1
            }
            if let best { return best }
        }
        return nil
    }

    // MARK: Messages

    func order(_ ips: [IPAddress], by need: FamilyNeed) -> [IPAddress] {
        let families = need.families
        return ips.sorted { (families.firstIndex(of: $0.family) ?? 2) < (families.firstIndex(of: $1.family) ?? 2) }
    }

    func list(_ ips: [IPAddress]) -> String { ips.map(\.description).joined(separator: ",") }

    func usageSummary(_ states: [PoolState]) -> String {
        let parts = states.sorted { $0.pool.name < $1.pool.name }.map { state in
            let families = state.pool.families.sorted().map { family in
                let capacity = state.pool.capacity(of: family)
                return "\(capacity - state.freeCount(of: family))/\(capacity) \(family)"
            }
            return "pool \"\(state.pool.name)\": \(families.joined(separator: ", ")) in use"
        }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: "; ") + ")"
    }

    func explainIneligible(for request: AllocationRequest, need: FamilyNeed) -> String {
        let reasons = poolStates.values.map(\.pool).sorted { $0.name < $1.name }.map { pool -> String in
            if !pool.autoAssign {
                return "\"\(pool.name)\" has autoAssign false (request it with metallb.io/address-pool)"
            }
            if !need.canBeServed(by: pool.families) {
                return
                    "\"\(pool.name)\" has only "
                    + "\(pool.families.sorted().map(\.rawValue).joined(separator: " and ")) addresses"
            }
            return "\"\(pool.name)\": \(Self.describe(pool.serviceAllocation))"
        }
        return reasons.isEmpty ? "there are no valid pools" : reasons.prefix(10).joined(separator: "; ")
    }
}
