/// A validated address pool: its entries parsed, no overlaps inside it or with another valid pool.
public struct AddressPool: Hashable, Sendable {
    public let name: String
    /// The entries in the order written; addresses are handed out from the first entry of a family first.
    public let blocks: [AddressBlock]
    public let autoAssign: Bool
    public let avoidBuggyIPs: Bool
    public let serviceAllocation: ServiceAllocation?

    public init(
        name: String, blocks: [AddressBlock], autoAssign: Bool = true, avoidBuggyIPs: Bool = false,
        serviceAllocation: ServiceAllocation? = nil
    ) {
        self.name = name
        self.blocks = blocks
        self.autoAssign = autoAssign
        self.avoidBuggyIPs = avoidBuggyIPs
        self.serviceAllocation = serviceAllocation
    }

    /// The families this pool has addresses of.
    public var families: Set<IPFamily> { Set(blocks.map(\.family)) }

    /// Whether the pool can give out `address`: it lies in an entry, and is not skipped by `avoidBuggyIPs`.
    public func contains(_ address: IPAddress) -> Bool {
        !(avoidBuggyIPs && address.confusesBuggyFirmware) && blocks.contains { $0.range.contains(address) }
    }

    /// Whether a Service may take addresses from this pool, by `serviceAllocation`; a pool without one serves all.
    public func allows(namespace: String, namespaceLabels: [String: String], serviceLabels: [String: String]) -> Bool {
        serviceAllocation?.allows(namespace: namespace, namespaceLabels: namespaceLabels, serviceLabels: serviceLabels)
            ?? true
    }

    /// How many addresses of `family` the pool can give out, `avoidBuggyIPs` taken into account.
    public func capacity(of family: IPFamily) -> AddressCount {
        blocks.filter { $0.family == family }.reduce(.zero) { total, block in
            guard avoidBuggyIPs, family == .v4 else { return total + block.range.count }
            let slots = BuggyAddressSkipping.slots(of: block.range)
            return slots.map { total + AddressCount(first: $0.lowerBound, last: $0.upperBound) } ?? total
        }
    }
}
