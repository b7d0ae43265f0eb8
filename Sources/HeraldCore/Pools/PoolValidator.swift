/// Validates all pools together. A pool with any error is left out whole and reported; the others are used.
///
/// Pools are taken oldest first (`createdAt`, then name), so when two pools overlap the one that existed first
/// keeps working and the newcomer is reported — the same answer whatever order the API server lists them in.
public enum PoolValidator {
    public struct Result: Hashable, Sendable {
        /// The usable pools, oldest first.
        public var pools: [AddressPool]
        /// One entry per pool left out, naming its first problem.
        public var errors: [PoolError]
        public var warnings: [PoolWarning]
    }

    public static func validate(_ specs: [PoolSpec]) -> Result {
        var result = Result(pools: [], errors: [], warnings: [])
        var accepted = AcceptedBlocks()
        var names = Set<String>()
        for spec in specs.sorted(by: { ($0.createdAt, $0.name) < ($1.createdAt, $1.name) }) {
            do throws(PoolError) {
                guard names.insert(spec.name).inserted else {
                    throw PoolError(.duplicateName, pool: spec.name, detail: "another pool has the same name")
                }
                let (pool, warnings) = try validateAlone(spec)
                try accepted.checkNoOverlap(pool)
                accepted.add(pool)
                result.pools.append(pool)
                result.warnings += warnings
            } catch {
                result.errors.append(error)
            }
        }
        return result
    }

    /// Everything that can be checked of one pool by itself.
    static func validateAlone(_ spec: PoolSpec) throws(PoolError) -> (AddressPool, [PoolWarning]) {
        guard !spec.name.isEmpty else { throw PoolError(.invalidName, pool: spec.name, detail: "the pool has no name") }
        guard !spec.addresses.isEmpty else {
            throw PoolError(
                .noAddresses, pool: spec.name, detail: "spec.addresses is empty; list at least one CIDR or range")
        }
        var blocks: [AddressBlock] = []
        var warnings: [PoolWarning] = []
        for text in spec.addresses {
            do throws(AddressParseError) {
                let (block, hadHostBits) = try AddressBlock.parse(text)
                if hadHostBits {
                    warnings.append(
                        PoolWarning(
                            pool: spec.name,
                            detail: "\"\(text)\" has host bits set; it stands for the whole block \(block.range)"))
                }
                blocks.append(block)
            } catch {
                throw PoolError(.invalidAddresses, pool: spec.name, detail: error.description)
            }
        }
        for (index, block) in blocks.enumerated() {
            for other in blocks[..<index] {
                if let shared = block.range.intersection(other.range) {
                    throw PoolError(
                        .overlapWithinPool, pool: spec.name,
                        detail: "\"\(other.text)\" and \"\(block.text)\" overlap at \(describe(shared))")
                }
            }
        }
        if let allocation = spec.serviceAllocation { try validate(allocation, pool: spec.name) }
        if spec.avoidBuggyIPs,
            blocks.allSatisfy({ $0.family == .v4 && BuggyAddressSkipping.slots(of: $0.range) == nil })
        {
            warnings.append(PoolWarning(pool: spec.name, detail: "avoidBuggyIPs leaves no address to give out"))
        }
        let pool = AddressPool(
            name: spec.name, blocks: blocks, autoAssign: spec.autoAssign,
            avoidBuggyIPs: spec.avoidBuggyIPs, serviceAllocation: spec.serviceAllocation)
        return (pool, warnings)
    }

    static func validate(_ allocation: ServiceAllocation, pool: String) throws(PoolError) {
        func fail(_ detail: String) -> PoolError { PoolError(.invalidServiceAllocation, pool: pool, detail: detail) }
        guard allocation.priority >= 0 else {
            throw fail(
                "serviceAllocation.priority \(allocation.priority) is negative; "
                    + "use 0 (lowest) or a positive number (1 is tried first)"
            )
        }
        if let empty = allocation.namespaces.firstIndex(where: \.isEmpty) {
            throw fail("serviceAllocation.namespaces[\(empty)] is empty")
        }
        for (index, selector) in allocation.namespaceSelectors.enumerated() {
            do throws(LabelSelectorError) { try selector.validate() } catch {
                throw fail("serviceAllocation.namespaceSelectors[\(index)]: \(error)")
            }
        }
        for (index, selector) in allocation.serviceSelectors.enumerated() {
            do throws(LabelSelectorError) { try selector.validate() } catch {
                throw fail("serviceAllocation.serviceSelectors[\(index)]: \(error)")
            }
        }
    }

    static func describe(_ range: IPRange) -> String { range.first == range.last ? "\(range.first)" : "\(range)" }

    /// The blocks of the pools accepted so far, sorted by first address, to find an overlap by binary search.
    struct AcceptedBlocks {
        private var entries: [(block: AddressBlock, pool: String)] = []

        func checkNoOverlap(_ pool: AddressPool) throws(PoolError) {
            for block in pool.blocks {
                // The only candidates: the last accepted block starting at or before this one, and those after it
                // that start within it. Accepted blocks do not overlap each other, so that is enough.
                var index = insertionIndex(of: block.range.first)
                if index > 0 { index -= 1 }
                while index < entries.count && entries[index].block.range.first <= block.range.last {
                    let other = entries[index]
                    if let shared = block.range.intersection(other.block.range) {
                        throw PoolError(
                            .overlapWithPool, pool: pool.name,
                            detail:
                                "\"\(block.text)\" overlaps \"\(other.block.text)\" "
                                + "of pool \"\(other.pool)\" at \(describe(shared)); "
                                + "pool \"\(other.pool)\" is older and keeps those addresses",
                            otherPool: other.pool)
                    }
                    index += 1
                }
            }
        }

        mutating func add(_ pool: AddressPool) {
            for block in pool.blocks {
                entries.insert((block, pool.name), at: insertionIndex(of: block.range.first))
            }
        }

        private func insertionIndex(of address: IPAddress) -> Int {
            var low = 0, high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if entries[middle].block.range.first < address { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }
}
